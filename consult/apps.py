from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsultConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "consult"
    verbose_name = _("民主协商")
