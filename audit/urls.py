from django.urls import path

from audit import accountability, views, views_reports

app_name = "audit"
urlpatterns = [
    path("", views.trail, name="trail"),
    path("entries/<int:seq>/", views.entry_detail, name="entry"),
    path("verify/", views.verify, name="verify"),
    path("access/", views.access_log, name="access_log"),
    path("reports/", views_reports.export, name="reports"),
    path("reports/verify/", views_reports.verify, name="report_verify"),
    path("accountability/", accountability.overview, name="accountability"),
    path("accountability/records/", accountability.records_view, name="accountability_records"),
]
