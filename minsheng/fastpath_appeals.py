"""The anonymous appeal submission, answered in front of Django's full request stack.

A citizen's ``POST /api/appeals/`` without an account is the busiest write of the platform (a
hotline centre's web form, the mobile client). Through the whole stack it spent about a fifth of
its web CPU outside the intake: eleven middleware, URL resolving, ninja's parsing, auth chain and
rendering. Here the WSGI application looks at ``POST /api/appeals/`` first and, for the ordinary
case only, does what that stack would do, with cheaper means (the same pattern as the vote,
``minsheng/fastpath.py``, and the survey response, ``minsheng/fastpath_surveys.py``):

* host and scheme: ``request.get_host()`` (ALLOWED_HOSTS) and, in production, HTTPS;
* the body: the same ``AppealIn`` schema and the ``Idempotency-Key`` header's length limit;
* the submission itself: ``appeals.api.intake``, the very function the ninja view calls — the
  address's hourly budget, the category and grid look-ups, ``services.do_submit`` with the
  idempotency key, the 200 replay of a retried key, the 409 of a key reused for another body;
* its refusals (422, 429, 409) and a database outage (503): the API's own exception handlers;
* the answer: the same JSON body, status and headers (request id, language, security headers)
  and the same access-log line as the full stack; the audit entry carries the request id.

Anything out of the ordinary — a bearer token or a session cookie (the caller may be an agent
or a signed-in citizen), a body that is not JSON or fails the schema (Django words the 422), a
``channel`` (only agents and cadres may name one), a key over 128 characters, a body over
Django's upload limit — is handed to Django untouched, with nothing stored and no budget spent.

It switches itself off when the middleware list differs from the one it was written against,
and with ``MINSHENG_FAST_APPEALS=0``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.utils import translation
from django.utils.log import log_response
from pydantic import ValidationError

from minsheng.fastpath import FastPath, WSGIApp, _request_id

SUBMIT_PATH = "/api/appeals/"
IDEMPOTENCY_KEY_LIMIT = 128  # appeals/api.py submit's header


class FastAppeals(FastPath):
    """WSGI application: the anonymous appeal submission's fast path in front of ``django_app``."""

    def __init__(self, django_app: WSGIApp) -> None:
        super().__init__(django_app, switch="MINSHENG_FAST_APPEALS", sessions=False)
        # The API first, as resolving the first URL would: it imports the routers in its order
        # (appeals.api imported on its own would start a circular import through org.api).
        import_module("minsheng.api")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if (
            self.enabled
            and environ.get("REQUEST_METHOD") == "POST"
            and environ.get("PATH_INFO") == SUBMIT_PATH
        ):
            return self._submit(environ, start_response)
        return self.django(environ, start_response)

    def _submit(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        found = self._json_request(environ, limit if limit is not None else sys.maxsize)
        if found is None:
            return self.django(environ, start_response)
        request, body = found
        payload, key = _ordinary(request, body)
        if payload is None:
            return self._delegate(environ, start_response, body)

        signals.request_started.send(sender=self.__class__, environ=environ)
        started = time.perf_counter()
        rid = _request_id(environ)
        try:
            translation.activate(translation.get_language_from_request(request))
            try:
                response = self._decorate(request, _answer(request, payload, key, rid))
            finally:
                translation.deactivate()
        except BaseException:
            signals.request_finished.send(sender=self.__class__)
            raise
        content = self._send(request, response, start_response, started, rid)
        if response.status_code >= 400:
            # The warning line Django's handler writes for a refused request.
            log_response(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        signals.request_finished.send(sender=self.__class__)
        return content


def _ordinary(request: WSGIRequest, body: bytes) -> tuple[Any, str | None]:
    """The parsed ``AppealIn`` and the Idempotency-Key if this is the ordinary anonymous case;
    else (None, None)."""
    from appeals.api import AppealIn

    if settings.SESSION_COOKIE_NAME in request.COOKIES:
        return None, None  # perhaps signed in: the appeal would be the person's
    try:
        request.get_host()
    except DisallowedHost:
        return None, None
    if settings.SECURE_SSL_REDIRECT and not request.is_secure():
        return None, None
    key = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if key is not None and len(key) > IDEMPOTENCY_KEY_LIMIT:
        return None, None
    try:
        data = json.loads(body)
    except ValueError:
        return None, None
    if type(data) is not dict or data.get("channel") is not None:
        return None, None
    try:
        return AppealIn.model_validate(data), key
    except ValidationError:
        return None, None


def _answer(request: WSGIRequest, payload: Any, key: str | None, rid: str) -> HttpResponse:
    """What the ninja view answers: ``intake``'s result, or its refusal through the API's
    exception handlers (which also turn a database outage into the 503)."""
    from appeals.api import intake
    from minsheng.api import api
    from minsheng.middleware import request_id_var

    token = request_id_var.set(rid)  # the audit entry records it, as under RequestIdMiddleware
    try:
        status, data = intake(request, None, payload, key)
    except Exception as exc:  # the same net as ninja's operation: every error has its answer
        return api.on_exception(request, exc)
    finally:
        request_id_var.reset(token)
    return api.create_response(request, data, status=status)
