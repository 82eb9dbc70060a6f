"""Periodic jobs: one table, run by celery beat at scale and by a thread in the embedded default.

Each job is a Celery task name and an interval. With a broker, ``CELERY_BEAT_SCHEDULE`` (built
from ``JOBS`` in settings) lets ``celery -A minsheng beat`` queue them for the workers. Without
one (the embedded default, where tasks run inline), ``start()`` runs a daemon thread in the
serving process that calls each due task in turn. A job that raises is logged and tried again at
its next turn; it never stops the thread or the others.

Only one process runs a given job at a time: each turn takes a cache lock named after the job, so
two servers sharing a cache (Redis) do not both sweep; with the per-process local cache each
process runs its own, which is what a single embedded server wants.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

log = logging.getLogger("minsheng.periodic")


@dataclass(frozen=True)
class Job:
    task: str
    every: int  # seconds
    description: str


JOBS: tuple[Job, ...] = (
    Job("appeals.sweep_deadlines", 300, "deadline warnings, overdue flags and escalation"),
    Job("kpi.rollup", 300, "KPI counters from the appeals' new events"),
    Job("opinion.sweep_tasks", 300, "overdue flags on 舆情 response tasks"),
    Job("exemplars.detect", 300, "anti-刷票 detection over the campaigns that are voting"),
    Job("minsheng.relay_outbox", 30, "task messages that waited in the outbox for the broker"),
)


def at_interval(jobs: tuple[Job, ...], seconds: int) -> tuple[Job, ...]:
    """The jobs with every interval replaced by ``seconds`` (``MINSHENG_PERIODIC_SECONDS``: drills
    and the deployment test want a turn within seconds); 0 keeps each job's own interval."""
    if seconds <= 0:
        return jobs
    return tuple(replace(job, every=seconds) for job in jobs)


def beat_schedule(jobs: tuple[Job, ...] = JOBS) -> dict[str, dict[str, Any]]:
    """``CELERY_BEAT_SCHEDULE`` for these jobs."""
    return {job.task: {"task": job.task, "schedule": float(job.every)} for job in jobs}


def run_job(job: Job) -> bool:
    """Run one job now if no other process holds its lock; True when it ran without error."""
    from django.core.cache import cache
    from django.db import close_old_connections

    from minsheng.celery import app

    lock = f"periodic:{job.task}"
    if not cache.add(lock, "1", timeout=max(job.every, 60)):
        return False
    try:
        close_old_connections()
        app.tasks[job.task].apply(throw=True)
        return True
    except Exception:  # a job's failure must not stop the scheduler; it is retried next turn
        log.exception("periodic job %s failed", job.task)
        return False
    finally:
        cache.delete(lock)
        close_old_connections()


class Scheduler(threading.Thread):
    def __init__(self, jobs: tuple[Job, ...] = JOBS, *, tick: float = 5.0) -> None:
        super().__init__(name="minsheng-periodic", daemon=True)
        self.jobs = jobs
        self.tick = tick
        self.stopped = threading.Event()
        # First turn shortly after start, not at once: the server should answer before it sweeps.
        now = time.monotonic()
        self.next_run = {job.task: now + min(30.0, job.every) for job in jobs}

    def run(self) -> None:
        while not self.stopped.wait(self.tick):
            for job in self.jobs:
                if time.monotonic() >= self.next_run[job.task]:
                    run_job(job)
                    self.next_run[job.task] = time.monotonic() + job.every

    def stop(self) -> None:
        self.stopped.set()


def wanted() -> bool:
    """Whether this process should run the jobs itself: MINSHENG_SCHEDULER on/off, or by
    default only when tasks run inline (no broker, hence no beat and no workers)."""
    from django.conf import settings

    mode = getattr(settings, "SCHEDULER", "auto")
    if mode == "on":
        return True
    if mode == "off":
        return False
    return bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))


def start() -> Scheduler | None:
    if not wanted():
        return None
    from django.conf import settings

    scheduler = Scheduler(at_interval(JOBS, getattr(settings, "PERIODIC_SECONDS", 0)))
    scheduler.start()
    log.info("periodic jobs run in this process: %s", ", ".join(j.task for j in JOBS))
    return scheduler
