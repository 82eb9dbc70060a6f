"""Request id and security headers, applied to every response."""

from __future__ import annotations

import contextvars
import logging
import secrets
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
access_log = logging.getLogger("minsheng.access")

# Scripts and styles come only from our own origin: government networks are often closed, and a
# strict policy turns an injected <script> into a no-op even if escaping were ever missed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI (served from django-ninja's own static files, no CDN) sets inline styles; the docs
# page alone allows them.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)


# The map picker asks for the device's position on our own pages only; nothing else is needed.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(self), payment=(), usb=()"


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-Id", "")
        rid = incoming if 0 < len(incoming) <= 64 and incoming.isalnum() else secrets.token_hex(8)
        token = request_id_var.set(rid)
        start = time.perf_counter()
        try:
            response = self.get_response(request)
            duration_ms = round((time.perf_counter() - start) * 1000, 1)
            # The path only, never the query string: tracking codes and phone numbers travel there.
            access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "event": "request",
                    "method": request.method,
                    "path": request.path,
                    "status_code": response.status_code,
                    "duration_ms": duration_ms,
                },
            )
        finally:
            request_id_var.reset(token)
        response["X-Request-Id"] = rid
        return response


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            policy = DOCS_CSP if request.path.startswith("/api/docs") else CONTENT_SECURITY_POLICY
            response["Content-Security-Policy"] = policy
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        # Django's SecurityMiddleware and XFrameOptionsMiddleware set these on what passes through
        # them; the defaults here also cover answers given before them (e.g. WhiteNoise's).
        response.setdefault("X-Content-Type-Options", "nosniff")
        response.setdefault("Referrer-Policy", "same-origin")
        response.setdefault("X-Frame-Options", "DENY")
        return response
