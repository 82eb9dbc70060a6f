"""Redis away: intake goes on (the cache falls back to memory), task messages wait in the outbox
and run once Redis is back. "Down" is a closed port; "back" is the real Redis on 127.0.0.1, in a
database number of its own (15) so the test workers' cache databases are not touched."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.db import transaction
from django.test import Client, override_settings

from appeals.models import Appeal
from minsheng import outbox
from minsheng.cache import ResilientRedisCache
from minsheng.models import OutboxMessage

REDIS_BACK = "redis://127.0.0.1:6379/15"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


REDIS_DOWN = f"redis://127.0.0.1:{_closed_port()}/15"


def _redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_BACK, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


needs_redis = pytest.mark.skipif(
    not _redis_reachable() and os.environ.get("MINSHENG_REQUIRE_SERVICES") != "1",
    reason="a real Redis on 127.0.0.1:6379 is needed for the 'back' half",
)


def _app(broker: str) -> Celery:
    app = Celery(
        f"outbox-test-{uuid.uuid4().hex[:6]}",
        broker=broker,
        backend=REDIS_BACK,
        task_cls="minsheng.outbox:OutboxTask",
        set_as_current=False,
    )
    app.conf.task_always_eager = False
    app.conf.broker_transport_options = {"socket_connect_timeout": 1}

    @app.task(name="tests.reliability.echo", shared=False)
    def echo(token: str) -> str:
        return f"ran:{token}"

    return app


@pytest.fixture
def fresh_breaker() -> Iterator[None]:
    from minsheng.celery import app

    outbox._down_until = 0.0
    yield
    outbox._down_until = 0.0
    # start_worker makes its app the current one; tasks of the suite resolve through it.
    app.set_current()
    app.set_default()


def test_the_cache_serves_from_memory_while_redis_is_away_and_limits_still_count() -> None:
    cache = ResilientRedisCache(REDIS_DOWN, {"OPTIONS": {"socket_connect_timeout": 0.5}})
    key = "rate:submit:203.0.113.9"
    assert cache.add(key, 0, timeout=60)
    assert [cache.incr(key) for _ in range(3)] == [1, 2, 3]
    assert cache.get(key) == 3
    assert cache.degraded


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_task_messages_wait_in_the_outbox_while_redis_is_down_and_run_when_it_is_back(
    fresh_breaker: None,
) -> None:
    down, back = _app(REDIS_DOWN), _app(REDIS_BACK)
    back.control.purge()
    echo_down = down.tasks["tests.reliability.echo"]

    # Outside a transaction (a service's on_commit call): stored instead of raising.
    after_commit = echo_down.delay("after-commit")
    # Inside a transaction: written with the change, tried on commit, kept when refused.
    with transaction.atomic():
        in_tx = echo_down.delay("in-transaction")
        assert OutboxMessage.objects.filter(task_id=in_tx.id).exists()
    # A rolled-back change queues nothing.
    with pytest.raises(RuntimeError), transaction.atomic():
        rolled_back = echo_down.delay("rolled-back")
        raise RuntimeError("the change failed")
    assert not OutboxMessage.objects.filter(task_id=rolled_back.id).exists()
    waiting = set(OutboxMessage.objects.values_list("task_id", flat=True))
    assert waiting == {after_commit.id, in_tx.id}

    # Redis is back: the relay publishes both, with their task ids, and empties the outbox.
    outbox._down_until = 0.0
    assert outbox.relay(back) == 2
    assert outbox.pending() == 0
    with start_worker(back, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        results = {back.AsyncResult(t).get(timeout=20) for t in waiting}
    assert results == {"ran:after-commit", "ran:in-transaction"}


@pytest.mark.django_db(transaction=True)
def test_intake_succeeds_while_the_redis_cache_is_unreachable(org_tree: Any) -> None:
    caches = {
        "default": {
            "BACKEND": "minsheng.cache.ResilientRedisCache",
            "LOCATION": REDIS_DOWN,
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    with override_settings(CACHES=caches):
        answer = Client().post(
            "/api/appeals/",
            {
                "text": "Redis 停了也要能提交：小区垃圾三天没人清运。",
                "contact_phone": "13700001111",
            },
            content_type="application/json",
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
    assert answer.status_code == 201, answer.content
    assert Appeal.objects.filter(code=answer.json()["code"]).count() == 1


def test_vote_rate_counters_keep_counting_while_redis_is_unreachable() -> None:
    from minsheng.counters import hit_counters

    caches = {
        "default": {
            "BACKEND": "minsheng.cache.ResilientRedisCache",
            "LOCATION": REDIS_DOWN,
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    with override_settings(CACHES=caches):
        assert hit_counters(["ev:test:ip", "ev:test:device"], 60) == [1, 1]
        assert hit_counters(["ev:test:ip"], 60) == [2]
