"""Staff pages in the workbench."""

from django.urls import URLPattern

app_name = "grassroots_wb"
urlpatterns: list[URLPattern] = []
