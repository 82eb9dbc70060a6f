"""Public pages (citizens)."""

from django.urls import URLPattern

app_name = "powers"
urlpatterns: list[URLPattern] = []
