"""Staff pages for appeals, mounted at ``/workbench/appeals/``."""

from django.urls import path

from appeals import views_repeats
from appeals import views_workbench as views

app_name = "appeals_wb"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:appeal_id>/", views.case, name="case"),
    path("<int:appeal_id>/reveal-phone/", views.reveal_phone, name="reveal_phone"),
    path("<int:appeal_id>/photos/<int:photo_id>/", views.photo, name="photo"),
    path("<int:appeal_id>/repeat/<slug:decision>/", views_repeats.decide, name="repeat"),
    path("<int:appeal_id>/<slug:slug>/", views.step, name="step"),
]
