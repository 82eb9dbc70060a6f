"""RSS and Atom sources against a local server: items, conditional GET, malformed feeds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sources import services
from sources.models import FetchLog, Kind, RawItem, Source
from sources.plugins.base import FetchError, SourceConfig
from sources.plugins.feed import FeedFetcher
from sources.tests.conftest import fixture_bytes
from sources.tests.server import Reply, Seen, Site

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def test_an_rss_feed_gives_one_item_per_entry_with_aware_times(site: Site) -> None:
    site.route("/rss", Reply(body=fixture_bytes("city.rss"), headers=RSS))
    result = FeedFetcher().fetch(SourceConfig("city-news", "feed", url=site.url("/rss")), {})
    assert [i["title"] for i in result.items] == [
        "东华街道老旧小区加装电梯启动",
        "滨江路夜间施工噪音扰民 居民投诉",
    ]
    first = result.items[0]
    assert first["time"] == datetime(2024, 5, 6, 0, 30, tzinfo=UTC)
    assert first["text"] == "东华街道今天启动老旧小区加装电梯工作。\n首批 12 个单元。"
    assert first["source"] == "city-news" and first["url"] == "http://127.0.0.1/news/1.html"
    assert first["id"].startswith("feed:")
    assert first["id"] != result.items[1]["id"]


def test_an_atom_feed_is_read_too(site: Site) -> None:
    site.route(
        "/atom",
        Reply(body=fixture_bytes("city.atom"), headers={"Content-Type": "application/atom+xml"}),
    )
    result = FeedFetcher().fetch(SourceConfig("notices", "feed", url=site.url("/atom")), {})
    (item,) = result.items
    assert item["text"] == "自 5 月 10 日起，公交 12 路改经东华路。"
    assert item["author"] == "市交通运输局"
    assert item["time"] == datetime(2024, 5, 8, 2, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_second_poll_sends_the_etag_and_a_304_means_nothing_new(site: Site) -> None:
    def feed(request: Seen) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(304)
        return Reply(
            body=fixture_bytes("city.rss"),
            headers={**RSS, "ETag": '"v1"', "Last-Modified": "Tue, 07 May 2024 14:10:00 GMT"},
        )

    site.route("/rss", feed)
    source = Source.objects.create(name="city-news", kind=Kind.FEED, url=site.url("/rss"))
    first = services.poll_source(source)
    assert first is not None and first.status == FetchLog.Status.OK and first.items_new == 2
    source.refresh_from_db()
    assert source.state["etag"] == '"v1"'
    source.next_poll_at = None
    second = services.poll_source(source)
    assert second is not None and second.status == FetchLog.Status.NOT_MODIFIED
    assert second.http_status == 304 and second.items_found == 0
    later = site.hits("/rss")[-1].headers
    assert later["if-none-match"] == '"v1"'
    assert later["if-modified-since"] == "Tue, 07 May 2024 14:10:00 GMT"
    assert RawItem.objects.filter(source=source).count() == 2


def test_entries_already_seen_are_not_returned_again(site: Site) -> None:
    site.route("/rss", Reply(body=fixture_bytes("city.rss"), headers=RSS))
    config = SourceConfig("city-news", "feed", url=site.url("/rss"))
    first = FeedFetcher().fetch(config, {})
    again = FeedFetcher().fetch(config, first.state)
    assert len(first.items) == 2 and again.items == []


def test_a_malformed_feed_is_a_clear_error(site: Site) -> None:
    site.route(
        "/rss", Reply(body=fixture_bytes("broken.rss"), headers={"Content-Type": "text/html"})
    )
    with pytest.raises(FetchError) as caught:
        FeedFetcher().fetch(SourceConfig("bad", "feed", url=site.url("/rss")), {})
    assert caught.value.reason == "malformed"


@pytest.mark.django_db
def test_a_malformed_feed_is_logged_against_the_source_which_backs_off(site: Site) -> None:
    site.route(
        "/rss", Reply(body=fixture_bytes("broken.rss"), headers={"Content-Type": "text/html"})
    )
    source = Source.objects.create(name="bad", kind=Kind.FEED, url=site.url("/rss"), interval=600)
    now = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    fetch_log = services.poll_source(source, now=now)
    assert fetch_log is not None
    assert fetch_log.status == FetchLog.Status.ERROR and fetch_log.error_reason == "malformed"
    source.refresh_from_db()
    assert source.failures == 1
    assert source.next_poll_at == now + services.backoff_delay(600, 1)
    assert (source.next_poll_at - now).total_seconds() == 1200
    assert source.last_error.startswith("malformed")
