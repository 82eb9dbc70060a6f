from django.urls import URLPattern

app_name = "appeals_wb"
urlpatterns: list[URLPattern] = []
