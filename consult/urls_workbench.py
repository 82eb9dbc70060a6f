"""Organiser pages in the workbench."""

from django.urls import URLPattern, path

from consult import views_workbench as views

app_name = "consult_wb"
urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("drafts/new/", views.draft_new, name="draft_new"),
    path("drafts/<int:pk>/", views.draft, name="draft"),
    path("hearings/new/", views.hearing_new, name="hearing_new"),
    path("hearings/<int:pk>/", views.hearing, name="hearing"),
    path("maps/new/", views.map_new, name="map_new"),
    path("maps/<int:pk>/", views.opinion_map, name="map"),
    path("decisions/new/", views.decision_new, name="decision_new"),
    path("decisions/<int:pk>/", views.decision, name="decision"),
    path("<str:kind>/<int:pk>/do/<str:action>/", views.act, name="act"),
]
