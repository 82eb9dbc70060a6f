from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GrassrootsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "grassroots"
    verbose_name = _("基层工作")
