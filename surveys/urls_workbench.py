"""Organiser pages in the workbench."""

from django.urls import path

from surveys import views_workbench as views

app_name = "surveys_wb"
urlpatterns = [
    path("", views.questionnaire_list, name="list"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.edit, name="edit"),
    path("<int:pk>/settings/", views.save_settings, name="settings"),
    path("<int:pk>/sections/", views.add_section, name="add_section"),
    path("<int:pk>/sections/<int:section_id>/delete/", views.delete_section, name="delete_section"),
    path(
        "<int:pk>/sections/<int:section_id>/questions/new/",
        views.question_form,
        name="add_question",
    ),
    path(
        "<int:pk>/sections/<int:section_id>/questions/<int:question_id>/",
        views.question_form,
        name="edit_question",
    ),
    path(
        "<int:pk>/questions/<int:question_id>/delete/",
        views.delete_question,
        name="delete_question",
    ),
    path("<int:pk>/move/<str:what>/<int:item_id>/<str:direction>/", views.move, name="move"),
    path("<int:pk>/publish/", views.publish, name="publish"),
    path("<int:pk>/close/", views.close, name="close"),
    path("<int:pk>/version/", views.new_version, name="new_version"),
    path("<int:pk>/results/", views.results, name="results"),
    path("<int:pk>/results/publish/", views.publish_results, name="publish_results"),
    path("<int:pk>/themes/<int:question_id>/", views.refresh_themes, name="refresh_themes"),
    path("<int:pk>/export.csv", views.export_csv, name="export_csv"),
    path("<int:pk>/export.xlsx", views.export_xlsx, name="export_xlsx"),
]
