"""Web pages and site sections, read as articles through ``textkit.clean``.

* ``page``: one address polled on its interval. When its article text changes, the new text is a
  new item (the id covers the address and a digest of the text), so an edited notice is seen.
* ``section``: a list page (a news column, a forum board). Links on it to the same host whose
  address matches the source's ``article_pattern`` are articles; each new one is fetched once and
  becomes an item. Links not yet fetched (over ``max_articles`` per poll, or failed) are kept in
  the state and taken first next time; an article that fails three times is given up.

Both respect robots.txt, send a conditional GET, and decode by the bytes (``sources.encoding``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urldefrag, urlsplit

import lxml.html

from sources import http
from sources.encoding import decode_page
from sources.plugins.base import (
    BEIJING,
    Fetcher,
    FetchError,
    FetchResult,
    ItemDict,
    Progress,
    SourceConfig,
    parse_time,
    remember,
    stable_id,
)
from sources.plugins.feed import conditional_headers, validators

PENDING_LIMIT = 500
ARTICLE_TRIES = 3
_HTMLISH = ("html", "xml", "text/plain")


def _check_html(resp: http.Response) -> None:
    kind = resp.header("content-type").lower()
    if kind and not any(part in kind for part in _HTMLISH):
        raise FetchError("no_article", f"{resp.url} is {kind}, not a web page")


def read_article(url: str, source_name: str) -> tuple[ItemDict, str]:
    """Fetch one article page; return the item (id from the address) and the text digest."""
    if not http.robots_allows(url):
        raise FetchError("robots", f"robots.txt of {http.host_of(url)} forbids {url}")
    resp = http.get(url)
    if resp.status != 200:
        raise FetchError("http_error", f"{resp.url} answered {resp.status}", status=resp.status)
    return article_item(resp, source_name)


def article_item(
    resp: http.Response, source_name: str, *, prefix: str = "web"
) -> tuple[ItemDict, str]:
    from textkit.clean import InputError, clean_page

    _check_html(resp)
    decoded = decode_page(resp.body, resp.header("content-type"), url=resp.url)
    try:
        page = clean_page(decoded.text, filename=resp.url)
    except InputError as exc:
        raise FetchError("no_article", f"{resp.url}: {exc}") from exc
    text = "\n".join(page.paragraphs).strip()
    if not text:
        raise FetchError("no_article", f"{resp.url}: no article paragraphs found")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    item = ItemDict(
        id=stable_id(prefix, resp.url),
        time=_page_time(page.date, resp.header("last-modified")),
        text=text,
        title=page.title or "",
        source=source_name,
        url=resp.url,
        author=page.author or "",
        parent_id=None,
        reach=0,
    )
    return item, digest


def _page_time(date: str | None, last_modified: str) -> datetime:
    now = datetime.now(tz=UTC)
    if date:
        try:
            when = parse_time(date)
        except ValueError:
            when = None
        if when is not None and when <= now:
            # A bare date of today says "today", not "midnight": the fetch time is closer.
            bare = re.fullmatch(r"\d{4}-\d{2}-\d{2}", date.strip()) is not None
            if bare and when.date() == now.astimezone(BEIJING).date():
                return now
            return when
    if last_modified:
        from email.utils import parsedate_to_datetime

        try:
            return parsedate_to_datetime(last_modified).astimezone(UTC)
        except (TypeError, ValueError):
            pass
    return now


class PageFetcher(Fetcher):
    kind = "page"

    def fetch(
        self, source: SourceConfig, state: Mapping[str, Any], *, progress: Progress | None = None
    ) -> FetchResult:
        if not source.url:
            raise FetchError("bad_config", "a web page source needs the page address")
        if not http.robots_allows(source.url):
            raise FetchError(
                "robots", f"robots.txt of {http.host_of(source.url)} forbids {source.url}"
            )
        resp = http.get(source.url, headers=conditional_headers(state))
        if resp.status == 304:
            return FetchResult([], dict(state), not_modified=True, http_status=304)
        if resp.status != 200:
            raise FetchError("http_error", f"{resp.url} answered {resp.status}", status=resp.status)
        item, digest = article_item(resp, source.name)
        new_state = {**validators(resp), "digest": digest}
        if state.get("digest") == digest:
            return FetchResult([], new_state, http_status=200)
        # The same address with new text is a new item: the id covers the text too.
        item["id"] = stable_id("web", f"{resp.url}#{digest}")
        return FetchResult([item], new_state, http_status=200)


def article_links(html_text: str, base_url: str, pattern: str) -> list[str]:
    """Absolute addresses of the links on a section page that are articles: same host as the
    section, matching ``pattern``, in page order, without fragments or repeats."""
    try:
        doc = lxml.html.fromstring(html_text, base_url=base_url)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise FetchError("malformed", f"{base_url} cannot be parsed as HTML: {exc}") from exc
    doc.make_links_absolute(base_url, handle_failures="discard")
    host = http.host_of(base_url)
    wanted = re.compile(pattern)
    out: list[str] = []
    for element, attribute, link, _pos in doc.iterlinks():
        if element.tag != "a" or attribute != "href":
            continue
        url, _fragment = urldefrag(link)
        if urlsplit(url).scheme not in {"http", "https"} or http.host_of(url) != host:
            continue
        if url == base_url or url in out or not wanted.search(url):
            continue
        out.append(url)
    return out


class SectionFetcher(Fetcher):
    kind = "section"

    def fetch(
        self, source: SourceConfig, state: Mapping[str, Any], *, progress: Progress | None = None
    ) -> FetchResult:
        if not source.url or not source.article_pattern:
            raise FetchError(
                "bad_config", "a site section needs the section address and an article pattern"
            )
        try:
            re.compile(source.article_pattern)
        except re.error as exc:
            raise FetchError(
                "bad_config", f"the article pattern is not a valid regex: {exc}"
            ) from exc
        if not http.robots_allows(source.url):
            raise FetchError(
                "robots", f"robots.txt of {http.host_of(source.url)} forbids {source.url}"
            )
        resp = http.get(source.url, headers=conditional_headers(state))
        new_state: dict[str, Any] = dict(state)
        seen = set(state.get("seen", []))
        pending: list[str] = list(state.get("pending", []))
        if resp.status == 200:
            _check_html(resp)
            decoded = decode_page(resp.body, resp.header("content-type"), url=resp.url)
            for link in article_links(decoded.text, resp.url, source.article_pattern):
                if stable_id("web", link) not in seen and link not in pending:
                    pending.append(link)
            new_state.update(validators(resp))
        elif resp.status != 304:
            raise FetchError("http_error", f"{resp.url} answered {resp.status}", status=resp.status)
        tries: dict[str, int] = dict(state.get("tries", {}))
        items: list[ItemDict] = []
        problems: list[dict[str, Any]] = []
        done: list[str] = []
        batch = pending[: max(1, source.max_articles)]
        for number, link in enumerate(batch, 1):
            if progress is not None:
                progress(number, len(batch))
            try:
                item, _digest = read_article(link, source.name)
            except FetchError as exc:
                tries[link] = tries.get(link, 0) + 1
                gave_up = tries[link] >= ARTICLE_TRIES
                problems.append(
                    {
                        "where": link,
                        "reason": exc.reason,
                        "message": exc.message,
                        "gave_up": gave_up,
                    }
                )
                if gave_up:
                    done.append(link)
                continue
            items.append(item)
            done.append(link)
        finished = set(done)
        new_state["pending"] = [p for p in pending if p not in finished][:PENDING_LIMIT]
        new_state["tries"] = {k: v for k, v in tries.items() if k not in finished}
        new_state["seen"] = remember(state, [stable_id("web", link) for link in done])
        return FetchResult(
            items,
            new_state,
            not_modified=resp.status == 304 and not items,
            http_status=resp.status,
            problems=problems,
        )
