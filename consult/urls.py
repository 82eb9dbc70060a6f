"""Public pages (citizens)."""

from django.urls import URLPattern, path

from consult import views

app_name = "consult"
urlpatterns: list[URLPattern] = [
    path("", views.index, name="index"),
    path("drafts/<int:pk>/", views.draft_page, name="draft"),
    path("drafts/<int:pk>/articles/<int:article>/comment/", views.comment, name="comment"),
    path("hearings/<int:pk>/", views.hearing_page, name="hearing"),
    path("hearings/<int:pk>/register/", views.register, name="register"),
    path("hearings/<int:pk>/draw/", views.draw_page, name="draw"),
    path("hearings/<int:pk>/draw.json", views.draw_json, name="draw_json"),
    path("maps/<int:pk>/", views.map_page, name="map"),
    path("maps/<int:pk>/statements/<int:statement>/vote/", views.vote, name="vote"),
    path("maps/<int:pk>/propose/", views.propose, name="propose"),
    path("decisions/", views.decision_list, name="decisions"),
    path("decisions/<int:pk>/", views.decision_page, name="decision"),
    path("notices/", views.notices, name="notices"),
]
