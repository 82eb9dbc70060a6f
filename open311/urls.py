"""Open311 GeoReport v2 at /open311/v2/: every resource in XML and JSON by its extension."""

from django.urls import URLPattern, re_path

from open311 import views

app_name = "open311"
# Any extension reaches the view, which answers an unsupported one with a GeoReport 404.
FMT = r"\.(?P<fmt>[A-Za-z0-9]{1,10})$"
urlpatterns: list[URLPattern] = [
    re_path(r"^discovery" + FMT, views.discovery, name="discovery"),
    re_path(r"^services" + FMT, views.service_list, name="services"),
    re_path(
        r"^services/(?P<service_code>[^/]{1,64}?)" + FMT,
        views.service_definition,
        name="service_definition",
    ),
    re_path(r"^requests" + FMT, views.requests, name="requests"),
    re_path(
        r"^requests/(?P<service_request_id>[^/]{1,40}?)" + FMT,
        views.request_detail,
        name="request",
    ),
]
