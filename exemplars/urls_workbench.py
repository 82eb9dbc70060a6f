"""Staff pages in the workbench."""

from django.urls import path

from exemplars import views_workbench as views

app_name = "exemplars_wb"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:campaign_id>/", views.campaign, name="campaign"),
    path("<int:campaign_id>/advance/", views.advance, name="advance"),
    path("<int:campaign_id>/publish/", views.publish, name="publish"),
    path("<int:campaign_id>/flags/", views.flags, name="flags"),
    path("<int:campaign_id>/detect/", views.run_detect, name="detect"),
    path("candidates/<int:candidate_id>/review/", views.review, name="review"),
    path("objections/<int:objection_id>/answer/", views.answer, name="answer"),
    path("flags/<int:flag_id>/decide/", views.flag_decide, name="flag_decide"),
]
