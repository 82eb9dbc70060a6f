from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LexiconConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "lexicon"
    verbose_name = _("分词词典")

    def ready(self) -> None:
        from lexicon import signals  # noqa: F401  (connects the cache invalidation)
