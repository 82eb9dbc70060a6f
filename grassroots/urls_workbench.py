"""Staff pages in the workbench."""

from django.urls import path

from grassroots import views_workbench as views

app_name = "grassroots_wb"
urlpatterns = [
    path("", views.index, name="index"),
    path("unvisited/", views.unvisited, name="unvisited"),
    path("households/new/", views.household_new, name="household_new"),
    path("households/<int:pk>/reveal/", views.household_reveal, name="household_reveal"),
    path("plans/", views.plans, name="plans"),
    path("visits/new/", views.visit_new, name="visit_new"),
    path("visits/<int:pk>/", views.visit_detail, name="visit_detail"),
    path("visits/<int:pk>/appeal/", views.visit_raise, name="visit_raise"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/from/<int:appeal_pk>/", views.case_draft, name="case_draft"),
    path("cases/<int:pk>/", views.case_edit, name="case_edit"),
    path("cases/<int:pk>/publish/", views.case_publish, name="case_publish"),
    path("training/", views.my_training, name="training"),
    path("training/behind/", views.training_behind, name="training_behind"),
    path("training/courses/", views.courses, name="courses"),
    path("training/courses/<int:pk>/", views.course, name="course"),
    path("training/sessions/<int:session_pk>/attend/<int:user_pk>/", views.attend, name="attend"),
    path("training/enrollments/<int:enrollment_pk>/score/", views.score, name="score"),
    path("training/courses/<int:course_pk>/enroll/", views.enroll, name="enroll"),
]
