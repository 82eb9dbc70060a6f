"""Workbench pages of the 舆情 desk, mounted at /workbench/opinion/."""

from django.urls import path

from opinion import views

app_name = "opinion"

urlpatterns = [
    path("", views.event_list, name="events"),
    path("events/<int:pk>/", views.event_detail, name="event"),
    path("alerts/", views.alert_queue, name="alerts"),
    path("alerts/<int:pk>/acknowledge/", views.alert_ack, name="alert_ack"),
    path("tasks/", views.task_list, name="tasks"),
    path("tasks/<int:pk>/", views.task_detail, name="task"),
    path("tasks/<int:pk>/act/", views.task_act, name="task_act"),
    path("tasks/<int:pk>/close/", views.task_close, name="task_close"),
    path("tasks/<int:pk>/assign/", views.task_assign, name="task_assign"),
    path("items/<int:pk>/appeal/", views.item_appeal, name="item_appeal"),
    path("gazetteer/", views.gazetteer, name="gazetteer"),
    path("gazetteer/<int:pk>/toggle/", views.gazetteer_toggle, name="gazetteer_toggle"),
    path("rules/", views.rules, name="rules"),
    path("reports/<str:kind>/", views.report, name="report"),
    path("reports/<str:kind>.xlsx", views.report_xlsx, name="report_xlsx"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
]
