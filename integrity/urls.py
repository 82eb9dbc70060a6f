"""Public pages (citizens): report misconduct, follow a report by code and secret."""

from django.urls import path

from integrity import views

app_name = "integrity"
urlpatterns = [
    path("", views.report, name="report"),
    path("track/", views.track, name="track"),
]
