"""The in-process scheduler of the embedded default: a daemon thread in the serving process
that runs ``sources.poll_due`` every minute.

It starts only when tasks run inline (no broker, hence no celery beat) and the operator turned
polling on with ``MINSHENG_SOURCES_POLL=true``: a development checkout should not call the sites
it is configured with unless asked. With a broker, celery beat queues ``sources.poll_due``
instead (``JOBS`` below, for ``CELERY_BEAT_SCHEDULE``).

This module imports nothing from Django at import time, so settings may import ``JOBS``.
"""

from __future__ import annotations

import logging

from minsheng.env import env_bool
from minsheng.periodic import Job, Scheduler

log = logging.getLogger("minsheng.sources")

JOBS: tuple[Job, ...] = (Job("sources.poll_due", 60, "poll the 舆情 sources that are due"),)


def wanted() -> bool:
    from django.conf import settings

    eager = bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))
    return eager and env_bool("MINSHENG_SOURCES_POLL", False)


def start() -> Scheduler | None:
    """Start the polling thread if this process should poll; return it (or None)."""
    if not wanted():
        return None
    scheduler = Scheduler(JOBS)
    scheduler.name = "minsheng-sources"
    scheduler.start()
    log.info("舆情 sources are polled in this process every %d s", JOBS[0].every)
    return scheduler
