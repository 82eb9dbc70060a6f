"""Error pages: JSON with a stable code under /api/, friendly templates everywhere else."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults

from minsheng import outage


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _json(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "detail": None}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json(400, "bad_request", _("请求无效，请检查后重试。"))
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json(403, "forbidden", _("您没有执行此操作的权限。"))
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json(404, "not_found", _("没有这个接口地址，请查看 /api/docs。"))
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its except block: a database outage raised by a middleware
    # becomes the 503 with Retry-After, like one raised by a view.
    unavailable = outage.response_for_current_exception(request)
    if unavailable is not None:
        return unavailable
    if _is_api(request):
        return _json(500, "internal_error", _("服务器内部错误，已记录，请稍后重试。"))
    return defaults.server_error(request)
