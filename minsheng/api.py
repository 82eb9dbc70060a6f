"""The JSON API: one NinjaAPI, one router per domain app, errors with a stable code.

Every error body is ``{"code": "<stable_snake_case>", "message": "<in the caller's language>",
"detail": …}`` so clients can branch on ``code`` and show ``message`` to a person. The language
follows Accept-Language (LocaleMiddleware), zh-Hans by default.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
)
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from minsheng import outage
from minsheng.api_links import add_links
from minsheng.errors import RateLimited, ServiceError

log = logging.getLogger("minsheng.api")


class MinshengAPI(NinjaAPI):
    """The document carries OpenAPI links from each created object to its operations."""

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        return add_links(super().get_openapi_schema(**kwargs))


api = MinshengAPI(
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


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def _field_message(error: dict[str, Any]) -> str:
    """A person-readable sentence for one pydantic error, in the active language."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    messages = {
        "missing": _("必填"),
        "string_too_short": _("太短（至少 %(n)s 个字符）") % {"n": ctx.get("min_length", "?")},
        "string_too_long": _("太长（至多 %(n)s 个字符）") % {"n": ctx.get("max_length", "?")},
        "int_parsing": _("应为整数"),
        "int_type": _("应为整数"),
        "float_parsing": _("应为数字"),
        "bool_parsing": _("应为 true 或 false"),
        "string_type": _("应为文本"),
        "datetime_parsing": _("应为日期时间，例如 2026-01-31T09:00:00+08:00"),
        "datetime_from_date_parsing": _("应为日期时间，例如 2026-01-31T09:00:00+08:00"),
        "date_parsing": _("应为日期，例如 2026-01-31"),
        "date_from_datetime_parsing": _("应为日期，例如 2026-01-31"),
        "enum": _("不在可选值之内"),
        "literal_error": _("不在可选值之内"),
        "greater_than_equal": _("不能小于 %(n)s") % {"n": ctx.get("ge", "?")},
        "less_than_equal": _("不能大于 %(n)s") % {"n": ctx.get("le", "?")},
        "json_invalid": _("不是有效的 JSON"),
        "model_attributes_type": _("应为对象"),
        "dict_type": _("应为对象"),
        "list_type": _("应为列表"),
    }
    if kind in messages:
        return str(messages[kind])
    message = str(error.get("msg") or _("无效"))
    # A field validator's own sentence arrives as "Value error, <sentence>"; keep the sentence.
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return message


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = []
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", [])]
        # ninja prefixes the source and the parameter name ("body", "payload", "phone"); a person
        # knows the field only by its own name.
        if len(loc) > 2 and loc[0] in {"body", "form", "file"}:
            loc = loc[2:]
        elif len(loc) > 1 and loc[0] in {"query", "path", "header", "cookie", "body"}:
            loc = loc[1:]
        fields.append({"field": ".".join(loc), "message": _field_message(error)})
    summary = "；".join(f"{f['field']}：{f['message']}" for f in fields[:5])
    return error_response(
        request, 422, "validation_error", _("请求数据有误：%(s)s") % {"s": summary}, fields
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    code = _STATUS_CODES.get(status, "error")
    if status == 400 and "parse request body" in str(exc):
        return error_response(
            request, 400, "malformed_body", _("请求体不是有效的 JSON，请检查格式后重试。")
        )
    return error_response(request, status, code, str(exc))


@api.exception_handler(ServiceError)
def on_service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    response = error_response(request, exc.status, exc.code, str(exc.message), exc.detail)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, 401, "unauthorized", _("请先登录，或提供有效的 API 令牌。"))


@api.exception_handler(AuthorizationError)
@api.exception_handler(PermissionDenied)
def on_forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, 403, "forbidden", _("您没有执行此操作的权限。"))


@api.exception_handler(Http404)
@api.exception_handler(ObjectDoesNotExist)
def on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, 404, "not_found", _("找不到该对象，请检查编号。"))


@api.exception_handler(RequestDataTooBig)
@api.exception_handler(TooManyFieldsSent)
def on_too_big(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(request, 413, "payload_too_large", _("请求体太大。"))


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("unhandled API error on %s %s", request.method, request.path)
    return error_response(request, 500, "internal_error", _("服务器内部错误，已记录，请稍后重试。"))


@api.exception_handler(DataError)
def on_data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    """PostgreSQL stores no NUL character in text or JSON; SQLite does. A NUL that got past an
    endpoint's own checks is the sender's to remove, not a server error (the change it was part
    of has rolled back with its transaction)."""
    text = str(exc)
    if "NUL" in text or "\\u0000" in text:
        return error_response(
            request,
            422,
            "null_character",
            _("文字中含有无法保存的空字符（U+0000），请删除后重试。"),
        )
    return on_unexpected(request, exc)


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def on_database_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A database that is restarting answers 503 with Retry-After (minsheng/outage.py)."""
    return outage.response(request, exc) or on_unexpected(request, exc)


# Domain routers. They are added last so a router module may import ``api`` or
# ``error_response`` from here without a circular import. One line per app:
api.add_router("/system/", "minsheng.api_system.router")
api.add_router("/org/", "org.api.router")
api.add_router("/auth/", "accounts.api.router")
api.add_router("/audit/", "audit.api.router")
api.add_router("/appeals/", "appeals.api.router")
# More appeal operations, one module per concern, under the same /api/appeals/ prefix.
api.add_router("/appeals/", "appeals.api_dispatch.router")
api.add_router("/appeals/", "appeals.api_repeats.router")
api.add_router("/kpi/", "kpi.api.router")
api.add_router("/surveys/", "surveys.api.router")
api.add_router("/consult/", "consult.api.router")
api.add_router("/exemplars/", "exemplars.api.router")
api.add_router("/grassroots/", "grassroots.api.router")
api.add_router("/opinion/", "sources.api.router")
api.add_router("/integrity/", "integrity.api.router")
api.add_router("/powers/", "powers.api.router")
