from django.apps import AppConfig


class SearchConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "search"
    verbose_name = "Full-text search"

    def ready(self) -> None:
        from search import signals  # noqa: F401  (connects the index to appeal saves)
