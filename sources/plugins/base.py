"""The one small interface every source plug-in implements, and the item it produces.

A plug-in is a ``Fetcher``: given a source's configuration (``SourceConfig``, a plain snapshot
of the ``Source`` row, so plug-ins never touch the ORM) and its saved ``state`` (ETag,
Last-Modified, a cursor, the ids already seen), ``fetch`` returns the new items and the new
state, or raises ``FetchError`` with a reason from ``REASONS``. The caller (``sources.services``)
stores the items, saves the state, writes the fetch log and moves the source's next poll; a
plug-in never decides any of that.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypedDict
from zoneinfo import ZoneInfo

# Why a fetch failed. Stable codes: they are stored on the fetch log and shown in the admin.
REASONS: dict[str, str] = {
    "unreachable": "the host could not be reached (DNS, refused or reset connection)",
    "timeout": "no complete answer within the time limit",
    "too_large": "the answer is larger than the byte limit",
    "redirect_loop": "redirects loop or are too many",
    "http_error": "the server answered with an error status",
    "bad_encoding": "the bytes do not decode in any likely encoding",
    "malformed": "the feed or file cannot be parsed",
    "robots": "robots.txt forbids fetching this address",
    "no_article": "no article text could be extracted",
    "bad_config": "the source is not configured correctly",
    "file_missing": "the import file cannot be read",
    "internal": "an unexpected error in the plug-in (logged with its traceback)",
}

# How many ids a source remembers as seen; older ones are forgotten (the raw store dedupes too).
SEEN_LIMIT = 2000


class FetchError(Exception):
    """A fetch that failed for a reason a person can act on. ``reason`` is a key of REASONS."""

    def __init__(self, reason: str, message: str, *, status: int | None = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown fetch error reason {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


class ItemDict(TypedDict):
    """One post or article as handed to ``opinion.ingest.ingest``. ``time`` is aware."""

    id: str
    time: datetime
    text: str
    title: str
    source: str
    url: str
    author: str
    parent_id: str | None
    reach: int


@dataclass(frozen=True)
class SourceConfig:
    """What a plug-in may know about its source: a snapshot, not the model row."""

    name: str
    kind: str
    url: str = ""
    path: str = ""
    article_pattern: str = ""
    max_articles: int = 20
    field_map: Mapping[str, str] = field(default_factory=dict)
    file_format: str = ""


@dataclass
class FetchResult:
    items: list[ItemDict]
    state: dict[str, Any]
    not_modified: bool = False
    http_status: int | None = None
    # Things that went wrong without failing the fetch: a skipped bad line, one article of a
    # section that could not be read. Each {"where": …, "reason": …, "message": …}.
    problems: list[dict[str, Any]] = field(default_factory=list)


Progress = Callable[[int, int | None], None]


class Fetcher(ABC):
    """A source plug-in. Subclasses set ``kind`` and implement ``fetch``."""

    kind: ClassVar[str]

    @abstractmethod
    def fetch(
        self, source: SourceConfig, state: Mapping[str, Any], *, progress: Progress | None = None
    ) -> FetchResult:
        """Fetch what is new since ``state``. Raises FetchError; never another exception for a
        problem of the remote side or of the input."""


def stable_id(prefix: str, key: str) -> str:
    """An item id that stays the same across polls: ``prefix:`` + 20 hex of SHA-1 of ``key``."""
    return f"{prefix}:{hashlib.sha1(key.encode('utf-8'), usedforsecurity=False).hexdigest()[:20]}"


def remember(state: Mapping[str, Any], ids: list[str]) -> list[str]:
    """The seen-id list of ``state`` with ``ids`` added, newest last, at most SEEN_LIMIT long."""
    new = set(ids)
    seen = [s for s in state.get("seen", []) if s not in new]
    return [*seen, *ids][-SEEN_LIMIT:]


# --- times --------------------------------------------------------------------------------------
BEIJING = ZoneInfo("Asia/Shanghai")
_CN_DATE_RE = re.compile(
    r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*$"
)


def parse_time(value: Any) -> datetime:
    """An aware datetime from what exports and pages carry: a datetime, epoch seconds or
    milliseconds, ISO 8601, ``2024-05-01 08:30[:00]``, ``2024/5/1 8:30``, ``2024年5月1日 08:30``.
    A time without a zone is Beijing time. Raises ValueError with a sentence otherwise."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=BEIJING)
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a time")
    if isinstance(value, int | float) or (isinstance(value, str) and _EPOCH_RE.match(value)):
        number = float(value)
        if number > 1e11:  # milliseconds: seconds this large are after the year 5000
            number /= 1000
        if not 0 < number < 1e11:
            raise ValueError(f"{value!r} is not a plausible epoch time")
        return datetime.fromtimestamp(number, tz=UTC)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("the time is missing")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        match = _CN_DATE_RE.match(text)
        if not match:
            raise ValueError(
                f"{text!r} is not a time like 2024-05-01T08:30:00+08:00 or 2024-05-01 08:30"
            ) from None
        y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
        try:
            parsed = datetime(y, mo, d, h, mi, s)  # noqa: DTZ001 (zone added just below)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a real date: {exc}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=BEIJING)


_EPOCH_RE = re.compile(r"^\s*\d{9,13}(\.\d+)?\s*$")
