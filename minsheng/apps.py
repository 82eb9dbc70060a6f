from django.apps import AppConfig
from django.db.models.signals import pre_save


class MinshengConfig(AppConfig):
    name = "minsheng"
    verbose_name = "民声"

    def ready(self) -> None:
        from minsheng.bidi import clean_on_save

        pre_save.connect(clean_on_save, dispatch_uid="minsheng.bidi.clean_on_save")
