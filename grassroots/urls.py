"""Public pages (citizens)."""

from django.urls import path

from grassroots import views

app_name = "grassroots"
urlpatterns = [
    path("cases/", views.case_list, name="case_list"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("organisations/", views.organisation_list, name="organisation_list"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation_detail"),
    path("certificates/<str:code>/", views.certificate, name="certificate"),
]
