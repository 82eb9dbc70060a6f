"""The JSON API: one NinjaAPI, one router per domain app, errors with a stable code.

Every error body is ``{"code": "<stable_snake_case>", "message": "<in the caller's language>",
"detail": …}`` so clients can branch on ``code`` and show ``message`` to a person.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema

api = NinjaAPI(
    title="民声 minsheng API",
    version="1",
    description="群众工作平台接口 — the minsheng mass-work platform API.",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


class ErrorOut(Schema):
    code: str
    message: str
    detail: Any = None


def error_response(
    request: HttpRequest, status: int, code: str, message: str, detail: Any = None
) -> HttpResponse:
    return api.create_response(
        request, {"code": code, "message": str(message), "detail": detail}, status=status
    )
