"""Domain errors raised by contexts and validators; api/errors.py maps them to HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error the web layer turns into a JSON error response."""

    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFoundError(DomainError):
    code = "not_found"


class NotAuthenticatedError(DomainError):
    code = "not_authenticated"


class ForbiddenError(DomainError):
    code = "forbidden"


class CsrfError(DomainError):
    code = "csrf_failed"


class ConflictError(DomainError):
    """A versioned update lost a race, or an item is locked by someone else."""

    code = "conflict"


class LockLostError(ConflictError):
    code = "lock_lost"


class TooManyAttemptsError(DomainError):
    """Too many failed logins: wait ``retry_after_s`` seconds."""

    code = "rate_limited"


class InvalidStateError(DomainError):
    """The item is not in the stage this action needs."""

    code = "invalid_state"


class ValidationFailedError(DomainError):
    """Input breaks a rule (description rules, score range, import query)."""

    code = "validation_failed"


class ImageUnavailableError(DomainError):
    code = "image_unavailable"
