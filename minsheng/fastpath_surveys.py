"""The anonymous survey response, answered in front of Django's full request stack.

An anonymous response to a questionnaire open to anyone is a small JSON body with no cookie
but, perhaps, the answering pages' device cookie. Through the whole stack it spent most of its
web CPU outside the response itself: eleven middleware, URL resolving, ninja's parsing and
rendering, the questionnaire's row read on every request, a health-check query, and two Redis
round trips for the rate budget. Here the WSGI application looks at
``POST /api/surveys/<id>/responses`` first and, for the ordinary case only, does what that stack
would do, with cheaper means (the same pattern as the vote, ``minsheng/fastpath.py``):

* host and scheme: ``request.get_host()`` (ALLOWED_HOSTS) and, in production, HTTPS;
* the questionnaire: a per-process copy of a published questionnaire open to anyone
  (``surveys.services.answerable``) whose row the storing statement checks again — still that
  publication, still open — so a closed or moved window is never missed;
* the rules: ``surveys.services.submit_anonymous`` — the same answer validation as ``submit``,
  the network's hourly budget reserved in one Redis round trip, and the response, its texts and
  its tallies in one statement, committed before the answer; the device's and the
  Idempotency-Key's unique constraints still decide;
* the answer: the same JSON body, status and headers (request id, language, security headers)
  and the same access-log line as the full stack gives. Responses are not audited on either
  path (``surveys/services.py`` says why).

Anything out of the ordinary — a bearer token or a session cookie (the respondent may be
signed in), a body that is not ``{"answers": {…}}`` JSON, an Idempotency-Key over 128
characters, a questionnaire that is not published for anyone, invalid answers, a spent budget,
a response the database refuses (a second one from the device, a retry to replay, a reused key)
— is handed to Django untouched, with nothing stored and no budget spent, and Django answers it
as before (422, 429, 409, the 200 replay …). The fast path only ever answers a stored 201 (or,
like the full stack, a 503 when the database is unreachable).

It switches itself off when the middleware list differs from the one it was written against,
and with ``MINSHENG_FAST_SURVEYS=0``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.utils import translation
from ninja.responses import NinjaJSONEncoder

from minsheng.fastpath import FastPath, WSGIApp, _access_log, _json, _request_id

RESPOND_PATH = re.compile(r"/api/surveys/([1-9][0-9]{0,18})/responses")
MAX_BODY = 64 * 1024
MAX_ID = 2**62  # surveys/api.py ID
IDEMPOTENCY_KEY_LIMIT = 128  # surveys/api.py survey_respond's header


class FastSurveys(FastPath):
    """WSGI application: the anonymous survey response's fast path in front of ``django_app``."""

    def __init__(self, django_app: WSGIApp) -> None:
        super().__init__(django_app, switch="MINSHENG_FAST_SURVEYS", sessions=False)
        self._headers: dict[tuple[str, bool], list[tuple[str, str]]] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.enabled and environ.get("REQUEST_METHOD") == "POST":
            match = RESPOND_PATH.fullmatch(environ.get("PATH_INFO", ""))
            if match is not None and int(match.group(1)) <= MAX_ID:
                return self._respond(environ, start_response, int(match.group(1)))
        return self.django(environ, start_response)

    def _respond(self, environ: dict[str, Any], start_response: Callable[..., Any], pk: int) -> Any:
        found = self._json_request(
            environ, min(MAX_BODY, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or MAX_BODY)
        )
        if found is None:
            return self.django(environ, start_response)
        request, body = found
        answers, key = _ordinary(request, body)
        if answers is None:
            return self._delegate(environ, start_response, body)

        signals.request_started.send(sender=self.__class__, environ=environ)
        started = time.perf_counter()
        rid = _request_id(environ)
        try:
            translation.activate(translation.get_language_from_request(request))
            try:
                answer = self._store(request, pk, answers, key)
                if isinstance(answer, bytes):
                    headers = self._created_headers(request, answer)
                elif answer is not None:
                    answer = self._decorate(request, answer)
            finally:
                translation.deactivate()
        except BaseException:
            signals.request_finished.send(sender=self.__class__)
            raise
        if answer is None:
            signals.request_finished.send(sender=self.__class__)
            return self._delegate(environ, start_response, body)
        if isinstance(answer, bytes):
            headers.append(("X-Request-Id", rid))
            _access_log(request, 201, started, rid)
            start_response("201 Created", headers)
            content = [answer]
        else:
            content = self._send(request, answer, start_response, started, rid)
        signals.request_finished.send(sender=self.__class__)
        return content

    def _created_headers(self, request: WSGIRequest, content: bytes) -> list[tuple[str, str]]:
        """The 201's headers: the middleware's, worked out once per language and scheme (the
        only things of the request they depend on here) on a response of the same kind."""
        key = (translation.get_language(), request.is_secure())
        found = self._headers.get(key)
        if found is None:
            sample = self._decorate(request, _json({}, 201))
            found = self._headers.setdefault(key, list(sample.items()))
        return [
            (name, str(len(content)) if name == "Content-Length" else value)
            for name, value in found
        ]

    def _store(
        self, request: WSGIRequest, pk: int, answers: dict[str, Any], key: str
    ) -> bytes | HttpResponse | None:
        """The 201's body for a stored response; an outage's 503; None when Django must answer
        (nothing was stored)."""
        from minsheng import outage
        from minsheng.errors import ServiceError
        from surveys import services
        from surveys.api import device_of, network_of

        try:
            questionnaire = services.answerable(pk)
            if questionnaire is None:
                return None
            accepted = services.submit_anonymous(
                questionnaire,
                answers,
                device=device_of(request),
                network=network_of(request),
                idempotency_key=key,
            )
        except ServiceError:
            return None  # invalid answers, a spent budget: Django words the refusal
        except (OperationalError, InterfaceError) as exc:
            answer = outage.response(request, exc)
            if answer is None:
                raise
            return answer
        except DatabaseError:
            # Any other refusal of the (atomic) statement stored nothing: Django answers it.
            return None
        if accepted is None:
            return None
        created = {
            "id": accepted.id,
            "questionnaire": pk,
            "submitted_at": accepted.submitted_at,
            "replayed": False,
        }
        return json.dumps(created, cls=NinjaJSONEncoder).encode()  # as ninja renders it


def _ordinary(request: WSGIRequest, body: bytes) -> tuple[dict[str, Any] | None, str]:
    """The answers and the Idempotency-Key if this is the ordinary anonymous case; else None."""
    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        return None, ""  # perhaps signed in: the response would be the person's, not anonymous
    try:
        request.get_host()
    except DisallowedHost:
        return None, ""
    if settings.SECURE_SSL_REDIRECT and not request.is_secure():
        return None, ""
    key = request.META.get("HTTP_IDEMPOTENCY_KEY", "")
    if len(key) > IDEMPOTENCY_KEY_LIMIT:
        return None, ""
    try:
        data = json.loads(body)
    except ValueError:
        return None, ""
    if type(data) is not dict or len(data) != 1 or type(data.get("answers")) is not dict:
        return None, ""
    return data["answers"], key
