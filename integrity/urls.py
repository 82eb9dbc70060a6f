"""Public pages (citizens)."""

from django.urls import URLPattern

app_name = "integrity"
urlpatterns: list[URLPattern] = []
