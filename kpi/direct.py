"""The definitions of docs/kpi.md evaluated appeal by appeal in plain Python: the reference.

Slow (it reads every appeal with its whole history) and independent of ``kpi.rollup``'s grouped
SQL, so that a test can build appeals through the real services, roll them up, and check that
``kpi.metrics.table`` answers exactly what this module answers. ``minsheng kpi check`` runs the
same comparison on a live database for a period.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Prefetch

from appeals.models import Appeal, AppealEvent, Callback, Dispatch, Rating, Reply, State
from kpi import periods
from kpi.models import MEASURES
from kpi.periods import local_date, start_of
from org.calendar import working_time_between
from org.models import Unit

Key = tuple[dt.date, int | None, int | None, int | None]
TOTAL = "*"
POSITIVE = {Rating.SATISFIED.value, Rating.BASICALLY_SATISFIED.value}


def _order(row: Any) -> tuple[dt.datetime, int]:
    return (row.at, row.pk)


def facts_of(appeal: Appeal) -> list[tuple[Key, str, int]]:
    """(day, unit, category, grid), counter, amount — every contribution of one appeal."""
    out: list[tuple[Key, str, int]] = []
    category, grid = appeal.category_id, appeal.grid_id
    holder = appeal.current_unit_id or appeal.intake_unit_id

    def put(moment: dt.datetime, unit: int | None, name: str, amount: int = 1) -> None:
        out.append(((local_date(moment), unit, category, grid), name, amount))

    events = sorted(appeal.events.all(), key=_order)
    put(appeal.created, holder, "received")

    dispatches = sorted(appeal.dispatches.all(), key=_order)
    withdrew_while_dispatched = any(
        e.action == "withdraw" and e.from_state == State.DISPATCHED for e in events
    )
    for index, d in enumerate(dispatches):
        latest = index == len(dispatches) - 1
        put(d.at, d.unit_id, "dispatched")
        waiting = latest and appeal.state == State.DISPATCHED and not appeal.sign_overdue
        gone = (
            latest
            and appeal.state == State.WITHDRAWN
            and appeal.signed_at is None
            and not appeal.sign_overdue
            and withdrew_while_dispatched
        )
        if not (waiting or gone):
            put(d.at, d.unit_id, "sign_expected")
        if (
            latest
            and appeal.signed_at is not None
            and (appeal.sign_due is None or appeal.signed_at <= appeal.sign_due)
        ):
            put(d.at, d.unit_id, "signed_on_time")

    replies = sorted(appeal.replies.all(), key=_order)
    reopenings = [e.at for e in events if e.to_state == State.REOPENED]
    for index, r in enumerate(replies):
        following = replies[index + 1].at if index + 1 < len(replies) else None
        put(r.at, r.unit_id, "replied")
        if any(at >= r.at and (following is None or at < following) for at in reopenings):
            put(r.at, r.unit_id, "reopened")

    callbacks = sorted(appeal.callbacks.all(), key=_order)
    for index, cb in enumerate(callbacks):
        unit = cb.reply.unit_id if cb.reply is not None and cb.reply.unit_id else None
        unit = unit or appeal.current_unit_id
        put(cb.at, unit, "callbacks")
        put(cb.at, unit, cb.rating)
        if index == len(callbacks) - 1:
            put(cb.at, unit, "final_callbacks")
            if cb.rating in POSITIVE:
                put(cb.at, unit, "resolved")

    for e in events:
        if e.action == "escalate":
            put(e.at, e.unit_id, f"overdue_{e.data.get('clock')}")

    if appeal.state == State.CLOSED and appeal.closed_at is not None:
        put(appeal.closed_at, holder, "closed")
        worked = working_time_between(appeal.created, appeal.closed_at) - appeal.suspended_total
        put(appeal.closed_at, holder, "close_seconds", max(0, round(worked.total_seconds())))
    return out


def facts(start: dt.date, end: dt.date) -> dict[Key, dict[str, int]]:
    """Every appeal's contributions placed on a day from ``start`` to ``end``."""
    total: dict[Key, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    appeals = Appeal.objects.filter(created__lt=start_of(end + dt.timedelta(1))).prefetch_related(
        Prefetch("events", queryset=AppealEvent.objects.all()),
        Prefetch("dispatches", queryset=Dispatch.objects.all()),
        Prefetch("replies", queryset=Reply.objects.all()),
        Prefetch("callbacks", queryset=Callback.objects.select_related("reply")),
    )
    names = {
        Rating.SATISFIED.value: "satisfied",
        Rating.BASICALLY_SATISFIED.value: "basically_satisfied",
        Rating.UNSATISFIED.value: "unsatisfied",
    }
    for appeal in appeals.order_by("pk"):
        for key, name, amount in facts_of(appeal):
            if start <= key[0] <= end:
                total[key][names.get(name, name)] += amount
    return total


def table(
    *, by: str, start: dt.date, end: dt.date, unit: Unit | None = None
) -> dict[str, dict[str, int]]:
    """Counters per group key, keyed as ``kpi.metrics.Row.key`` is, and the total under "*"."""
    paths = dict(Unit.objects.values_list("pk", "path"))
    rows: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    children = {u.pk: u.path for u in Unit.objects.filter(parent=unit)} if unit is not None else {}
    for (day, unit_id, category, grid), counters in facts(start, end).items():
        path = paths.get(unit_id, "") if unit_id is not None else ""
        if unit is not None and not path.startswith(unit.path):
            continue
        if by == "unit":
            if unit is not None and unit_id == unit.pk:
                key = str(unit.pk)
            else:
                key = next((str(pk) for pk, p in children.items() if path.startswith(p)), "?")
        elif by == "category":
            key = str(category or "")
        elif by == "grid":
            key = str(grid or "")
        else:
            key = periods.bucket_start(by, day).isoformat()
        for target in (rows[key], rows[TOTAL]):
            for name, value in counters.items():
                target[name] += value
    return dict(rows)
