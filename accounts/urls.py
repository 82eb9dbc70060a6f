from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/code/", views.login_code_view, name="login_code"),
    path("logout/", views.logout_view, name="logout"),
    path("citizen/", views.citizen_view, name="citizen"),
    path("2fa/", views.totp_view, name="totp"),
    path("tokens/", views.tokens_view, name="tokens"),
    path("tokens/<str:prefix>/revoke/", views.token_revoke_view, name="token_revoke"),
]
