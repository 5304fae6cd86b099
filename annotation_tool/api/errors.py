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


def _words(error: dict[str, Any]) -> str:
    """Pydantic's message for one field in the words a form shows ("must be at least 8
    characters"), for the error types our schemas raise; others keep pydantic's text."""
    ctx = error.get("ctx") or {}
    kind = error["type"]
    simple = {
        "missing": "is required",
        "json_invalid": "is not valid JSON",
        "int_parsing": "must be a whole number",
        "int_type": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_parsing": "must be a number",
        "float_type": "must be a number",
        "finite_number": "must be a finite number",
        "bool_parsing": "must be true or false",
        "bool_type": "must be true or false",
        "string_type": "must be text",
        "list_type": "must be a list",
        "dict_type": "must be an object",
        "model_type": "must be an object",
        "model_attributes_type": "must be an object",
    }
    if kind in simple:
        return simple[kind]
    if kind == "string_too_short":
        n = ctx.get("min_length")
        return "must not be empty" if n == 1 else f"must be at least {n} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        return "may hold only letters, digits and _ . @ -"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {
            "greater_than_equal": "at least",
            "greater_than": "more than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }[kind]
        bound = next(iter(ctx.values()), "")
        return f"must be {words} {bound}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind in ("too_short", "too_long"):
        key = "min_length" if kind == "too_short" else "max_length"
        bound = "at least" if kind == "too_short" else "at most"
        if ctx.get("field_type") in ("List", "Tuple", "Set"):
            return f"must have {bound} {ctx.get(key)} items"
        return f"must be {bound} {ctx.get(key)} characters"  # an optional string
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return str(error["msg"])


def _label(field: str) -> str:
    return field.replace("_", " ").replace(".", " ").capitalize()


async def request_validation_handler(request: Request, exc: Exception) -> Response:
    """422 naming each bad field, in words a form can show as they are ("Password must
    be at least 8 characters."). The input is never echoed back: it may be a NaN or a
    lone surrogate that JSON cannot carry, and echoing it once made those requests 500."""
    assert isinstance(exc, RequestValidationError)
    fields = [{"field": _field(e), "message": _words(e)} for e in exc.errors()]
    message = " ".join(f"{_label(f['field'])} {f['message']}." for f in fields)
    return JSONResponse(
        {"error": errors.ValidationFailedError.code, "message": message, "fields": fields},
        status_code=422,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, request_validation_handler)
