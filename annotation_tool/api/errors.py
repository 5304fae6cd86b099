"""Domain errors mapped to HTTP responses in one place."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from annotation_tool import errors

STATUS = {
    errors.NotFoundError: 404,
    errors.NotAuthenticatedError: 401,
    errors.ForbiddenError: 403,
    errors.CsrfError: 403,
    errors.LockLostError: 409,
    errors.ConflictError: 409,
    errors.InvalidStateError: 409,
    errors.ValidationFailedError: 422,
    errors.ImageUnavailableError: 404,
}


def status_of(exc: errors.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


async def domain_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.DomainError)
    status = status_of(exc)
    if not request.url.path.startswith("/api/"):
        # Pages: a browser without a session goes to the login page and comes back.
        if status == 401:
            target = quote(request.url.path, safe="/")
            return RedirectResponse(f"/login?next={target}", status_code=303)
        templates = request.app.state.templates
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status": status, "message": exc.message, "user": None},
            status_code=status,
        )
    return JSONResponse(
        {"error": exc.code, "message": exc.message, **exc.details}, status_code=status
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, domain_error_handler)
