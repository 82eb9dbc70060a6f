"""The engine's data types: items in, outcomes, event summaries and alerts out.

Times are aware datetimes at the interface; inside the engine they are POSIX seconds ("stream
time": the items' own time, never the wall clock).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

# The four grades of 政务舆情 alerts, lowest first. Plain Chinese constants: the engine is
# Django-free, so the desk translates them for display (see docs/opinion-engine.md).
GRADES: tuple[str, ...] = ("一般", "较大", "重大", "特别重大")
GRADE_RANK: dict[str, int] = {g: i for i, g in enumerate(GRADES)}

BEIJING = timezone(timedelta(hours=8), "CST")
POLARITIES: tuple[str, ...] = ("negative", "neutral", "positive")


def to_seconds(t: datetime) -> float:
    if t.tzinfo is None:
        raise ValueError(f"naive datetime {t.isoformat()} has no time zone")
    return t.timestamp()


def to_datetime(seconds: float, tz: timezone = BEIJING) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).astimezone(tz)


@dataclass
class Item:
    """One post, comment, repost or article. ``time`` must be aware."""

    id: str
    time: datetime
    text: str
    source: str = ""
    url: str = ""
    author: str = ""
    parent_id: str | None = None
    reach: int = 0


@dataclass
class AlertRecord:
    """An alert raised at stream time ``time`` on an event.

    ``kind`` is "event" (the event's own growth, negativity, reach or sensitive terms crossed a
    grade rule) or "keyword" (a keyword burst across events; ``keyword`` names it and
    ``event_id`` is the event that carried most of the keyword's recent items).
    ``reason`` is a Chinese sentence for the analyst; ``features`` the figures behind it.
    """

    time: datetime
    event_id: str
    grade: str
    reason: str
    kind: str = "event"
    keyword: str | None = None
    item_id: str | None = None  # the item whose arrival crossed the threshold
    rule: str = ""
    features: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(),
            "event_id": self.event_id,
            "grade": self.grade,
            "reason": self.reason,
            "kind": self.kind,
            "keyword": self.keyword,
            "item_id": self.item_id,
            "rule": self.rule,
            "features": self.features,
        }


@dataclass
class Outcome:
    """What the engine made of one item.

    ``relevant`` is False for items outside the jurisdiction (they get no event).
    ``duplicate_of``: id of an earlier item with the same or nearly the same text.
    ``category``: the route model's label (None without a model or for irrelevant items).
    ``sentiment``: "negative" / "neutral" / "positive" (None without a sentiment model).
    ``event_id``: the event the item joined or started (None when irrelevant or when the item
    has no text of its own and no known parent). ``alerts``: alerts this item triggered.
    """

    item_id: str
    relevant: bool
    duplicate_of: str | None
    category: str | None
    sentiment: str | None
    event_id: str | None
    alerts: list[AlertRecord] = field(default_factory=list)
    matched_terms: list[tuple[str, str]] = field(default_factory=list)
    emotion: str | None = None


@dataclass
class EventSummary:
    """An event as it stands. ``merged_into`` names the event that absorbed it (then it is closed
    and its items are listed under the absorbing event)."""

    id: str
    first_time: datetime
    last_time: datetime
    item_ids: list[str]
    size: int
    key_terms: list[str]
    representative_text: str
    representative_item_id: str | None
    sentiment: dict[str, int]
    open: bool
    merged_into: str | None
    category: str | None = None
    reach: int = 0
    sensitive_terms: list[str] = field(default_factory=list)
    grade: str | None = None  # highest grade alerted so far

    def to_json(self, *, with_items: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "first_time": self.first_time.isoformat(),
            "last_time": self.last_time.isoformat(),
            "size": self.size,
            "key_terms": self.key_terms,
            "representative_text": self.representative_text,
            "representative_item_id": self.representative_item_id,
            "sentiment": self.sentiment,
            "open": self.open,
            "merged_into": self.merged_into,
            "category": self.category,
            "reach": self.reach,
            "sensitive_terms": self.sensitive_terms,
            "grade": self.grade,
        }
        if with_items:
            out["item_ids"] = self.item_ids
        return out


@dataclass
class EngineOptions:
    """Tunables of the pipeline. Times are in stream time.

    Clustering: an item joins the open event with the highest cosine similarity if it is at
    least ``join_threshold``; two open events whose centroids reach ``merge_threshold`` merge.
    Events without an item for ``close_after_hours`` close (a reply naming a closed event's item
    reopens it). ``top_k`` terms are kept per centroid; ``query_terms`` of an item's heaviest
    terms look up candidates.
    """

    ngram_min: int = 2
    ngram_max: int = 3
    join_threshold: float = 0.2
    merge_threshold: float = 0.7
    top_k: int = 64
    query_terms: int = 24
    close_after_hours: float = 24.0
    # Activity prior (see Engine._best_event): weight, window and how many of the most active
    # events are always candidates.
    activity_weight: float = 1.0
    activity_window_minutes: float = 360.0
    activity_candidates: int = 3
    activity_short_chars: float = 40.0
    # Reposts that add nothing of their own ("转发微博", empty) give no text evidence: without a
    # known parent they join no event.
    min_feature_chars: int = 2
    # Near-duplicate detection (textkit.dedupe); texts shorter than this are not deduplicated
    # because short stock phrases ("转发微博", "求真相") repeat across unrelated events.
    dedupe_threshold: float = 0.8
    dedupe_min_chars: int = 20
    dedupe_window_hours: float = 72.0
    # Closed events older than this (hours after closing) are dropped from memory and state;
    # None keeps everything (replay).
    forget_after_hours: float | None = None
    batch_size: int = 512

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EngineOptions:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
