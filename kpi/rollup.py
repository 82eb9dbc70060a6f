"""Keeping ``DailyCount`` and ``DailyGridCount`` equal to the definitions of docs/kpi.md.

``compute(ranges)`` evaluates the definitions with grouped SQL over the appeals' own records
(Appeal, Dispatch, Reply, Callback, AppealEvent) for the Beijing days in ``ranges`` and answers
counters per (day, unit, category, grid). ``recompute(days)`` replaces those days' rows with it.

What has to be recomputed: every fact is placed on the day of a timestamp of the appeal it
belongs to (its receipt, a dispatch, a reply, a callback, an escalation, its close), and facts are
only ever added, never removed. So when an appeal changes — and every change writes an
``AppealEvent`` — the only days whose counters can move are that appeal's own days. ``run()``
reads the events written since the last run (by id, with an overlap for transactions that
committed out of order), collects those appeals' days and recomputes just them. A full rebuild
(``run(full=True)``) or ``run(since=day)`` recomputes month by month with progress.

Runs are serialised by a lock in the shared cache (Redis in production), not by a database
transaction: on SQLite a long write transaction would stop intake for its whole length. Each
batch of days is written in its own short transaction, so readers see whole days.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from appeals.models import Appeal, AppealEvent, Callback, Dispatch, Rating, Reply, State
from kpi.models import (
    MEASURES,
    DailyCount,
    DailyGridCount,
    MonthlyCount,
    MonthlyGridCount,
    RollupState,
)
from kpi.periods import day_ranges, local_date, start_of, today
from org.calendar import CALENDAR_TZ, working_time_between

log = logging.getLogger("minsheng.kpi")

Key = tuple[dt.date, int | None, int | None, int | None]  # day, unit, category, grid
Progress = Callable[[str], None]
POSITIVE = (Rating.SATISFIED.value, Rating.BASICALLY_SATISFIED.value)
# Events re-read on every run: a transaction that took an id before a later one but committed
# after it would otherwise be skipped for good (PostgreSQL hands out ids at insert time).
EVENT_OVERLAP = 2000
_LOCK_KEY = "kpi:rollup:lock"
_LOCK_SECONDS = 6 * 3600
_CHUNK = 500  # ids per IN (…): well under SQLite's limit on query parameters


def _day(name: str) -> TruncDate:
    return TruncDate(name, tzinfo=CALENDAR_TZ)


def _within(name: str, ranges: list[tuple[dt.date, dt.date]]) -> Q:
    condition = Q()
    for first, last in ranges:
        condition |= Q(
            **{f"{name}__gte": start_of(first), f"{name}__lt": start_of(last + dt.timedelta(1))}
        )
    return condition


def _count(condition: Q) -> Sum:
    return Sum(Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField()))


def _later(model: Any) -> Q:
    """Rows of the same appeal that come after the outer row, by (at, pk)."""
    return Q(appeal_id=OuterRef("appeal_id")) & (
        Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), pk__gt=OuterRef("pk"))
    )


class Facts(defaultdict[Key, dict[str, int]]):
    def __init__(self) -> None:
        super().__init__(lambda: dict.fromkeys(MEASURES, 0))

    def add(self, rows: Iterable[Any], measures: Iterable[str]) -> None:
        names = tuple(measures)
        for row in rows:
            counters = self[(row["d"], row["u"], row["c"], row["g"])]
            for name in names:
                counters[name] += int(row[name] or 0)


def compute(ranges: list[tuple[dt.date, dt.date]]) -> Facts:
    """The counters of docs/kpi.md for the days in ``ranges`` ((first, last) pairs, included)."""
    facts = Facts()
    if not ranges:
        return facts
    appeal_keys = {"c": F("appeal__category_id"), "g": F("appeal__grid_id")}

    received = (
        Appeal.objects.filter(_within("created", ranges))
        .order_by()
        .values(
            d=_day("created"),
            u=Coalesce(F("current_unit_id"), F("intake_unit_id")),
            c=F("category_id"),
            g=F("grid_id"),
        )
        .annotate(received=Count("pk"))
    )
    facts.add(received, ["received"])

    withdrew_unsigned = AppealEvent.objects.filter(
        appeal_id=OuterRef("appeal_id"), action="withdraw", from_state=State.DISPATCHED
    )
    on_time = Q(latest=True, appeal__signed_at__isnull=False) & (
        Q(appeal__sign_due__isnull=True) | Q(appeal__signed_at__lte=F("appeal__sign_due"))
    )
    waiting = Q(latest=True, appeal__state=State.DISPATCHED, appeal__sign_overdue=False)
    withdrawn = Q(
        latest=True,
        withdrew=True,
        appeal__state=State.WITHDRAWN,
        appeal__signed_at__isnull=True,
        appeal__sign_overdue=False,
    )
    dispatches = (
        Dispatch.objects.filter(_within("at", ranges))
        .annotate(
            latest=~Exists(Dispatch.objects.filter(_later(Dispatch))),
            withdrew=Exists(withdrew_unsigned),
        )
        .order_by()
        .values(d=_day("at"), u=F("unit_id"), **appeal_keys)
        .annotate(
            dispatched=Count("pk"),
            not_expected=_count(waiting | withdrawn),
            signed_on_time=_count(on_time),
        )
    )
    for row in dispatches:
        counted = dict(row)
        counted["sign_expected"] = row["dispatched"] - (row["not_expected"] or 0)
        facts.add([counted], ["dispatched", "sign_expected", "signed_on_time"])

    # A reply is reopened when the appeal went back to 重办 after it and before the next reply.
    next_reply = Reply.objects.filter(
        Q(appeal_id=OuterRef(OuterRef("appeal_id"))),
        Q(at__gt=OuterRef(OuterRef("at")))
        | Q(at=OuterRef(OuterRef("at")), pk__gt=OuterRef(OuterRef("pk"))),
        at__lte=OuterRef("at"),
    )
    reopening = AppealEvent.objects.filter(
        appeal_id=OuterRef("appeal_id"), to_state=State.REOPENED, at__gte=OuterRef("at")
    ).exclude(Exists(next_reply))
    replies = (
        Reply.objects.filter(_within("at", ranges))
        .annotate(was_reopened=Exists(reopening))
        .order_by()
        .values(d=_day("at"), u=F("unit_id"), **appeal_keys)
        .annotate(replied=Count("pk"), reopened=_count(Q(was_reopened=True)))
    )
    facts.add(replies, ["replied", "reopened"])

    callbacks = (
        Callback.objects.filter(_within("at", ranges))
        .annotate(final=~Exists(Callback.objects.filter(_later(Callback))))
        .order_by()
        .values(
            d=_day("at"),
            u=Coalesce(F("reply__unit_id"), F("appeal__current_unit_id")),
            **appeal_keys,
        )
        .annotate(
            callbacks=Count("pk"),
            satisfied=_count(Q(rating=Rating.SATISFIED)),
            basically_satisfied=_count(Q(rating=Rating.BASICALLY_SATISFIED)),
            unsatisfied=_count(Q(rating=Rating.UNSATISFIED)),
            final_callbacks=_count(Q(final=True)),
            resolved=_count(Q(final=True, rating__in=POSITIVE)),
        )
    )
    facts.add(
        callbacks,
        [
            "callbacks",
            "satisfied",
            "basically_satisfied",
            "unsatisfied",
            "final_callbacks",
            "resolved",
        ],
    )

    overdue = (
        AppealEvent.objects.filter(_within("at", ranges), action="escalate")
        .order_by()
        .values(d=_day("at"), u=F("unit_id"), **appeal_keys)
        .annotate(
            overdue_sign=_count(Q(data__clock="sign")),
            overdue_handle=_count(Q(data__clock="handle")),
            overdue_reply=_count(Q(data__clock="reply")),
        )
    )
    facts.add(overdue, ["overdue_sign", "overdue_handle", "overdue_reply"])

    closed = (
        Appeal.objects.filter(_within("closed_at", ranges), state=State.CLOSED)
        .order_by()
        .values_list(
            "created",
            "closed_at",
            "suspended_total",
            "current_unit_id",
            "intake_unit_id",
            "category_id",
            "grid_id",
        )
    )
    for created, closed_at, suspended, unit, intake, category, grid in closed.iterator(2000):
        assert closed_at is not None  # the filter above asks for a closing time
        seconds = (working_time_between(created, closed_at) - suspended).total_seconds()
        counters = facts[(local_date(closed_at), unit or intake, category, grid)]
        counters["closed"] += 1
        counters["close_seconds"] += max(0, round(seconds))
    return facts


def _write(facts: Facts, days: Iterable[dt.date]) -> int:
    """Replace the rows of ``days`` with ``facts`` (which must cover exactly those days)."""
    days = set(days)
    ranges = day_ranges(days)
    by_category: dict[tuple[dt.date, int | None, int | None], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(MEASURES, 0)
    )
    by_grid: dict[tuple[dt.date, int | None, int | None], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(MEASURES, 0)
    )
    for (day, unit, category, grid), counters in facts.items():
        for target in (by_category[(day, unit, category)], by_grid[(day, unit, grid)]):
            for name, value in counters.items():
                target[name] += value
    in_days = Q()
    for first, last in ranges:
        in_days |= Q(day__gte=first, day__lte=last)
    with transaction.atomic():
        DailyCount.objects.filter(in_days).delete()
        DailyGridCount.objects.filter(in_days).delete()
        DailyCount.objects.bulk_create(
            [
                DailyCount(day=d, unit_id=u, category_id=c, **v)
                for (d, u, c), v in by_category.items()
            ],
            batch_size=1000,
        )
        DailyGridCount.objects.bulk_create(
            [DailyGridCount(day=d, unit_id=u, grid_id=g, **v) for (d, u, g), v in by_grid.items()],
            batch_size=1000,
        )
        written = len(by_category) + len(by_grid)
        for month in sorted({d.replace(day=1) for d in days}):
            written += _write_month(month)
    return written


def _write_month(month: dt.date) -> int:
    """Re-sum one month's daily rows into its monthly rows (inside the caller's transaction)."""
    following = (month + dt.timedelta(days=32)).replace(day=1)
    sums = {name: Sum(name) for name in MEASURES}
    written = 0
    pairs: tuple[tuple[Any, Any, str], ...] = (
        (DailyCount, MonthlyCount, "category_id"),
        (DailyGridCount, MonthlyGridCount, "grid_id"),
    )
    for daily, monthly, other in pairs:
        monthly.objects.filter(day=month).delete()
        rows = (
            daily.objects.filter(day__gte=month, day__lt=following)
            .order_by()
            .values("unit_id", other)
            .annotate(**sums)
        )
        created = monthly.objects.bulk_create(
            [monthly(day=month, **row) for row in rows], batch_size=1000
        )
        written += len(created)
    return written


def recompute(days: Iterable[dt.date]) -> int:
    """Recompute the counters of ``days`` from the appeals; answers the rows written."""
    wanted = set(days)
    if not wanted:
        return 0
    return _write(compute(day_ranges(wanted)), wanted)


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i : i + _CHUNK]


def days_of(appeal_ids: Iterable[int]) -> set[dt.date]:
    """Every Beijing day on which one of these appeals has a fact that a KPI places."""
    moments: set[dt.datetime] = set()
    for chunk in _chunks(sorted(set(appeal_ids))):
        for created, closed_at in Appeal.objects.filter(pk__in=chunk).values_list(
            "created", "closed_at"
        ):
            moments.add(created)
            if closed_at is not None:
                moments.add(closed_at)
        for model in (Dispatch, Reply, Callback, AppealEvent):
            moments.update(
                model.objects.filter(appeal_id__in=chunk).values_list("at", flat=True).distinct()  # type: ignore[attr-defined]
            )
    return {local_date(m) for m in moments}


@dataclass
class Result:
    days: int = 0
    rows: int = 0
    appeals: int = 0
    last_event_id: int = 0
    busy: bool = False
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.busy:
            return "another rollup is running; nothing done"
        return (
            f"recomputed {self.days} day(s) for {self.appeals} changed appeal(s): "
            f"{self.rows} row(s) written; events read up to #{self.last_event_id}"
        )


def _span() -> tuple[dt.date, dt.date] | None:
    """The first and last day any fact can be placed on."""
    first = Appeal.objects.aggregate(first=Min("created"))["first"]
    if first is None:
        return None
    return local_date(first), max(today(), local_date(timezone.now()))


def _months(first: dt.date, last: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    start = first
    while start <= last:
        following = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        yield start, min(last, following - dt.timedelta(days=1))
        start = following


def run(
    *, since: dt.date | None = None, full: bool = False, progress: Progress | None = None
) -> Result:
    """Bring the counters up to date; see the module docstring for what each mode recomputes."""
    note = progress or (lambda _message: None)
    token = uuid.uuid4().hex
    if not cache.add(_LOCK_KEY, token, timeout=_LOCK_SECONDS):
        return Result(busy=True)
    try:
        return _run(since=since, full=full, note=note)
    finally:
        if cache.get(_LOCK_KEY) == token:
            cache.delete(_LOCK_KEY)


def _run(*, since: dt.date | None, full: bool, note: Progress) -> Result:
    state, _created = RollupState.objects.get_or_create(pk=1)
    top = AppealEvent.objects.aggregate(top=Max("id"))["top"] or 0
    result = Result(last_event_id=top)
    if state.rolled_at is None and since is None:
        full = True  # never rolled up: reading every event one by one would be the slow way
    if full or since is not None:
        span = _span()
        if span is not None:
            first, last = span
            if since is not None and not full:
                first = max(first, since)
            if full:
                with transaction.atomic():
                    for model in (DailyCount, DailyGridCount, MonthlyCount, MonthlyGridCount):
                        model.objects.all().delete()
            months = list(_months(first, last))
            for index, (a, b) in enumerate(months, start=1):
                days = {a + dt.timedelta(n) for n in range((b - a).days + 1)}
                result.rows += recompute(days)
                result.days += len(days)
                note(f"[{index}/{len(months)}] {a.isoformat()} – {b.isoformat()}")
    else:
        floor = max(0, state.last_event_id - EVENT_OVERLAP)
        changed = set(
            AppealEvent.objects.filter(id__gt=floor, id__lte=top)
            .values_list("appeal_id", flat=True)
            .distinct()
        )
        if changed:
            days = days_of(changed)
            note(f"{len(changed)} changed appeal(s) on {len(days)} day(s)")
            result.rows = recompute(days)
            result.days = len(days)
            result.appeals = len(changed)
    RollupState.objects.filter(pk=state.pk).update(
        last_event_id=max(top, state.last_event_id if not full else 0),
        rolled_at=timezone.now(),
        updated=timezone.now(),
    )
    log.info("kpi rollup: %s", result.summary())
    return result


def rolled_at() -> dt.datetime | None:
    """When the counters were last brought up to date (None: never)."""
    return RollupState.objects.filter(pk=1).values_list("rolled_at", flat=True).first()
