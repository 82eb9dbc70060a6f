from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PowersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "powers"
    verbose_name = _("权责清单")
