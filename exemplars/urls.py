"""Public pages (citizens)."""

from django.urls import URLPattern

app_name = "exemplars"
urlpatterns: list[URLPattern] = []
