from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExemplarsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "exemplars"
    verbose_name = _("典型选树")
