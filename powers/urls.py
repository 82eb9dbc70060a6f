"""Public pages (citizens)."""

from django.urls import path

from powers import views

app_name = "powers"
urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:code>/", views.unit_page, name="unit"),
    path("<slug:code>/<int:power_id>/history/", views.history, name="history"),
]
