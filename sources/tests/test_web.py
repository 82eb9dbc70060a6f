"""Web pages and site sections, served from the real raw pages of ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from sources import services
from sources.models import FetchLog, Kind, RawItem, Source
from sources.plugins.base import FetchError, SourceConfig
from sources.plugins.web import PageFetcher, SectionFetcher, article_links
from sources.tests.server import Reply, Seen, Site

HTML = {"Content-Type": "text/html; charset=utf-8"}


def _section_page(links: list[str]) -> bytes:
    anchors = "\n".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    return f"<html><head><meta charset='utf-8'><title>要闻</title></head><body><ul>{anchors}</ul></body></html>".encode()


def test_a_real_article_page_is_extracted_through_textkit(site: Site, pages: Path) -> None:
    site.route(
        "/a.html", Reply(body=(pages / "article_xinhuanet_1.html").read_bytes(), headers=HTML)
    )
    result = PageFetcher().fetch(SourceConfig("xinhua", "page", url=site.url("/a.html")), {})
    (item,) = result.items
    assert item["title"] == "法国全国大罢工再次严重影响交通"
    assert "罢工" in item["text"]
    assert "新华网" not in item["text"].splitlines()[-1]  # site furniture is dropped
    assert item["time"].year == 2019 and item["time"].tzinfo is not None
    assert item["url"] == site.url("/a.html")


def test_a_page_lying_about_its_charset_is_read_by_its_bytes(site: Site, pages: Path) -> None:
    # Real page re-encoded as GB18030, while the header claims UTF-8 and the meta gb2312.
    text = (pages / "article_163_9.html").read_text(encoding="utf-8")
    site.route("/gbk.html", Reply(body=text.encode("gb18030"), headers=HTML))
    (item,) = PageFetcher().fetch(SourceConfig("163", "page", url=site.url("/gbk.html")), {}).items
    assert "京沪高速" in item["title"]
    assert "\ufffd" not in item["text"]


def test_a_page_whose_text_changes_gives_a_new_item(site: Site, pages: Path) -> None:
    bodies = iter(
        [
            (pages / "article_xinhuanet_1.html").read_bytes(),
            (pages / "article_xinhuanet_1.html").read_bytes(),
            (pages / "article_zyyfy_1.html").read_bytes(),
        ]
    )
    site.route("/notice", lambda _seen: Reply(body=next(bodies), headers=HTML))
    config = SourceConfig("notice", "page", url=site.url("/notice"))
    first = PageFetcher().fetch(config, {})
    same = PageFetcher().fetch(config, first.state)
    changed = PageFetcher().fetch(config, same.state)
    assert len(first.items) == 1 and same.items == [] and len(changed.items) == 1
    assert changed.items[0]["id"] != first.items[0]["id"]


def test_a_page_that_is_not_html_is_refused_with_a_reason(site: Site) -> None:
    site.route(
        "/report.pdf", Reply(body=b"%PDF-1.4 ...", headers={"Content-Type": "application/pdf"})
    )
    with pytest.raises(FetchError) as caught:
        PageFetcher().fetch(SourceConfig("pdf", "page", url=site.url("/report.pdf")), {})
    assert caught.value.reason == "no_article"


def test_article_links_keep_the_same_host_and_the_pattern() -> None:
    html = _section_page(
        [
            "/news/1.html",
            "news/2.html#comments",
            "/about.html",
            "http://elsewhere.example/news/3.html",
            "/news/1.html",
        ]
    ).decode()
    links = article_links(html, "http://127.0.0.1:8000/list/", r"/news/\d+\.html$")
    assert links == ["http://127.0.0.1:8000/news/1.html", "http://127.0.0.1:8000/list/news/2.html"]


@pytest.mark.django_db
def test_a_section_fetches_each_matching_article_once(site: Site, pages: Path) -> None:
    site.route(
        "/list/",
        Reply(body=_section_page(["/news/1.html", "/news/2.html", "/about.html"]), headers=HTML),
    )
    site.route(
        "/news/1.html", Reply(body=(pages / "article_xinhuanet_1.html").read_bytes(), headers=HTML)
    )
    site.route(
        "/news/2.html", Reply(body=(pages / "article_thepaper_2.html").read_bytes(), headers=HTML)
    )
    source = Source.objects.create(
        name="city-list",
        kind=Kind.SECTION,
        url=site.url("/list/"),
        article_pattern=r"/news/\d+\.html$",
    )
    first = services.poll_source(source)
    assert first is not None and first.status == FetchLog.Status.OK and first.items_new == 2
    titles = sorted(r.payload["title"] for r in RawItem.objects.filter(source=source))
    assert (
        titles[0].startswith("定了！广州南沙邮轮母港")
        and titles[1] == "法国全国大罢工再次严重影响交通"
    )
    source.refresh_from_db()
    source.next_poll_at = None
    second = services.poll_source(source)
    assert second is not None and second.items_found == 0
    assert len(site.hits("/news/1.html")) == 1 and site.hits("/about.html") == []


def test_a_section_keeps_articles_over_the_limit_for_the_next_poll(site: Site, pages: Path) -> None:
    site.route(
        "/list/", Reply(body=_section_page([f"/news/{n}.html" for n in range(1, 4)]), headers=HTML)
    )
    for n in range(1, 4):
        site.route(
            f"/news/{n}.html",
            Reply(body=(pages / "article_xinhuanet_1.html").read_bytes(), headers=HTML),
        )
    config = SourceConfig(
        "list", "section", url=site.url("/list/"), article_pattern=r"/news/", max_articles=2
    )
    first = SectionFetcher().fetch(config, {})
    second = SectionFetcher().fetch(config, first.state)
    assert len(first.items) == 2 and first.state["pending"] == [site.url("/news/3.html")]
    assert len(second.items) == 1 and second.state["pending"] == []


def test_a_section_respects_robots_txt_for_its_articles(site: Site, pages: Path) -> None:
    site.route("/robots.txt", Reply(body=b"User-agent: *\nDisallow: /news/private/\n"))
    site.route(
        "/list/", Reply(body=_section_page(["/news/1.html", "/news/private/2.html"]), headers=HTML)
    )
    site.route(
        "/news/1.html", Reply(body=(pages / "article_xinhuanet_1.html").read_bytes(), headers=HTML)
    )
    site.route(
        "/news/private/2.html",
        Reply(body=(pages / "article_thepaper_2.html").read_bytes(), headers=HTML),
    )
    config = SourceConfig("list", "section", url=site.url("/list/"), article_pattern=r"/news/")
    result = SectionFetcher().fetch(config, {})
    assert len(result.items) == 1
    assert [p["reason"] for p in result.problems] == ["robots"]
    assert site.hits("/news/private/2.html") == []


def test_a_section_whose_page_robots_forbids_is_not_fetched(site: Site) -> None:
    site.route("/robots.txt", Reply(body=b"User-agent: minsheng\nDisallow: /\n"))
    site.route("/list/", Reply(body=_section_page(["/news/1.html"]), headers=HTML))
    with pytest.raises(FetchError) as caught:
        SectionFetcher().fetch(
            SourceConfig("list", "section", url=site.url("/list/"), article_pattern="news"), {}
        )
    assert caught.value.reason == "robots"
    assert site.hits("/list/") == []


def test_an_article_that_keeps_failing_is_given_up_after_three_tries(
    site: Site, pages: Path
) -> None:
    def section(_seen: Seen) -> Reply:
        return Reply(body=_section_page(["/news/gone.html"]), headers=HTML)

    site.route("/list/", section)
    config = SourceConfig("list", "section", url=site.url("/list/"), article_pattern=r"/news/")
    state: dict = {}
    for attempt in range(3):
        result = SectionFetcher().fetch(config, state)
        state = result.state
        assert result.problems[0]["reason"] == "http_error"
        assert result.problems[0]["gave_up"] is (attempt == 2)
    assert state["pending"] == [] and SectionFetcher().fetch(config, state).problems == []
