from django.urls import URLPattern

app_name = "citizen"
urlpatterns: list[URLPattern] = []
