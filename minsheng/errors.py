"""Errors a service raises for a person to read, and their stable API codes.

Services raise ``ServiceError`` (or a subclass) with a code clients can branch on and a message
in the active language; the API turns it into ``{"code", "message", "detail"}`` with the status,
and pages show the message. Views never build error bodies by hand.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str | Promise,
        *,
        code: str | None = None,
        status: int | None = None,
        detail: Any = None,
    ) -> None:
        super().__init__(str(message))
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.detail = detail


class NotFound(ServiceError):
    status, code = 404, "not_found"


class Forbidden(ServiceError):
    status, code = 403, "forbidden"


class Conflict(ServiceError):
    status, code = 409, "conflict"


class RateLimited(ServiceError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str | Promise, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
