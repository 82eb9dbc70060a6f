"""Staff pages in the workbench."""

from django.urls import URLPattern

app_name = "powers_wb"
urlpatterns: list[URLPattern] = []
