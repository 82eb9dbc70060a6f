"""Polling as a whole: backoff, isolation of failing sources, storing before ingesting, leases,
the admin's poll now, the celery task and the in-process scheduler."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from sources import scheduler, services, tasks
from sources.models import FetchLog, Kind, RawItem, Source
from sources.plugins import FETCHERS
from sources.plugins.base import Fetcher, FetchResult, Progress, SourceConfig
from sources.tests.conftest import fixture_bytes
from sources.tests.server import Reply, Site

RSS = {"Content-Type": "application/rss+xml"}
INLINE = {f"fetch_logs-{k}": v for k, v in {"TOTAL_FORMS": "0", "INITIAL_FORMS": "0"}.items()}


def test_failures_push_the_next_poll_later_exponentially_up_to_a_cap() -> None:
    delays = [services.backoff_delay(300, n).total_seconds() for n in range(8)]
    assert delays[:5] == [300, 600, 1200, 2400, 4800]
    assert delays[-1] == services.MAX_BACKOFF.total_seconds()
    assert services.backoff_delay(86_400, 3) == timedelta(days=1)  # never sooner than the interval


@pytest.mark.django_db
def test_a_failing_source_does_not_stop_the_others(site: Site) -> None:
    site.route("/rss", Reply(body=fixture_bytes("city.rss"), headers=RSS))
    site.route("/loop", Reply(302, headers={"Location": "/loop"}))
    broken = Source.objects.create(name="a-broken", kind=Kind.FEED, url=site.url("/loop"))
    good = Source.objects.create(name="b-good", kind=Kind.FEED, url=site.url("/rss"))
    logs = services.poll_due()
    assert {fl.source.name: fl.status for fl in logs} == {"a-broken": "error", "b-good": "ok"}
    assert FetchLog.objects.get(source=broken).error_reason == "redirect_loop"
    assert RawItem.objects.filter(source=good).count() == 2
    # The broken one is not due again at once; the good one waits its interval.
    assert services.due_sources(timezone.now()) == []


@pytest.mark.django_db
def test_a_source_backs_off_further_with_each_failure_and_recovers(site: Site) -> None:
    site.route("/rss", Reply(500, b"error"))
    source = Source.objects.create(name="flaky", kind=Kind.FEED, url=site.url("/rss"), interval=60)
    now = datetime(2024, 5, 1, tzinfo=UTC)
    for expected in (120, 240):
        services.poll_source(source, now=now)
        source.refresh_from_db()
        assert source.next_poll_at is not None
        assert (source.next_poll_at - now).total_seconds() == expected
    site.route("/rss", Reply(body=fixture_bytes("city.rss"), headers=RSS))
    services.poll_source(source, now=now)
    source.refresh_from_db()
    assert source.failures == 0 and source.last_error == ""
    assert source.next_poll_at is not None
    assert (source.next_poll_at - now).total_seconds() == 60


class ExplodingFetcher(Fetcher):
    """A plug-in with a bug: it raises something that is not a FetchError."""

    kind = "explode"

    def fetch(
        self, source: SourceConfig, state: Mapping[str, Any], *, progress: Progress | None = None
    ) -> FetchResult:
        raise KeyError("oops")


@pytest.mark.django_db
def test_a_plugin_bug_is_logged_as_internal_and_the_round_goes_on(monkeypatch: Any) -> None:
    monkeypatch.setitem(FETCHERS, "feed", ExplodingFetcher())
    Source.objects.create(name="bug", kind=Kind.FEED, url="http://127.0.0.1/")
    (fetch_log,) = services.poll_due()
    assert fetch_log.error_reason == "internal" and "KeyError" in fetch_log.error_message


@pytest.mark.django_db
def test_items_stay_stored_when_ingestion_fails_and_are_handed_on_later(site: Site) -> None:
    site.route("/rss", Reply(body=fixture_bytes("city.rss"), headers=RSS))
    source = Source.objects.create(name="news", kind=Kind.FEED, url=site.url("/rss"))
    items = services.FETCHERS["feed"].fetch(services.config_of(source), {}).items
    services.store_items(source, items)
    calls: list[list[dict[str, Any]]] = []

    def failing(items: list[dict[str, Any]]) -> None:
        raise RuntimeError("engine state is locked")

    def working(items: list[dict[str, Any]]) -> None:
        calls.append(items)

    assert services.ingest_pending(ingest=failing) == 0
    row = RawItem.objects.filter(source=source).first()
    assert row is not None and not row.ingested and row.ingest_attempts == 1
    assert "locked" in row.ingest_error
    assert services.ingest_pending(ingest=working) == 2
    assert RawItem.objects.pending().count() == 0
    handed = calls[0]
    assert [i["time"] for i in handed] == sorted(i["time"] for i in handed)
    assert isinstance(handed[0]["time"], datetime) and handed[0]["source"] == "news"


@pytest.mark.django_db
def test_a_source_being_polled_elsewhere_is_left_alone(site: Site) -> None:
    source = Source.objects.create(
        name="busy",
        kind=Kind.FEED,
        url=site.url("/rss"),
        lease_until=timezone.now() + timedelta(minutes=5),
    )
    assert services.poll_source(source) is None
    assert services.due_sources(timezone.now()) == []
    assert site.requests == []


@pytest.mark.django_db
def test_disabled_push_and_pathless_import_sources_are_not_polled(admin: Any) -> None:
    Source.objects.create(name="off", kind=Kind.FEED, url="http://127.0.0.1/", enabled=False)
    Source.objects.create(name="partner", kind=Kind.PUSH, partner=admin)
    Source.objects.create(name="uploads", kind=Kind.IMPORT)
    assert services.due_sources(timezone.now()) == []


@pytest.mark.django_db
def test_an_admin_polls_a_source_now_and_it_is_audited(
    site: Site, admin: Any, client_for: Any
) -> None:
    site.route("/rss", Reply(body=fixture_bytes("city.rss"), headers=RSS))
    source = Source.objects.create(
        name="news",
        kind=Kind.FEED,
        url=site.url("/rss"),
        next_poll_at=timezone.now() + timedelta(hours=1),
    )
    response = client_for(admin).post(
        "/admin/sources/source/", {"action": "poll_selected", "_selected_action": [source.pk]}
    )
    assert response.status_code == 302
    fetch_log = FetchLog.objects.get(source=source)
    assert fetch_log.trigger == "manual" and fetch_log.items_new == 2 and fetch_log.actor == admin
    assert AuditEntry.objects.filter(action="sources.poll_requested").exists()


@pytest.mark.django_db
def test_the_admin_shows_sources_and_their_fetch_log(admin: Any, client_for: Any) -> None:
    source = Source.objects.create(name="news", kind=Kind.FEED, url="http://127.0.0.1/rss")
    FetchLog.objects.create(
        source=source,
        trigger="schedule",
        status="error",
        error_reason="timeout",
        error_message="slow",
    )
    client = client_for(admin)
    assert "timeout" in client.get("/admin/sources/fetchlog/").content.decode()
    assert client.get(f"/admin/sources/source/{source.pk}/change/").status_code == 200


@pytest.mark.django_db
def test_a_section_without_an_article_pattern_is_refused_by_the_admin_form(
    admin: Any, client_for: Any
) -> None:
    response = client_for(admin).post(
        "/admin/sources/source/add/",
        {
            "name": "s",
            "kind": "section",
            "url": "http://127.0.0.1/list/",
            "interval": 900,
            "max_articles": 20,
            "enabled": "on",
            "field_map": "{}",
            **INLINE,
        },
    )
    assert response.status_code == 200
    assert "文章链接规则" in response.content.decode()
    assert not Source.objects.exists()


@pytest.mark.django_db
def test_a_source_added_in_the_admin_is_audited(admin: Any, client_for: Any) -> None:
    response = client_for(admin).post(
        "/admin/sources/source/add/",
        {
            "name": "city-news",
            "kind": "feed",
            "url": "http://127.0.0.1/rss",
            "interval": 900,
            "max_articles": 20,
            "enabled": "on",
            "field_map": "{}",
            **INLINE,
        },
    )
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="sources.source.created").exists()


@pytest.mark.django_db
def test_the_celery_task_polls_the_due_sources(site: Site) -> None:
    from minsheng.celery import app

    site.route("/rss", Reply(body=fixture_bytes("city.rss"), headers=RSS))
    Source.objects.create(name="news", kind=Kind.FEED, url=site.url("/rss"))
    # poll_due hands each source to poll_one; with a broker that is a queued task, so run the
    # queued work here as a worker would.
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        assert tasks.poll_due.apply().get() == 1
    finally:
        app.conf.task_always_eager = before
    assert RawItem.objects.count() == 2


def test_the_scheduler_starts_only_without_a_broker_and_when_asked(
    monkeypatch: Any, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    monkeypatch.delenv("MINSHENG_SOURCES_POLL", raising=False)
    assert scheduler.start() is None
    monkeypatch.setenv("MINSHENG_SOURCES_POLL", "true")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert scheduler.start() is None
    settings.CELERY_TASK_ALWAYS_EAGER = True
    thread = scheduler.start()
    assert thread is not None and thread.is_alive() and thread.daemon
    assert [job.task for job in thread.jobs] == ["sources.poll_due"]
    thread.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.mark.django_db
def test_the_poll_command_names_each_source_and_fails_when_one_failed(
    site: Site, capsys: Any
) -> None:
    from django.core.management import CommandError, call_command

    site.route("/rss", Reply(body=fixture_bytes("city.rss"), headers=RSS))
    site.route("/loop", Reply(302, headers={"Location": "/loop"}))
    Source.objects.create(name="news", kind=Kind.FEED, url=site.url("/rss"))
    Source.objects.create(name="loop", kind=Kind.FEED, url=site.url("/loop"))
    call_command("sources", "poll", "--source", "news")
    assert "news: ok, 2 item(s), 2 new" in capsys.readouterr().out
    with pytest.raises(CommandError, match="1 of 2 source"):
        call_command("sources", "poll", "--all")
    out = capsys.readouterr().out
    assert "loop: error" in out and "redirect_loop" in out
