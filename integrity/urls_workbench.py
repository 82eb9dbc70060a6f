"""Staff pages in the workbench."""

from django.urls import URLPattern

app_name = "integrity_wb"
urlpatterns: list[URLPattern] = []
