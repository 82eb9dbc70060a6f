"""The real services: under CI the second run must be on PostgreSQL, Redis and a Celery worker."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from minsheng.celery import app
from minsheng.tasks import roundtrip

REQUIRED = os.environ.get("MINSHENG_REQUIRE_SERVICES") == "1"


@pytest.mark.skipif(not REQUIRED, reason="only when CI asks for the real services")
@pytest.mark.django_db
def test_the_service_run_really_uses_postgresql_and_redis() -> None:
    assert connection.vendor == "postgresql"
    assert "RedisCache" in settings.CACHES["default"]["BACKEND"]
    cache.set("ci-probe", "ok", 5)
    assert cache.get("ci-probe") == "ok"
    assert not settings.CELERY_TASK_ALWAYS_EAGER


def test_a_task_runs_inline_without_a_broker_or_through_a_real_worker_with_one() -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        assert roundtrip.delay("inline").get(timeout=5)["token"] == "inline"
        return
    from celery.contrib.testing.worker import start_worker

    # A real worker thread consuming from the configured broker (Redis in CI).
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        answer = roundtrip.delay("through-redis").get(timeout=20)
    assert answer["token"] == "through-redis"
    assert answer["pid"] == os.getpid()
