"""Periodic jobs: the same table feeds celery beat and the embedded server's own thread."""

from __future__ import annotations

import time
from typing import Any

import pytest
from celery import shared_task

from minsheng import periodic

CALLS: list[str] = []


@shared_task(name="tests.periodic_ok")
def _ok() -> None:
    CALLS.append("ok")


@shared_task(name="tests.periodic_boom")
def _boom() -> None:
    CALLS.append("boom")
    raise RuntimeError("a job that fails")


def test_the_beat_schedule_names_every_job_with_its_interval(settings: Any) -> None:
    from sources.scheduler import JOBS as SOURCE_JOBS

    assert settings.CELERY_BEAT_SCHEDULE["appeals.sweep_deadlines"]["schedule"] == 300.0
    every = periodic.JOBS + SOURCE_JOBS
    assert set(settings.CELERY_BEAT_SCHEDULE) == {job.task for job in every}


def test_every_job_names_a_registered_task() -> None:
    from minsheng.celery import app
    from sources.scheduler import JOBS as SOURCE_JOBS

    app.loader.import_default_modules()
    every = periodic.JOBS + SOURCE_JOBS
    assert [job.task for job in every if job.task not in app.tasks] == []


@pytest.mark.django_db
def test_a_failing_job_is_logged_and_the_next_one_still_runs(caplog: Any) -> None:
    CALLS.clear()
    jobs = (periodic.Job("tests.periodic_boom", 1, ""), periodic.Job("tests.periodic_ok", 1, ""))
    scheduler = periodic.Scheduler(jobs, tick=0.05)
    scheduler.next_run = dict.fromkeys(scheduler.next_run, 0.0)
    scheduler.start()
    deadline = time.monotonic() + 10
    while CALLS.count("ok") < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    scheduler.stop()
    scheduler.join(5)
    assert "boom" in CALLS and "ok" in CALLS
    assert "periodic job tests.periodic_boom failed" in caplog.text


@pytest.mark.django_db
def test_a_job_another_process_is_running_is_skipped_this_turn() -> None:
    from django.core.cache import cache

    CALLS.clear()
    job = periodic.Job("tests.periodic_ok", 60, "")
    cache.add(f"periodic:{job.task}", "1", timeout=60)
    try:
        assert periodic.run_job(job) is False
        assert CALLS == []
    finally:
        cache.delete(f"periodic:{job.task}")
    assert periodic.run_job(job) is True
    assert CALLS == ["ok"]


@pytest.mark.parametrize(
    ("mode", "eager", "expected"),
    [("auto", True, True), ("auto", False, False), ("on", False, True), ("off", True, False)],
)
def test_the_server_runs_the_jobs_itself_only_without_a_broker_unless_told(
    settings: Any, mode: str, eager: bool, expected: bool
) -> None:
    settings.SCHEDULER = mode
    settings.CELERY_TASK_ALWAYS_EAGER = eager
    assert periodic.wanted() is expected
