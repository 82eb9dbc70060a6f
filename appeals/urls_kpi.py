from django.urls import URLPattern

app_name = "appeals_kpi"
urlpatterns: list[URLPattern] = []
