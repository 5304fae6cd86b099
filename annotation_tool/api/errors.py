"""Domain errors mapped to HTTP responses in one place."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
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
    errors.TooManyAttemptsError: 429,
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
    headers = {}
    if "retry_after_s" in exc.details:
        headers["Retry-After"] = str(exc.details["retry_after_s"])
    return JSONResponse(
        {"error": exc.code, "message": exc.message, **exc.details},
        status_code=status,
        headers=headers,
    )


def _field(error: dict[str, Any]) -> str:
    """("body", "ratings", 0, "caption_id") -> "ratings.0.caption_id"; the body as a
    whole (not JSON, not an object) is "body", a parameter is its name."""
    loc = [str(p) for p in error["loc"]]
    if error["type"] == "json_invalid" or len(loc) < 2:
        return loc[0] if loc else "body"
    return ".".join(loc[1:])


async def request_validation_handler(request: Request, exc: Exception) -> Response:
    """422 naming each bad field. The input is never echoed back: it may be a NaN or a
    lone surrogate that JSON cannot carry, and echoing it once made those requests 500."""
    assert isinstance(exc, RequestValidationError)
    fields = [{"field": _field(e), "message": e["msg"]} for e in exc.errors()]
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return JSONResponse(
        {"error": errors.ValidationFailedError.code, "message": message, "fields": fields},
        status_code=422,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, request_validation_handler)
