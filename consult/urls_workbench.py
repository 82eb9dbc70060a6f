"""Organiser pages in the workbench."""

from django.urls import URLPattern

app_name = "consult_wb"
urlpatterns: list[URLPattern] = []
