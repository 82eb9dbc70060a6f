"""Celery application. With no broker configured, tasks run inline (see settings)."""

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minsheng.settings")

# Every task is an OutboxTask: a message the broker cannot take waits in the database
# (minsheng/outbox.py) instead of being lost.
app = Celery("minsheng", task_cls="minsheng.outbox:OutboxTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _relay_outbox_on_start(**_kwargs: Any) -> None:
    """A starting worker sends what waited in the outbox (the broker is up: it just connected)."""
    from django.db import connections

    from minsheng import outbox

    try:
        outbox.relay(app)
    except Exception:  # the periodic relay tries again; a worker must start regardless
        logging.getLogger("minsheng.outbox").exception("outbox relay at worker start failed")
    finally:
        connections.close_all()
