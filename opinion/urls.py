"""Workbench pages of the 舆情 desk, mounted at /workbench/opinion/."""

from django.urls import path

app_name = "opinion"

urlpatterns: list = []
