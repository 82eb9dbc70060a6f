"""The 舆情 desk in a real Chromium: an analyst opens the event timeline from the event list,
reads the volume chart, then records a response on the task. Screenshots of the timeline at a
phone (390×844) and a desktop (1366×900) size land in test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from opinion import ingest as ingest_module
from opinion.models import Event, GazetteerTerm, ResponseTask
from opinion.tests.conftest import REPLIES
from tests.browser.conftest import PHONE, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture(autouse=True)
def _tasks_inline() -> Iterator[None]:
    from minsheng.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    ingest_module.forget_engine()
    ingest_module.forget_config()
    yield
    app.conf.task_always_eager = before
    ingest_module.forget_engine()
    ingest_module.forget_config()


@pytest.fixture
def stream(analyst: Any) -> Event:
    """A post that spreads over a few hours, with a burst of replies in the second hour."""
    for kind, term in (("place", "东湖区"), ("place", "柳岸社区"), ("sensitive", "打人")):
        GazetteerTerm.objects.create(kind=kind, term=term)
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    t0 = now - dt.timedelta(hours=5)
    ingest_module.ingest(
        [
            {
                "id": "w1",
                "time": t0,
                "text": "东湖区柳岸社区门口城管执法人员与摊贩发生冲突，有人说城管打人，"
                "现场视频在网上流传，希望有关部门说明情况。",
                "source": "weibo",
                "author": "柳岸居民老周",
                "reach": 8000,
                "url": "https://weibo.example/w1",
            }
        ],
        now=t0,
    )
    minutes = [20, 45, *range(65, 105), 150, 170, 200, 230, 260]
    ingest_module.ingest(
        [
            {
                "id": f"r{i}",
                "time": t0 + dt.timedelta(minutes=m),
                "text": f"{REPLIES[i % len(REPLIES)]}//@网友{i}",
                "source": "weibo",
                "author": f"网友{i}",
                "parent_id": "w1",
                "reach": 120,
            }
            for i, m in enumerate(minutes)
        ],
        now=t0 + dt.timedelta(hours=4, minutes=30),
    )
    ingest_module.ingest(
        [
            {
                "id": "n1",
                "time": t0 + dt.timedelta(minutes=270),
                "title": "东湖区回应柳岸社区执法冲突",
                "text": "东湖区柳岸社区门口城管执法冲突视频流传，城管打人说法引发关注，"
                "记者已联系东湖区城管部门。",
                "source": "news",
                "reach": 30000,
                "url": "https://news.example/n1",
            }
        ],
        now=t0 + dt.timedelta(minutes=270),
    )
    return Event.objects.get()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_an_analyst_reads_the_event_timeline_and_answers_the_task(
    open_tab: Any, analyst: Any, stream: Event, viewport: dict[str, int]
) -> None:
    tab = open_tab(viewport)
    tab.sign_in_as(analyst)
    tab.goto("/workbench/opinion/")
    tab.page.get_by_role("link", name=stream.title).click()
    page = tab.page
    expect(page.locator("h1")).to_contain_text(stream.title[:10])
    expect(page.locator("svg.op-chart").first).to_be_visible()
    alerted = page.evaluate("document.querySelectorAll('svg.op-chart rect.bar.alerted').length")
    assert alerted == 1, "the hour the alert rose is drawn in red"
    expect(page.get_by_role("heading", name="来源")).to_be_visible()
    # Nothing runs off the side of a phone.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"page is {overflow}px wider than the viewport"
    screenshot(page, "opinion-event-timeline")

    task = ResponseTask.objects.get()
    tab.goto(f"/workbench/opinion/tasks/{task.pk}/")
    expect(page.locator(".op-countdown")).to_contain_text("剩余")
    page.select_option("#id_kind", "explain")
    page.fill("#id_text", "已在官方微博发布情况说明，执法记录仪视频已调取。")
    page.locator("#action-form button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("已记录处置")
    expect(page.locator(".op-timeline")).to_contain_text("官方微博")
    screenshot(page, "opinion-task")
    tab.console.assert_clean()
    task.refresh_from_db()
    assert task.state == "answered"
