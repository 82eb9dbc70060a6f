"""Staff pages in the workbench."""

from django.urls import path

from powers import views

app_name = "powers_wb"
urlpatterns = [
    path("", views.organise, name="organise"),
    path("units/<slug:code>/", views.organise_unit, name="unit"),
    path("items/<int:power_id>/edit/", views.edit, name="edit"),
]
