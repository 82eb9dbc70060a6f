from django.urls import path

from kpi import views

app_name = "transparency"
urlpatterns = [
    path("", views.transparency_index, name="index"),
    path("<slug:code>/", views.transparency_unit, name="unit"),
]
