"""Fixtures for the 舆情 desk: a gazetteer, a post that goes viral (a burst of replies), helpers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from opinion import ingest as ingest_module
from opinion.models import GazetteerTerm

BEIJING = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2025, 10, 14, 8, 0, tzinfo=BEIJING)

REPLIES = (
    "太过分了，必须查清楚",
    "求真相",
    "希望官方尽快回应",
    "支持依法执法，但要文明",
    "视频里到底发生了什么",
    "已经第二次看到这种事了",
)


@pytest.fixture(autouse=True)
def _fresh_engine() -> Iterator[None]:
    """Each test starts from the database's engine state, never from a previous test's memory."""
    ingest_module.forget_engine()
    ingest_module.forget_config()
    yield
    ingest_module.forget_engine()
    ingest_module.forget_config()


@pytest.fixture(autouse=True)
def _tasks_inline() -> Iterator[None]:
    from minsheng.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def gazetteer(db: Any) -> None:
    for kind, term in (
        ("place", "东湖区"),
        ("place", "柳岸社区"),
        ("topic", "夜市噪音"),
        ("unit", "城管"),
        ("sensitive", "打人"),
    ):
        GazetteerTerm.objects.create(kind=kind, term=term)


def post(ident: str, minutes: float, text: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "time": T0 + dt.timedelta(minutes=minutes),
        "text": text,
        "source": extra.pop("source", "weibo"),
        **extra,
    }


def viral_post() -> dict[str, Any]:
    return post(
        "w1",
        0,
        "东湖区柳岸社区门口城管执法人员与摊贩发生冲突，有人说城管打人，现场视频在网上流传",
        reach=5000,
        author="柳岸居民",
        url="https://weibo.example/w1",
    )


def replies(n: int = 40, *, start: float = 1.0, prefix: str = "r") -> list[dict[str, Any]]:
    return [
        post(
            f"{prefix}{i}",
            start + i,
            f"{REPLIES[i % len(REPLIES)]}//@网友{i}",
            parent_id="w1",
            reach=100,
            author=f"网友{i}",
        )
        for i in range(n)
    ]


@pytest.fixture
def run_ingest(
    django_capture_on_commit_callbacks: Any,
) -> Callable[..., ingest_module.IngestResult]:
    """ingest() with the after-commit work (notifications) run as a real commit would."""

    def run(items: list[dict[str, Any]], **kwargs: Any) -> ingest_module.IngestResult:
        with django_capture_on_commit_callbacks(execute=True):
            return ingest_module.ingest(items, **kwargs)

    return run


@pytest.fixture
def alerted(
    gazetteer: None, analyst: Any, run_ingest: Callable[..., Any]
) -> ingest_module.IngestResult:
    """The viral post, then forty replies within forty minutes: a burst with a sensitive term."""
    run_ingest([viral_post()], now=T0)
    return run_ingest(replies(), now=T0 + dt.timedelta(minutes=41))
