"""Celery tasks: ``sources.poll_due`` for celery beat (or the in-process scheduler), and
``sources.poll_one`` so that at scale each due source is polled by whichever worker is free."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings


@shared_task(name="sources.poll_due")
def poll_due() -> int:
    """Poll the due sources. Inline (no broker): one after another here; with workers: one task
    per source, so a slow site holds up one worker, not the round."""
    from sources import services

    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return len(services.poll_due())
    from django.utils import timezone

    due = services.due_sources(timezone.now())
    for source in due:
        poll_one.delay(source.pk)
    services.ingest_pending()
    return len(due)


@shared_task(name="sources.poll_one")
def poll_one(source_id: int) -> str:
    from sources import services
    from sources.models import Source

    source = Source.objects.filter(pk=source_id, enabled=True).first()
    if source is None:
        return "gone"
    fetch_log = services.poll_source(source)
    return fetch_log.status if fetch_log is not None else "busy"
