"""The GeoReport v2 endpoints. Each view parses, calls the services, and renders in the format the
path's extension names (``.xml`` or ``.json``); every failure is a GeoReport error list."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from open311 import render
from open311 import services as o311
from org.models import Category

View = Callable[..., HttpResponse]
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def endpoint(*methods: str) -> Callable[[View], View]:
    """Format from the extension, method check, and GeoReport errors for every failure."""

    def wrap(func: View) -> View:
        # No CSRF: nothing here acts on a session; posting needs the api_key instead.
        @csrf_exempt
        @wraps(func)
        def view(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            wanted = fmt.lower()
            out = wanted if wanted in render.FORMATS else "xml"
            try:
                if wanted not in render.FORMATS:
                    raise o311.Open311Error(
                        404, _("不支持的格式“.%(fmt)s”：请用 .xml 或 .json。") % {"fmt": fmt[:10]}
                    )
                if request.method not in methods:
                    response = render.errors(
                        out,
                        405,
                        [(405, _("该地址只接受 %(m)s 请求。") % {"m": ", ".join(methods)})],
                    )
                    response["Allow"] = ", ".join(methods)
                    return response
                return func(request, out, **kwargs)
            except o311.Open311Error as exc:
                return render.errors(out, exc.status, exc.errors, exc.retry_after)

        return view

    return wrap


def _base_url(request: HttpRequest) -> str:
    services_url = reverse("open311:services", kwargs={"fmt": "xml"})
    return request.build_absolute_uri(services_url.rsplit("/", 1)[0])


@endpoint("GET", "HEAD")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    latest = Category.objects.aggregate(at=Max("updated"))["at"] or timezone.now()
    changeset = o311.w3(latest)
    contact = str(getattr(settings, "OPEN311_CONTACT", "") or _("本市 12345 政务服务便民热线"))
    data = {
        "changeset": changeset,
        "contact": contact,
        "key_service": _("提交请求需要 api_key：请向本市 12345 热线中心申请。"),
        "endpoints": [
            {
                "specification": o311.SPECIFICATION,
                "url": _base_url(request),
                "changeset": changeset,
                "type": "production" if settings.PRODUCTION else "test",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return render.respond(fmt, "discovery", data)


@endpoint("GET", "HEAD")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    o311.check_jurisdiction(request.GET.get("jurisdiction_id"))
    data = [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": c.description,
            "metadata": False,
            "type": "realtime",
            "keywords": o311.keywords_of(c),
            "group": o311.group_of(c).name,
        }
        for c in o311.services()
    ]
    return render.respond(fmt, "services", data)


@endpoint("GET", "HEAD")
def service_definition(request: HttpRequest, fmt: str, service_code: str) -> HttpResponse:
    o311.check_jurisdiction(request.GET.get("jurisdiction_id"))
    service = o311.service_by_code(service_code)
    # Our services ask for nothing beyond the common fields (metadata is false): no attributes.
    return render.respond(
        fmt, "service_definition", {"service_code": service.code, "attributes": []}
    )


def _form(request: HttpRequest) -> QueryDict:
    content_type = (request.content_type or "").lower()
    if content_type not in _FORM_TYPES:
        raise o311.Open311Error(
            400,
            _(
                "请求体应为 application/x-www-form-urlencoded（或 multipart/form-data），"
                "收到的是“%(t)s”。"
            )
            % {"t": content_type[:60] or "-"},
        )
    try:
        data = request.POST
        files = request.FILES
    except (RequestDataTooBig, TooManyFieldsSent):
        raise o311.Open311Error(400, _("请求体太大或字段太多。")) from None
    except (MultiPartParserError, SuspiciousOperation, OSError):
        raise o311.Open311Error(400, _("请求体无法解析，请检查编码。")) from None
    if files:
        raise o311.Open311Error(
            400,
            _("不接收上传文件：请把图片放在可访问的网址上，用 media_url 传该网址。"),
        )
    return data


@endpoint("GET", "HEAD", "POST")
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create(request, fmt)
    o311.check_jurisdiction(request.GET.get("jurisdiction_id"))
    query = o311.check_query(request.GET)
    found = o311.find_requests(query)
    return render.respond(fmt, "service_requests", o311.public_requests(found))


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    data = _form(request)
    client = o311.check_client(data.get("api_key") or request.GET.get("api_key"), request)
    o311.check_jurisdiction(data.get("jurisdiction_id") or request.GET.get("jurisdiction_id"))
    posted = o311.check_post(data)
    done = o311.do_submit_request(
        client,
        posted,
        track_url=request.build_absolute_uri(reverse("portal:track")),
        request=request,
    )
    answer = {
        "service_request_id": done.appeal.code,
        "service_notice": done.service_notice,
        "account_id": done.account_id or None,
    }
    return render.respond(fmt, "service_requests", [answer], status=201)


@endpoint("GET", "HEAD")
def request_detail(request: HttpRequest, fmt: str, service_request_id: str) -> HttpResponse:
    o311.check_jurisdiction(request.GET.get("jurisdiction_id"))
    appeal = o311.find_request(service_request_id)
    return render.respond(fmt, "service_requests", [o311.public_request(appeal)])
