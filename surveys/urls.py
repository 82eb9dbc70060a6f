"""Public pages (citizens): the list, answering, thanks, published results."""

from django.urls import path

from surveys import views

app_name = "surveys"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/s/<int:step>/", views.section, name="section"),
    path("<int:pk>/done/", views.done, name="done"),
    path("<int:pk>/results/", views.results, name="results"),
]
