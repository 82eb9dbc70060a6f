from django.urls import URLPattern

app_name = "appeals_workbench"
urlpatterns: list[URLPattern] = []
