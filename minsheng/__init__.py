"""民声 minsheng: the Django project package."""

from minsheng.celery import app as celery_app

__all__ = ["celery_app"]
