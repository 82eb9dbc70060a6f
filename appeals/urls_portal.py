"""Citizen pages under /appeals/ (namespace ``citizen``), and the hotline agent's entry."""

from django.urls import path

from appeals import views_portal as views

app_name = "citizen"
urlpatterns = [
    path("new/", views.submit, name="submit"),
    path("new/done/", views.submitted, name="submitted"),
    path("mine/", views.mine, name="mine"),
    path("track/", views.track, name="track"),
    path("track/<str:code>/", views.detail, name="detail"),
    path("track/<str:code>/rate/", views.rate, name="rate"),
    path("track/<str:code>/withdraw/", views.withdraw, name="withdraw"),
    path("track/<str:code>/reopen/", views.reopen, name="reopen"),
    path("track/<str:code>/review/", views.request_review, name="review"),
    path("agent/new/", views.agent_submit, name="agent_submit"),
    path("agent/new/done/", views.agent_submitted, name="agent_submitted"),
]
