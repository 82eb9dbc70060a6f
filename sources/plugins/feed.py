"""RSS and Atom feeds (feedparser), fetched with a conditional GET.

The saved state keeps the feed's ETag and Last-Modified; a 304 answer means nothing new and costs
the site almost nothing. Entries already seen (by guid, else link) are not returned again.
"""

from __future__ import annotations

import calendar
import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser

from sources import http
from sources.plugins.base import (
    Fetcher,
    FetchError,
    FetchResult,
    ItemDict,
    Progress,
    SourceConfig,
    remember,
    stable_id,
)

_TAG_RE = re.compile(r"<[^>]+>")
_SPACE_RE = re.compile(r"[ \t\r\f\v]+")


def conditional_headers(state: Mapping[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    if state.get("etag"):
        headers["If-None-Match"] = str(state["etag"])
    if state.get("last_modified"):
        headers["If-Modified-Since"] = str(state["last_modified"])
    return headers


def validators(resp: http.Response) -> dict[str, str]:
    """The ETag and Last-Modified to send next time (empty ones are dropped)."""
    out = {"etag": resp.header("etag"), "last_modified": resp.header("last-modified")}
    return {k: v for k, v in out.items() if v}


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment from a feed: tags dropped, entities read, blocks as lines."""
    marked = re.sub(r"(?i)<\s*(br|/p|/div|/li|/h[1-6])\b[^>]*>", "\n", fragment)
    text = html.unescape(_TAG_RE.sub("", marked))
    lines = (_SPACE_RE.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _entry_time(entry: Any, fallback: datetime) -> datetime:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    return fallback


def _entry_text(entry: Any) -> str:
    for content in entry.get("content") or []:
        if content.get("value"):
            return html_to_text(content["value"])
    return html_to_text(entry.get("summary") or entry.get("description") or "")


class FeedFetcher(Fetcher):
    kind = "feed"

    def fetch(
        self, source: SourceConfig, state: Mapping[str, Any], *, progress: Progress | None = None
    ) -> FetchResult:
        if not source.url:
            raise FetchError("bad_config", "a feed source needs its feed address")
        if not http.robots_allows(source.url):
            raise FetchError(
                "robots", f"robots.txt of {http.host_of(source.url)} forbids {source.url}"
            )
        resp = http.get(source.url, headers=conditional_headers(state))
        if resp.status == 304:
            return FetchResult([], dict(state), not_modified=True, http_status=304)
        if resp.status != 200:
            raise FetchError("http_error", f"{resp.url} answered {resp.status}", status=resp.status)
        parsed = feedparser.parse(
            resp.body, response_headers={"content-type": resp.header("content-type")}
        )
        if parsed.bozo and not parsed.entries:
            problem = getattr(parsed, "bozo_exception", None)
            raise FetchError(
                "malformed", f"{resp.url} is not a readable RSS or Atom feed: {problem}"
            )
        if not parsed.entries and not parsed.feed:
            raise FetchError("malformed", f"{resp.url} holds no feed")
        now = datetime.now(tz=UTC)
        seen = set(state.get("seen", []))
        items: list[ItemDict] = []
        problems: list[dict[str, Any]] = []
        if parsed.bozo:
            problems.append(
                {
                    "where": resp.url,
                    "reason": "malformed",
                    "message": f"feed read despite an error: {getattr(parsed, 'bozo_exception', '')}",
                }
            )
        for entry in parsed.entries:
            key = entry.get("id") or entry.get("link") or ""
            if not key:
                title = entry.get("title") or ""
                key = f"{title}|{entry.get('published') or entry.get('updated') or ''}"
            item_id = stable_id("feed", key)
            if item_id in seen:
                continue
            title = html_to_text(entry.get("title") or "")
            text = _entry_text(entry) or title
            if not text:
                continue
            items.append(
                ItemDict(
                    id=item_id,
                    time=_entry_time(entry, now),
                    text=text,
                    title=title,
                    source=source.name,
                    url=entry.get("link") or "",
                    author=entry.get("author") or "",
                    parent_id=None,
                    reach=0,
                )
            )
        new_state = {**state, **validators(resp), "seen": remember(state, [i["id"] for i in items])}
        if not resp.header("etag"):
            new_state.pop("etag", None)
        if not resp.header("last-modified"):
            new_state.pop("last_modified", None)
        return FetchResult(items, new_state, http_status=resp.status, problems=problems)
