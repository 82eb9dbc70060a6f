"""Public pages (citizens)."""

from django.urls import URLPattern

app_name = "grassroots"
urlpatterns: list[URLPattern] = []
