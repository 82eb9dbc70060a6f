"""Organiser pages in the workbench."""

from django.urls import URLPattern

app_name = "surveys_wb"
urlpatterns: list[URLPattern] = []
