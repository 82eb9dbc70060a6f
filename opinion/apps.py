from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpinionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "opinion"
    verbose_name = _("舆情")
