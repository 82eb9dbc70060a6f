from django.apps import AppConfig


class AppealsConfig(AppConfig):
    name = "appeals"
    verbose_name = "诉求办理"
    default_auto_field = "django.db.models.BigAutoField"
