"""The project's URLs plus one view that fails, for the error-report test."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from minsheng.urls import urlpatterns as project_urlpatterns


def fail(request: HttpRequest) -> HttpResponse:
    phone = request.POST.get("phone", "")
    id_number = request.POST.get("id_number", "")
    # A local variable and the exception message both quote the numbers, as careless code might.
    raise RuntimeError(f"could not reach {phone} ({id_number})")


urlpatterns = [path("test-failure/", fail), *project_urlpatterns]
handler500 = "minsheng.handlers.server_error"
