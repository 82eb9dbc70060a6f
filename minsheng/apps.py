from django.apps import AppConfig


class MinshengConfig(AppConfig):
    name = "minsheng"
    verbose_name = "民声"
