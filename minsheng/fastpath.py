"""The hottest write, the exemplar vote, answered in front of Django's full request stack.

A vote is a few hundred bytes: a session cookie, a CSRF token, ``{"candidate": n}``. Through the
whole stack it spent most of its CPU outside the vote itself — the session row and the user row
loaded through the ORM, eleven middleware, URL resolving, ninja's parsing and rendering. Here the
WSGI application looks at ``POST /api/exemplars/campaigns/<id>/votes`` first and, for the
ordinary case only, does what that stack would do, with cheaper means:

* host and scheme: ``request.get_host()`` (ALLOWED_HOSTS) and, in production, HTTPS;
* the CSRF check: Django's own ``CsrfViewMiddleware``, as the API's session auth calls it;
* the session and the user: the session's auth fields are read once per session key and kept
  (a key never changes its user: login cycles the key), and every vote then checks in ONE query
  that the session row still exists unexpired and reads the user's current row; the session
  hash is compared with the user's, so a password change or a logout takes effect at once;
* the vote itself: ``exemplars.services.cast_vote``, unchanged (rules, rate limits, one statement;
  on PostgreSQL through the group-commit batcher, ``exemplars/batcher.py``, which the serving
  process starts: ``minsheng.serving.start_vote_batcher``);
* the answer: the same JSON body, status and headers (request id, language, security headers)
  and the same access-log line as the full stack gives.

Anything out of the ordinary — no session cookie, a bearer token, a failed CSRF check, a body
that is not exactly ``{"candidate": <int>}``, an unknown or expired session, a session whose hash
does not match, someone who is not a citizen — is handed to Django untouched, which answers it
as before. The fast path only ever takes over requests whose outcome it computes the same way.

It switches itself off (and logs why) when the middleware list or the session engine differ from
the ones it was written against, so a new middleware cannot be skipped silently; and with
``MINSHENG_FAST_VOTES=0``.

``FastPath`` is what every fast path shares — the switch and the reviewed middleware list
(``why_off``), handing a request over untouched, the headers the middleware add on the way out,
the access-log line. The others build on it, each in its own module and wrapped around the
application in ``minsheng/wsgi.py``: the anonymous survey response
(``minsheng/fastpath_surveys.py``, ``MINSHENG_FAST_SURVEYS``). Each one's tests send the same
requests to the full stack and to the fast path and compare the answers and the rows stored.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.core import signals
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.crypto import constant_time_compare, salted_hmac

log = logging.getLogger("minsheng.fastpath")

VOTE_PATH = re.compile(r"/api/exemplars/campaigns/([1-9][0-9]{0,17})/votes")
MAX_BODY = 256
# The middleware the fast path stands in for, as reviewed. Another list switches it off.
REVIEWED_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "minsheng.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "minsheng.middleware.RequestIdMiddleware",
    "minsheng.outage.OutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.second_factor.RequireSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)
SESSION_ENGINES = (
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
)
# session key → (user id, session auth hash); bounded, dropped whole when full.
_AUTH_LIMIT = 200_000
_auth: dict[str, tuple[int, str]] = {}
_auth_lock = threading.Lock()

OFF = ("0", "false", "no", "off")
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Delegate(Exception):
    """This request is not the ordinary case: let the full stack answer it."""


def why_off(switch: str = "MINSHENG_FAST_VOTES", *, sessions: bool = True) -> str | None:
    """None when a fast path may run here; else the reason it stays off. ``switch`` names its
    environment variable; ``sessions`` when it reads the session (the vote does)."""
    if os.environ.get(switch, "1").strip().lower() in OFF:
        return f"{switch} is off"
    if tuple(settings.MIDDLEWARE) != REVIEWED_MIDDLEWARE:
        return "settings.MIDDLEWARE differs from the list minsheng/fastpath.py was reviewed with"
    if not sessions:
        return None
    if settings.SESSION_ENGINE not in SESSION_ENGINES:
        return f"session engine {settings.SESSION_ENGINE} keeps no django_session rows"
    if list(settings.AUTHENTICATION_BACKENDS) != ["django.contrib.auth.backends.ModelBackend"]:
        return "authentication backends other than ModelBackend"
    return None


class FastPath:
    """What every fast path shares: the application behind it, the headers the middleware adds
    on the way out, the access-log line, and handing a request over untouched."""

    def __init__(self, django_app: WSGIApp, *, switch: str, sessions: bool) -> None:
        self.django = django_app
        reason = why_off(switch, sessions=sessions)
        self.enabled = reason is None
        if reason is not None:
            log.warning("%s off: %s", type(self).__name__, reason)
        self._security = SecurityMiddleware(_unused)
        self._frames = XFrameOptionsMiddleware(_unused)

    @staticmethod
    def _json_request(environ: dict[str, Any], limit: int) -> tuple[WSGIRequest, bytes] | None:
        """The request and its body if it is an unsigned JSON POST of 1 to ``limit`` bytes (the
        only kind a fast path takes); None, with nothing read, for anything else."""
        if "HTTP_AUTHORIZATION" in environ:
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        content_type = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if not 0 < length <= limit or content_type != "application/json":
            return None
        body = environ["wsgi.input"].read(length)
        return WSGIRequest(dict(environ, **{"wsgi.input": io.BytesIO(body)})), body

    def _delegate(
        self, environ: dict[str, Any], start_response: Callable[..., Any], body: bytes
    ) -> Any:
        if body:
            environ["wsgi.input"] = io.BytesIO(body)
        return self.django(environ, start_response)

    def _decorate(self, request: WSGIRequest, response: HttpResponse) -> HttpResponse:
        """The headers the middleware adds on the way out, in the same order of layers."""
        from minsheng.middleware import SecurityHeadersMiddleware

        response.headers["Content-Length"] = str(len(response.content))  # CommonMiddleware
        response = self._frames.process_response(request, response)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        patch_vary_headers(response, ("Cookie",))
        response = SecurityHeadersMiddleware(lambda r: response)(request)
        return self._security.process_response(request, response)

    def _send(
        self,
        request: WSGIRequest,
        response: HttpResponse,
        start_response: Callable[..., Any],
        started: float,
        rid: str,
    ) -> list[bytes]:
        """The request id and the access-log line, as RequestIdMiddleware adds them; then out."""
        response["X-Request-Id"] = rid
        _access_log(request, response.status_code, started, rid)
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return [response.content]


class FastVotes(FastPath):
    """WSGI application: the vote's fast path in front of ``django_app``."""

    def __init__(self, django_app: WSGIApp) -> None:
        super().__init__(django_app, switch="MINSHENG_FAST_VOTES", sessions=True)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.enabled and environ.get("REQUEST_METHOD") == "POST":
            match = VOTE_PATH.fullmatch(environ.get("PATH_INFO", ""))
            if match is not None:
                return self._vote(environ, start_response, int(match.group(1)))
        return self.django(environ, start_response)

    # -- the vote -------------------------------------------------------------------------------
    def _vote(
        self, environ: dict[str, Any], start_response: Callable[..., Any], campaign_id: int
    ) -> Any:
        try:
            request, candidate, body = self._ordinary(environ)
        except _Delegate as exc:
            return self._delegate(environ, start_response, exc.args[0] if exc.args else b"")
        signals.request_started.send(sender=self.__class__, environ=environ)
        started = time.perf_counter()
        rid = _request_id(environ)
        try:
            try:
                user = _session_user(request)
            except _Delegate:
                signals.request_finished.send(sender=self.__class__)
                return self._delegate(environ, start_response, body)
            language = translation.get_language_from_request(request)
            translation.activate(language)
            try:
                response = self._cast(request, user, campaign_id, candidate)
                response = self._decorate(request, response)
            finally:
                translation.deactivate()
        except BaseException:
            signals.request_finished.send(sender=self.__class__)
            raise
        content = self._send(request, response, start_response, started, rid)
        signals.request_finished.send(sender=self.__class__)
        return content

    def _ordinary(self, environ: dict[str, Any]) -> tuple[WSGIRequest, int, bytes]:
        """The request, its candidate and body, if it is the ordinary case; else _Delegate."""
        found = self._json_request(environ, MAX_BODY)
        if found is None:
            raise _Delegate
        request, body = found
        try:
            request.get_host()
        except DisallowedHost:
            raise _Delegate(body) from None
        if settings.SECURE_SSL_REDIRECT and not request.is_secure():
            raise _Delegate(body)
        if not request.COOKIES.get(settings.SESSION_COOKIE_NAME):
            raise _Delegate(body)
        from ninja.utils import check_csrf

        if check_csrf(request) is not None:
            raise _Delegate(body)
        try:
            data = json.loads(body)
        except ValueError:
            raise _Delegate(body) from None
        candidate = data.get("candidate") if type(data) is dict and len(data) == 1 else None
        if type(candidate) is not int or not 1 <= candidate <= 2**62:
            raise _Delegate(body)
        return request, candidate, body

    def _cast(self, request: WSGIRequest, user: Any, campaign_id: int, candidate: int) -> Any:
        from exemplars import services
        from minsheng import outage
        from minsheng.errors import RateLimited, ServiceError

        try:
            cast = services.cast_vote(user, campaign_id, candidate, services.Origin.of(request))
        except ServiceError as exc:
            response = _json(
                {"code": exc.code, "message": str(exc.message), "detail": exc.detail}, exc.status
            )
            if isinstance(exc, RateLimited):
                response["Retry-After"] = str(exc.retry_after)
            return response
        except (OperationalError, InterfaceError) as exc:
            answer = outage.response(request, exc)
            if answer is None:
                raise
            return answer
        return _json(
            {
                "vote": cast.vote_id,
                "candidate": cast.candidate_id,
                "day": cast.day.isoformat(),
                "picks_used": cast.picks_used,
                "picks_allowed": cast.picks_allowed,
            },
            201,
        )


def _unused(request: Any) -> HttpResponse:
    raise AssertionError("the fast path calls only the middleware's process_response")


def _json(data: dict[str, Any], status: int) -> HttpResponse:
    from ninja.responses import NinjaJSONEncoder

    return HttpResponse(
        json.dumps(data, cls=NinjaJSONEncoder),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def _request_id(environ: dict[str, Any]) -> str:
    incoming = environ.get("HTTP_X_REQUEST_ID", "")
    return incoming if 0 < len(incoming) <= 64 and incoming.isalnum() else secrets.token_hex(8)


def _access_log(request: WSGIRequest, status: int, started: float, rid: str) -> None:
    from minsheng.middleware import access_log, request_id_var

    token = request_id_var.set(rid)
    try:
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            status,
            extra={
                "event": "request",
                "method": request.method,
                "path": request.path,
                "status_code": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
    finally:
        request_id_var.reset(token)


# --- the session and its user ------------------------------------------------------------------
def _session_auth(key: str) -> tuple[int, str]:
    cached = _auth.get(key)
    if cached is not None:
        return cached
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore(key)
    data = store.load()
    uid, backend, digest = (
        data.get(SESSION_KEY),
        data.get(BACKEND_SESSION_KEY),
        data.get(HASH_SESSION_KEY),
    )
    if not uid or backend not in settings.AUTHENTICATION_BACKENDS or not digest:
        raise _Delegate
    try:
        found = (int(uid), str(digest))
    except (TypeError, ValueError):
        raise _Delegate from None
    with _auth_lock:
        if len(_auth) >= _AUTH_LIMIT:
            _auth.clear()
        _auth[key] = found
    return found


_USER_SQL: str | None = None


def _user_sql() -> str:
    global _USER_SQL
    if _USER_SQL is None:
        from django.contrib.auth import get_user_model
        from django.contrib.sessions.models import Session

        q = connection.ops.quote_name
        user = q(get_user_model()._meta.db_table)
        session = q(Session._meta.db_table)
        _USER_SQL = (
            "SELECT password, is_active, kind, phone_hash, display_name "  # noqa: S608
            f"FROM {user} WHERE id = %s AND EXISTS (SELECT 1 FROM {session} "
            "WHERE session_key = %s AND expire_date > %s)"
        )
    return _USER_SQL


def _session_user(request: WSGIRequest) -> Any:
    """The signed-in citizen of this request, checked against the database; else _Delegate."""
    key = request.COOKIES[settings.SESSION_COOKIE_NAME]
    uid, digest = _session_auth(key)
    with connection.cursor() as cursor:
        cursor.execute(_user_sql(), [uid, key, timezone.now()])
        row = cursor.fetchone()
    if row is None:
        with _auth_lock:
            _auth.pop(key, None)
        raise _Delegate
    password, active, kind, phone_hash, display_name = row
    if not active or kind != "citizen":
        raise _Delegate
    # AbstractBaseUser.get_session_auth_hash with the current SECRET_KEY; a session signed with
    # a fallback key goes the full way (Django checks the fallbacks and may rotate it).
    expected = salted_hmac(_SESSION_HASH_SALT, password, algorithm="sha256").hexdigest()
    if not constant_time_compare(digest, expected):
        raise _Delegate
    return Voter(pk=uid, kind=kind, phone_hash=phone_hash, display_name=display_name)


_SESSION_HASH_SALT = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"


@dataclass(frozen=True)
class Voter:
    """The signed-in citizen as ``cast_vote`` reads them (no model instance needed)."""

    pk: int
    kind: str
    phone_hash: str
    display_name: str
    is_authenticated: bool = True
