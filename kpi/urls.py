from django.urls import URLPattern

app_name = "kpi"
urlpatterns: list[URLPattern] = []
