"""MINSHENG_PERIODIC_SECONDS: one short interval for every periodic job (drills, the deploy test)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from minsheng import periodic

REPO = Path(__file__).resolve().parents[2]


def _beat_schedule_with(value: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, MINSHENG_PERIODIC_SECONDS=value, DJANGO_SETTINGS_MODULE="minsheng.settings_test"
    )
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(sorted({e['schedule'] for e in settings.CELERY_BEAT_SCHEDULE.values()}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )


def test_zero_keeps_each_jobs_own_interval() -> None:
    assert periodic.at_interval(periodic.JOBS, 0) == periodic.JOBS


def test_a_positive_interval_replaces_every_jobs_interval_and_keeps_the_tasks() -> None:
    jobs = periodic.at_interval(periodic.JOBS, 3)
    assert [job.task for job in jobs] == [job.task for job in periodic.JOBS]
    assert {job.every for job in jobs} == {3}
    assert {entry["schedule"] for entry in periodic.beat_schedule(jobs).values()} == {3.0}


def test_the_setting_reaches_the_beat_schedule() -> None:
    done = _beat_schedule_with("4")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[4.0]"


def test_a_negative_interval_stops_start_up_naming_the_variable() -> None:
    done = _beat_schedule_with("-1")
    assert done.returncode != 0
    assert "MINSHENG_PERIODIC_SECONDS" in done.stderr
