"""Public pages (citizens)."""

from django.urls import path

from exemplars import views

app_name = "exemplars"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:campaign_id>/", views.campaign, name="campaign"),
    path("<int:campaign_id>/nominate/", views.nominate, name="nominate"),
    path("<int:campaign_id>/results/", views.results, name="results"),
    path("<int:campaign_id>/honours/", views.honours, name="honours"),
    path("candidates/<int:candidate_id>/", views.candidate, name="candidate"),
    path("candidates/<int:candidate_id>/vote/", views.vote, name="vote"),
    path("candidates/<int:candidate_id>/objection/", views.objection, name="objection"),
    path("photos/<int:photo_id>/", views.photo, name="photo"),
]
