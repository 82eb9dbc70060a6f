"""The database is away for a moment: answer 503 with ``Retry-After`` instead of a 500.

A PostgreSQL restart, a fail-over or a terminated backend shows up in Django as
``OperationalError`` or ``InterfaceError`` ("connection refused", "terminating connection due to
administrator command", "the database system is starting up"). None of them is the client's
fault and all of them pass within seconds, so the client is told to come back: the API answers
``{"code": "database_unavailable", …}`` and pages a short plain page, both with ``Retry-After``
(``MINSHENG_OUTAGE_RETRY_AFTER`` seconds). Nothing was written: the request's transaction died
with the connection.

The broken connection is closed here, at once, so the next request of this thread connects
afresh instead of failing on the dead socket until ``CONN_MAX_AGE`` runs out (Django closes
unusable connections at the end of a request too, but not every caller goes through that signal:
the test client does not, and a long request may meet the outage in its middle).

Errors that a retry would not cure (a missing table, a syntax error, an SQLite file that is not
a database) are not outages: they keep their 500 and their traceback in the log.

Three doors lead here, one per place an exception can surface: the API's exception handler
(``minsheng/api.py``), this module's middleware for page views, and the 500 handler for errors
raised inside other middleware (``minsheng/handlers.py``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

log = logging.getLogger("minsheng.outage")

# PostgreSQL SQLSTATEs that mean "the server is not there right now", not "your query is wrong":
# class 08 (connection exception), admin/crash shutdown, cannot connect now (starting up or
# shutting down), too many connections.
_PG_TRANSIENT_PREFIXES = ("08",)
_PG_TRANSIENT_CODES = {"57P01", "57P02", "57P03", "53300"}
# SQLite's transient failures: another process holds the write lock past the busy timeout.
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "disk i/o error")


def retry_after() -> int:
    return int(getattr(settings, "OUTAGE_RETRY_AFTER", 5))


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` says the database is unreachable for now (a retry may succeed)."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__ or exc
    sqlstate = getattr(cause, "sqlstate", None)
    module = type(cause).__module__
    if module.startswith("psycopg"):
        # No SQLSTATE: the failure happened below SQL (refused, reset, closed by the server).
        if sqlstate is None:
            return True
        return sqlstate.startswith(_PG_TRANSIENT_PREFIXES) or sqlstate in _PG_TRANSIENT_CODES
    text = str(cause).lower()
    return any(marker in text for marker in _SQLITE_TRANSIENT)


def close_broken_connections() -> int:
    """Close every connection that no longer answers; the next query opens a fresh one.

    A connection inside an atomic block is left alone: its owner is still unwinding and Django's
    ``Atomic.__exit__`` drops it when the rollback fails. Returns how many were closed.
    """
    closed = 0
    for conn in connections.all(initialized_only=True):
        if conn.connection is None or conn.in_atomic_block:
            continue
        if not conn.is_usable():
            conn.close()
            closed += 1
    return closed


def _wants_json(request: HttpRequest) -> bool:
    if request.path.startswith(("/api/", "/open311/")):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def response(request: HttpRequest, exc: BaseException) -> HttpResponse | None:
    """The 503 for ``exc`` if it is an outage, else None (the caller answers as before)."""
    if not is_outage(exc):
        return None
    closed = close_broken_connections()
    seconds = retry_after()
    log.warning(
        "database unavailable on %s %s (%s: %s); answered 503, retry after %s s",
        request.method,
        request.path,
        type(exc).__name__,
        str(exc).strip().splitlines()[0] if str(exc).strip() else "",
        seconds,
        extra={"event": "database_unavailable", "closed_connections": closed},
    )
    message = _("系统暂时无法访问数据库，请在%(s)s秒后重试。您的请求没有保存。") % {"s": seconds}
    answer: HttpResponse
    if _wants_json(request):
        answer = JsonResponse(
            {
                "code": "database_unavailable",
                "message": message,
                "detail": {"retry_after": seconds},
            },
            status=503,
        )
    else:
        # Rendered without the request: the context processors would ask the database again.
        answer = HttpResponse(
            render_to_string("503.html", {"message": message, "retry_after": seconds}),
            status=503,
            content_type="text/html; charset=utf-8",
        )
    answer["Retry-After"] = str(seconds)
    answer["Cache-Control"] = "no-store"
    return answer


def response_for_current_exception(request: HttpRequest) -> HttpResponse | None:
    """For the 500 handler, which Django calls while the exception is being handled."""
    exc = sys.exc_info()[1]
    return response(request, exc) if exc is not None else None


class OutageMiddleware:
    """Turns an outage raised by a page view into the 503 page (the API has its own handler)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return response(request, exception)
