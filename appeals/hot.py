"""Hot issues (热点问题) among appeals: the database's rows, or an export file, fed to textkit.hot.

:mod:`textkit.hot` does the grouping (same problem, same place) and the heat index (count,
growth, supports); this module only adapts appeals to it and adds what the database knows and
a message board does not:

* the **address** field is where the citizen said the problem is, so it leads the subject line
  that textkit reads places from (unless the subject already contains it);
* **map points**: an issue whose messages carry points more than ``SPLIT_DISTANCE_M`` apart is
  split into groups of nearby points (single linkage), because two reports of "the same" problem
  two kilometres apart are two problems; messages without a point stay with the largest group;
* **supports** (点赞/附议) are the likes of the heat index; the database keeps no dislikes;
* the period is the one asked for, so "growth" compares its last quarter with the rest of it
  (cut at now when the period has not ended yet).

Appeals 不予受理 or 撤回 are left out; merged ones count, as each is one more person raising the
issue. Message ids are appeal codes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.importer import ParsedFile
from appeals.models import Appeal, State
from minsheng.errors import ServiceError
from org.calendar import CALENDAR_TZ
from org.models import Unit
from textkit.hot import HotIssue, Message, find_hot_issues, heat_of

# Parameters handed to textkit.hot.find_hot_issues. They are textkit's defaults, kept here by
# name so that a change for appeals is one visible line (see docs/appeals-hot-report.md for the
# reading of 附件3 that checked them).
PARAMS: dict[str, float] = {
    "similarity": 0.25,
    "strong_similarity": 0.6,
    "duplicate_threshold": 0.7,
    "recent_fraction": 0.25,
    "supports_weight": 0.5,
    "growth_weight": 0.5,
}
SPLIT_DISTANCE_M = 500.0
# Grouping keeps every pair above half the similarity threshold in memory: beyond this many
# appeals a period is better cut by unit or into shorter periods.
MAX_APPEALS = 50_000
CACHE_SECONDS = 600
EXCLUDED_STATES = (State.REJECTED, State.WITHDRAWN)

Point = tuple[float, float]


class TooManyAppeals(ServiceError):
    status, code = 422, "too_many_appeals"


# --- adapting rows -----------------------------------------------------------------------------
def _subject(title: str, address: str) -> str:
    address = " ".join(address.split())
    if address and address not in title:
        return f"{address} {title}"
    return title


def message_for(
    *,
    id: str,
    title: str,
    text: str,
    created: dt.datetime | None,
    supports: int = 0,
    dislikes: int = 0,
    address: str = "",
) -> Message:
    return Message(
        id=id,
        title=_subject(title, address),
        body=text,
        time=created,
        likes=supports,
        dislikes=dislikes,
    )


def messages_from_file(parsed: ParsedFile) -> list[Message]:
    """The rows of an export read by :func:`appeals.importer.read_file`, ids as in the file."""
    return [
        message_for(
            id=row.external_ref,
            title=row.title,
            text=row.text,
            created=row.created,
            supports=row.likes,
            dislikes=row.dislikes,
            address=row.address,
        )
        for row in parsed.rows
    ]


# --- grouping ----------------------------------------------------------------------------------
def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres (haversine; plenty for a city)."""
    lat1, lng1, lat2, lng2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * 6_371_000.0 * math.asin(math.sqrt(min(1.0, h)))


def _near_groups(ids: Sequence[str], points: dict[str, Point], limit: float) -> list[list[str]]:
    """Single-linkage groups of ``ids`` (all with points) at distance ≤ ``limit``."""
    parent = {i: i for i in ids}

    def root(i: str) -> str:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for k, a in enumerate(ids):
        for b in ids[k + 1 :]:
            if distance_m(points[a], points[b]) <= limit:
                parent[root(a)] = root(b)
    groups: dict[str, list[str]] = {}
    for i in ids:
        groups.setdefault(root(i), []).append(i)
    return list(groups.values())


def split_far_apart(
    issues: Sequence[HotIssue],
    points: dict[str, Point],
    *,
    period: tuple[dt.datetime, dt.datetime] | None,
    limit: float = SPLIT_DISTANCE_M,
) -> list[HotIssue]:
    """Split issues whose map points lie far apart, re-score the parts and rank them again."""
    out: list[HotIssue] = []
    for issue in issues:
        pointed = [m.id for m in issue.messages if m.id in points]
        groups = _near_groups(pointed, points, limit) if len(pointed) > 1 else []
        if len(groups) < 2:
            out.append(issue)
            continue
        groups.sort(key=lambda g: (-len(g), min(g)))
        home = {i: k for k, g in enumerate(groups) for i in g}
        parts: list[list[Message]] = [[] for _ in groups]
        for m in issue.messages:
            parts[home.get(m.id, 0)].append(m)
        out.extend(_rescored(issue, ms, period) for ms in parts)
    out.sort(key=lambda h: (-round(h.heat, 9), -h.count, h.messages[0].id))
    return [replace(h, rank=k) for k, h in enumerate(out, start=1)]


def _rescored(
    issue: HotIssue, ms: list[Message], period: tuple[dt.datetime, dt.datetime] | None
) -> HotIssue:
    likes = sum(m.likes for m in ms)
    dislikes = sum(m.dislikes for m in ms)
    parts = heat_of(
        [m.time for m in ms],
        likes,
        dislikes,
        period=period,
        recent_fraction=PARAMS["recent_fraction"],
        supports_weight=PARAMS["supports_weight"],
        growth_weight=PARAMS["growth_weight"],
    )
    stamps = [m.time for m in ms if m.time is not None]
    titles = {m.title for m in ms}
    return replace(
        issue,
        id=f"issue-{ms[0].id}",
        heat=parts.total,
        parts=parts,
        count=len(ms),
        likes=likes,
        dislikes=dislikes,
        first=min(stamps) if stamps else None,
        last=max(stamps) if stamps else None,
        subject=issue.subject if issue.subject in titles else ms[0].title,
        messages=tuple(ms),
    )


def keep_only(
    issues: Sequence[HotIssue],
    ids: set[str],
    *,
    period: tuple[dt.datetime, dt.datetime] | None,
) -> list[HotIssue]:
    """Each issue cut down to the messages in ``ids`` (issues left empty go), re-scored, ranked."""
    out: list[HotIssue] = []
    for issue in issues:
        ms = [m for m in issue.messages if m.id in ids]
        if len(ms) == len(issue.messages):
            out.append(issue)
        elif ms:
            out.append(_rescored(issue, ms, period))
    out.sort(key=lambda h: (-round(h.heat, 9), -h.count, h.messages[0].id))
    return [replace(h, rank=k) for k, h in enumerate(out, start=1)]


def rank(
    messages: Iterable[Message],
    *,
    period: tuple[dt.datetime, dt.datetime] | None = None,
    points: dict[str, Point] | None = None,
    top: int | None = None,
) -> list[HotIssue]:
    """All issues among ``messages``, hottest first (``top`` cuts the list after ranking)."""
    issues = find_hot_issues(
        messages,
        similarity=PARAMS["similarity"],
        strong_similarity=PARAMS["strong_similarity"],
        duplicate_threshold=PARAMS["duplicate_threshold"],
        recent_fraction=PARAMS["recent_fraction"],
        supports_weight=PARAMS["supports_weight"],
        growth_weight=PARAMS["growth_weight"],
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
    )
    if points:
        if period is None:
            stamps = [m.time for h in issues for m in h.messages if m.time is not None]
            period = (min(stamps), max(stamps)) if stamps else None
        issues = split_far_apart(issues, points, period=period)
    return issues[:top] if top is not None else issues


# --- the database ------------------------------------------------------------------------------
def _aware(value: dt.date | dt.datetime, *, end: bool) -> dt.datetime:
    """A datetime stays (naive → Beijing time); a date is its whole day, so an end date counts."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=CALENDAR_TZ)
    day = value + dt.timedelta(days=1) if end else value
    return dt.datetime.combine(day, dt.time(), tzinfo=CALENDAR_TZ)


def period_appeals(
    start: dt.date | dt.datetime, end: dt.date | dt.datetime, unit: Unit | None = None
) -> Any:
    """The appeals of ``[start, end)`` that count (see the module docstring), oldest first."""
    query = Appeal.objects.filter(
        created__gte=_aware(start, end=False), created__lt=_aware(end, end=True)
    ).exclude(state__in=EXCLUDED_STATES)
    if unit is not None:
        query = query.filter(
            Q(current_unit__path__startswith=unit.path) | Q(intake_unit__path__startswith=unit.path)
        )
    return query.order_by("created", "pk")


def hot_issues(
    start: dt.date | dt.datetime,
    end: dt.date | dt.datetime,
    *,
    unit: Unit | None = None,
    limit: int = 20,
    use_cache: bool = True,
) -> list[HotIssue]:
    """The ``limit`` hottest issues among the appeals taken in from ``start`` to ``end``.

    Dates are whole days in Beijing time, both included; datetimes are ``[start, end)``.
    ``unit`` keeps appeals taken in by or sent to that unit or one below it: the grouping
    still runs over the whole period (a unit's few appeals are too small a corpus to weigh
    words by), then each issue keeps only the unit's appeals and is scored again. Message ids in
    the result are appeal codes. The result is cached for ten minutes under a key that changes
    whenever an appeal of the period is added or changed. Raises :class:`TooManyAppeals`
    beyond ``MAX_APPEALS`` appeals.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    lo, hi = _aware(start, end=False), _aware(end, end=True)
    if hi <= lo:
        raise ServiceError(_("时间段的结束须晚于开始"), code="bad_period", status=422)
    query = period_appeals(start, end)
    stats = query.aggregate(n=Count("pk"), last=Max("updated"), top=Max("pk"))
    if stats["n"] > MAX_APPEALS:
        raise TooManyAppeals(
            _("该时间段有 %(n)s 条诉求，超过热点分析上限 %(max)s 条；请缩短时间段或选择单位。")
            % {"n": stats["n"], "max": MAX_APPEALS}
        )
    key = (
        "appeals.hot:"
        + hashlib.sha256(
            repr(
                (
                    lo.isoformat(),
                    hi.isoformat(),
                    unit.pk if unit else None,
                    limit,
                    sorted(PARAMS.items()),
                    stats,
                )
            ).encode()
        ).hexdigest()
    )
    if use_cache:
        cached = cache.get(key)
        if cached is not None:
            return list(cached)
    messages: list[Message] = []
    points: dict[str, Point] = {}
    fields = ("code", "title", "text", "address", "created", "supports", "lat", "lng")
    for row in query.values(*fields).iterator(chunk_size=2000):
        messages.append(
            message_for(
                id=row["code"],
                title=row["title"],
                text=row["text"],
                created=row["created"],
                supports=row["supports"],
                address=row["address"],
            )
        )
        if isinstance(row["lat"], Decimal) and isinstance(row["lng"], Decimal):
            points[row["code"]] = (float(row["lat"]), float(row["lng"]))
    # Growth needs the period's real end: a month that is half over has no second half yet.
    period = (lo, min(hi, max(lo + dt.timedelta(seconds=1), timezone.now())))
    issues = rank(messages, period=period, points=points) if messages else []
    if unit is not None:
        mine = set(period_appeals(start, end, unit).values_list("code", flat=True))
        issues = keep_only(issues, mine, period=period)
    issues = issues[:limit]
    if use_cache:
        cache.set(key, issues, CACHE_SECONDS)
    return issues
