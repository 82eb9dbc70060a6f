"""Staff pages in the workbench."""

from django.urls import URLPattern

app_name = "exemplars_wb"
urlpatterns: list[URLPattern] = []
