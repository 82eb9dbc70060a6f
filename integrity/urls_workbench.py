"""Workbench pages for discipline inspectors; every one answers 404 to anybody else."""

from django.urls import path

from integrity import views

app_name = "integrity_wb"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("export.csv", views.export, name="export"),
    path("<int:report_id>/", views.case, name="case"),
    path("<int:report_id>/step/", views.step, name="step"),
    path("<int:report_id>/unseal/", views.unseal, name="unseal"),
]
