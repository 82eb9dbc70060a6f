from django.urls import URLPattern

app_name = "appeals_portal"
urlpatterns: list[URLPattern] = []
