"""The polite HTTP client against a real local server: limits, retries, redirects, robots."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from sources import http
from sources.plugins.base import FetchError
from sources.tests.server import Reply, Seen, Site


def test_the_user_agent_names_minsheng(site: Site) -> None:
    site.route("/", Reply(body=b"ok"))
    http.get(site.url("/"))
    assert "minsheng" in site.hits("/")[0].headers["user-agent"]


def test_a_redirect_loop_is_named_and_stops(site: Site) -> None:
    site.route("/a", Reply(302, headers={"Location": "/b"}))
    site.route("/b", Reply(301, headers={"Location": "/a"}))
    with pytest.raises(FetchError) as caught:
        http.get(site.url("/a"))
    assert caught.value.reason == "redirect_loop"
    assert "/a" in caught.value.message and "/b" in caught.value.message
    assert len(site.requests) == 2


def test_a_redirect_is_followed_to_the_final_address(site: Site) -> None:
    site.route("/old", Reply(301, headers={"Location": "/new"}))
    site.route("/new", Reply(body=b"here"))
    resp = http.get(site.url("/old"))
    assert resp.status == 200 and resp.body == b"here"
    assert resp.url == site.url("/new")


def test_too_many_redirects_are_refused(site: Site) -> None:
    for n in range(10):
        site.route(f"/r{n}", Reply(302, headers={"Location": f"/r{n + 1}"}))
    with pytest.raises(FetchError) as caught:
        http.get(site.url("/r0"))
    assert caught.value.reason == "redirect_loop"
    assert "more than" in caught.value.message


def test_a_page_announcing_more_than_the_byte_limit_is_refused(site: Site, settings: Any) -> None:
    settings.SOURCES_HTTP = {**settings.SOURCES_HTTP, "max_bytes": 10_000}
    site.route("/huge", Reply(body=b"x" * 50_000))
    with pytest.raises(FetchError) as caught:
        http.get(site.url("/huge"))
    assert caught.value.reason == "too_large"
    assert "10000" in caught.value.message


def test_a_huge_page_without_a_length_is_cut_off_at_the_byte_limit(
    site: Site, settings: Any
) -> None:
    settings.SOURCES_HTTP = {**settings.SOURCES_HTTP, "max_bytes": 100_000}
    site.route("/stream", Reply(body=b"y" * 5_000_000, length=False))
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        http.get(site.url("/stream"))
    assert caught.value.reason == "too_large"
    assert "cut off" in caught.value.message
    assert time.monotonic() - started < 3


def test_a_server_that_does_not_answer_in_time_is_a_timeout(site: Site, settings: Any) -> None:
    settings.SOURCES_HTTP = {**settings.SOURCES_HTTP, "timeout": 0.5, "retries": 0}
    site.route("/slow", Reply(body=b"late", delay=2.0))
    with pytest.raises(FetchError) as caught:
        http.get(site.url("/slow"))
    assert caught.value.reason == "timeout"


def test_a_body_trickling_past_the_total_time_is_a_timeout(site: Site, settings: Any) -> None:
    # Each chunk arrives well within the read timeout; only the total limit catches this.
    settings.SOURCES_HTTP = {**settings.SOURCES_HTTP, "timeout": 1.0, "retries": 0}
    site.route("/drip", Reply(body=b"z" * 40 * 1024, trickle=0.1))
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        http.get(site.url("/drip"))
    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < 2.5


def test_a_server_error_is_retried_with_backoff_then_succeeds(site: Site) -> None:
    answers = iter([Reply(500, b"oops"), Reply(503, b"busy"), Reply(body=b"fine")])
    site.route("/flaky", lambda _seen: next(answers))
    resp = http.get(site.url("/flaky"))
    assert resp.body == b"fine"
    times = [s.at for s in site.hits("/flaky")]
    assert len(times) == 3
    # backoff 0.05 then 0.1 (each plus up to half again of jitter)
    assert times[1] - times[0] >= 0.05 and times[2] - times[1] >= 0.1


def test_a_server_error_that_persists_fails_after_the_retries(site: Site) -> None:
    site.route("/down", Reply(502, b"bad gateway"))
    with pytest.raises(FetchError) as caught:
        http.get(site.url("/down"))
    assert caught.value.reason == "http_error" and caught.value.status == 502
    assert len(site.hits("/down")) == 3


def test_a_client_error_is_returned_not_retried(site: Site) -> None:
    resp = http.get(site.url("/missing"))
    assert resp.status == 404
    assert len(site.requests) == 1


def test_an_unreachable_host_is_reported_as_unreachable(settings: Any) -> None:
    settings.SOURCES_HTTP = {**settings.SOURCES_HTTP, "retries": 1}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        http.get(f"http://127.0.0.1:{port}/")
    assert caught.value.reason == "unreachable"


def test_requests_to_one_host_keep_the_minimum_interval(site: Site, settings: Any) -> None:
    settings.SOURCES_HTTP = {**settings.SOURCES_HTTP, "host_interval": 0.3}
    site.route("/", Reply(body=b"ok"))
    # Judged on the client's clock: the server's receipt times can bunch up when a loaded
    # machine delays the first request, but three calls can never finish in under two intervals.
    started = time.monotonic()
    for _ in range(3):
        http.get(site.url("/"))
    assert time.monotonic() - started >= 0.58
    assert len(site.hits("/")) == 3


def test_the_host_interval_is_shared_through_the_cache(site: Site, settings: Any) -> None:
    # Another process (sharing the cache) has just called this host: we wait for our turn.
    from django.core.cache import cache

    settings.SOURCES_HTTP = {**settings.SOURCES_HTTP, "host_interval": 5.0}
    cache.set(f"sources:host:{http.host_of(site.base)}:next", time.time() + 0.4, 60)
    site.route("/", Reply(body=b"ok"))
    started = time.monotonic()
    http.get(site.url("/"))
    assert time.monotonic() - started >= 0.35


def test_robots_txt_disallow_is_respected_and_read_once_per_host(site: Site) -> None:
    site.route("/robots.txt", Reply(body=b"User-agent: minsheng\nDisallow: /private/\n"))
    assert http.robots_allows(site.url("/news/1.html"))
    assert not http.robots_allows(site.url("/private/2.html"))
    assert http.robots_allows(site.url("/news/3.html"))
    assert len(site.hits("/robots.txt")) == 1


def test_a_missing_robots_txt_allows_everything(site: Site) -> None:
    assert http.robots_allows(site.url("/anything"))


def test_a_robots_txt_that_fails_with_5xx_allows_nothing_for_now(site: Site) -> None:
    site.route("/robots.txt", Reply(500, b"error"))
    assert not http.robots_allows(site.url("/news/1.html"))


def test_only_http_addresses_are_fetched() -> None:
    with pytest.raises(FetchError) as caught:
        http.get("file:///etc/passwd")
    assert caught.value.reason == "bad_config"


def test_a_request_log_records_conditional_headers(site: Site) -> None:
    seen: list[Seen] = []

    def handler(request: Seen) -> Reply:
        seen.append(request)
        return Reply(304)

    site.route("/feed", handler)
    resp = http.get(site.url("/feed"), headers={"If-None-Match": '"v1"'})
    assert resp.status == 304
    assert seen[0].headers["if-none-match"] == '"v1"'
