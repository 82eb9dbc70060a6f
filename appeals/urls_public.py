from django.urls import URLPattern

app_name = "appeals_public"
urlpatterns: list[URLPattern] = []
