"""The KPI table: counters from the daily rollup, summed over a period, grouped one way.

``table(by=…, start=…, end=…, unit=None, scope=None)`` is the one function the page, the export,
the API, the transparency pages and the benchmark call. It reads only ``DailyCount`` /
``DailyGridCount`` (one grouped query), never the appeals, so it answers in milliseconds at any
number of appeals. Rates are derived here from summed numerators and denominators (docs/kpi.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kpi import periods
from kpi.models import MEASURES, DailyCount, DailyGridCount, MonthlyCount, MonthlyGridCount
from kpi.rollup import rolled_at
from org.models import Category, Grid, Unit

GROUPINGS: dict[str, str | Promise] = {
    "unit": gettext_lazy("单位"),
    "category": gettext_lazy("分类"),
    "grid": gettext_lazy("网格"),
    "day": gettext_lazy("日"),
    "week": gettext_lazy("周"),
    "month": gettext_lazy("月"),
    "quarter": gettext_lazy("季度"),
}
PERIOD_GROUPINGS = ("day", "week", "month", "quarter")

# rate → (numerator counters, denominator counter)
RATES: dict[str, tuple[tuple[str, ...], str]] = {
    "response_rate": (("signed_on_time",), "sign_expected"),
    "resolution_rate": (("resolved",), "final_callbacks"),
    "satisfaction_rate": (("satisfied", "basically_satisfied"), "callbacks"),
    "reopen_rate": (("reopened",), "replied"),
}


@dataclass(frozen=True)
class Column:
    name: str
    label: str | Promise
    kind: str  # count, rate, hours
    # For rates and averages: the counter that says how many cases the figure rests on.
    base: str = ""
    # True when a higher value is better (the ranking's default order).
    higher_is_better: bool = True


COLUMNS: tuple[Column, ...] = (
    Column("received", gettext_lazy("受理量"), "count"),
    Column("dispatched", gettext_lazy("派单量"), "count"),
    Column("sign_expected", gettext_lazy("应签收"), "count"),
    Column("signed_on_time", gettext_lazy("按时签收"), "count"),
    Column("response_rate", gettext_lazy("响应率"), "rate", "sign_expected"),
    Column("final_callbacks", gettext_lazy("回访件数"), "count"),
    Column("resolved", gettext_lazy("解决件数"), "count"),
    Column("resolution_rate", gettext_lazy("解决率"), "rate", "final_callbacks"),
    Column("callbacks", gettext_lazy("回访次数"), "count"),
    Column("satisfied", gettext_lazy("满意"), "count"),
    Column("basically_satisfied", gettext_lazy("基本满意"), "count"),
    Column("unsatisfied", gettext_lazy("不满意"), "count"),
    Column("satisfaction_rate", gettext_lazy("满意率"), "rate", "callbacks"),
    Column("overdue", gettext_lazy("超期件次"), "count", higher_is_better=False),
    Column("overdue_sign", gettext_lazy("签收超期"), "count", higher_is_better=False),
    Column("overdue_handle", gettext_lazy("办理超期"), "count", higher_is_better=False),
    Column("overdue_reply", gettext_lazy("答复超期"), "count", higher_is_better=False),
    Column("closed", gettext_lazy("结案量"), "count"),
    Column(
        "avg_close_hours",
        gettext_lazy("平均办结工时"),
        "hours",
        "closed",
        higher_is_better=False,
    ),
    Column("replied", gettext_lazy("答复量"), "count"),
    Column("reopened", gettext_lazy("重办量"), "count", higher_is_better=False),
    Column("reopen_rate", gettext_lazy("重办率"), "rate", "replied", higher_is_better=False),
)
COLUMN_BY_NAME = {c.name: c for c in COLUMNS}
# What the ranking may be sorted by: every rate and average, and the counts that matter.
SORTABLE = tuple(c.name for c in COLUMNS)


@dataclass
class Row:
    key: str
    label: str
    code: str = ""
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MEASURES, 0))
    # Where a click on the row leads (a unit to drill into); empty when nowhere.
    unit_code: str = ""

    def add(self, values: dict[str, Any]) -> None:
        for name in MEASURES:
            self.counts[name] += int(values.get(name) or 0)

    def rate(self, name: str) -> float | None:
        numerators, denominator = RATES[name]
        below = self.counts[denominator]
        if not below:
            return None
        return sum(self.counts[n] for n in numerators) / below

    @property
    def overdue(self) -> int:
        c = self.counts
        return c["overdue_sign"] + c["overdue_handle"] + c["overdue_reply"]

    @property
    def avg_close_hours(self) -> float | None:
        closed = self.counts["closed"]
        return self.counts["close_seconds"] / closed / 3600 if closed else None

    def value(self, name: str) -> float | int | None:
        """A column's value: a counter, a rate in [0, 1], or hours (None: nothing to divide)."""
        if name in RATES:
            return self.rate(name)
        if name == "overdue":
            return self.overdue
        if name == "avg_close_hours":
            return self.avg_close_hours
        return self.counts[name]

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "label": self.label, "code": self.code}
        data.update({c.name: self.value(c.name) for c in COLUMNS})
        data["close_seconds"] = self.counts["close_seconds"]
        return data


@dataclass
class Table:
    by: str
    start: dt.date
    end: dt.date
    unit: Unit | None
    rows: list[Row]
    total: Row
    rolled_at: dt.datetime | None

    def sorted(self, column: str, descending: bool = True) -> list[Row]:
        """Rows ranked by ``column``; rows without a value (nothing to divide) go last."""
        known = [r for r in self.rows if r.value(column) is not None]
        unknown = [r for r in self.rows if r.value(column) is None]
        known.sort(key=lambda r: (r.value(column), -len(r.label)), reverse=descending)
        return known + unknown


def _sums() -> dict[str, Sum]:
    return {name: Sum(name) for name in MEASURES}


def _unit_filter(unit: Unit | None, scope: Sequence[Unit] | None) -> Q | None:
    """None: no condition (the whole organisation, unassigned rows included)."""
    if unit is not None:
        return Q(unit__path__startswith=unit.path)
    if scope is None:
        return None
    condition = Q(pk__in=[])
    for top in scope:
        condition |= Q(unit__path__startswith=top.path)
    return condition


def _split(start: dt.date, end: dt.date) -> tuple[tuple[dt.date, dt.date] | None, list[Any]]:
    """Whole months of [start, end] (first days of the first and last) and the days left over."""
    first = start if start.day == 1 else periods.bucket_end("month", start) + dt.timedelta(1)
    last = end if end == periods.bucket_end("month", end.replace(day=1)) else end.replace(day=1)
    if end != last:
        last = last - dt.timedelta(1)  # the day before the partial last month
    if first > last:
        return None, [(start, end)]
    days = []
    if start < first:
        days.append((start, first - dt.timedelta(1)))
    if last < end:
        days.append((last + dt.timedelta(1), end))
    return (first, last.replace(day=1)), days


def _sums_by(
    table_kind: str,
    fields: tuple[str, ...],
    start: dt.date,
    end: dt.date,
    unit: Unit | None,
    scope: Sequence[Unit] | None,
    *,
    whole_months: bool = True,
) -> list[dict[str, Any]]:
    """Summed counters per ``fields``, from monthly rows for whole months and daily rows for the
    rest (``whole_months=False``: daily rows only, for groupings finer than a month)."""
    daily, monthly = (
        (DailyGridCount, MonthlyGridCount) if table_kind == "grid" else (DailyCount, MonthlyCount)
    )
    months, days = _split(start, end) if whole_months else (None, [(start, end)])
    querysets: list[QuerySet[Any]] = []
    if months is not None:
        querysets.append(monthly.objects.filter(day__gte=months[0], day__lte=months[1]))
    for first, last in days:
        querysets.append(daily.objects.filter(day__gte=first, day__lte=last))
    condition = _unit_filter(unit, scope)
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for qs in querysets:
        if condition is not None:
            qs = qs.filter(condition)
        for values in qs.order_by().values(*fields).annotate(**_sums()):
            key = tuple(values[f] for f in fields)
            if key not in merged:
                merged[key] = {**{f: values[f] for f in fields}, **dict.fromkeys(MEASURES, 0)}
            for name in MEASURES:
                merged[key][name] += int(values[name] or 0)
    return list(merged.values())


def focus_of(unit: Unit | None, scope: Sequence[Unit] | None) -> Unit | None:
    """The unit whose sub-units the unit grouping lists: the chosen one, else the viewer's only
    top unit, else the organisation's only root."""
    if unit is not None:
        return unit
    if scope is not None:
        return scope[0] if len(scope) == 1 else None
    roots = list(Unit.objects.roots()[:2])
    return roots[0] if len(roots) == 1 else None


def _by_unit(
    sums: list[dict[str, Any]], unit: Unit | None, scope: Sequence[Unit] | None
) -> list[Row]:
    focus = focus_of(unit, scope)
    if focus is not None:
        groups = list(Unit.objects.filter(parent=focus).order_by("sort_order", "code"))
    else:
        groups = list(scope) if scope is not None else list(Unit.objects.roots())
    rows = {g.pk: Row(str(g.pk), g.name, g.code, unit_code=g.code) for g in groups}
    own = (
        Row(str(focus.pk), _("%(name)s（本级）") % {"name": focus.name}, focus.code)
        if focus
        else None
    )
    unassigned = Row("", _("未指定单位"))
    for values in sums:
        path = values["unit__path"] or ""
        if own is not None and focus is not None and values["unit_id"] == focus.pk:
            own.add(values)
            continue
        target = next((g for g in groups if path and path.startswith(g.path)), None)
        (rows[target.pk] if target is not None else unassigned).add(values)
    result = list(rows.values())
    if own is not None and any(own.counts.values()):
        result.insert(0, own)
    if any(unassigned.counts.values()):
        result.append(unassigned)
    return result


def _by_category(sums: list[dict[str, Any]]) -> list[Row]:
    names = {
        c.pk: (str(c), c.code)
        for c in Category.objects.filter(pk__in=[v["category_id"] for v in sums]).select_related(
            "parent"
        )
    }
    rows = []
    for values in sums:
        label, code = names.get(values["category_id"], (_("未分类"), ""))
        row = Row(str(values["category_id"] or ""), label, code)
        row.add(values)
        rows.append(row)
    return sorted(rows, key=lambda r: (r.code == "", r.label))


def _by_grid(sums: list[dict[str, Any]]) -> list[Row]:
    names = {
        g.pk: (g.name, g.code) for g in Grid.objects.filter(pk__in=[v["grid_id"] for v in sums])
    }
    rows = []
    for values in sums:
        label, code = names.get(values["grid_id"], (_("未划入网格"), ""))
        row = Row(str(values["grid_id"] or ""), label, code)
        row.add(values)
        rows.append(row)
    return sorted(rows, key=lambda r: (r.code == "", r.code))


def _by_period(sums: list[dict[str, Any]], kind: str, start: dt.date, end: dt.date) -> list[Row]:
    rows = {
        first: Row(first.isoformat(), periods.bucket_label(kind, first))
        for first in periods.buckets(kind, start, end)
    }
    for values in sums:
        rows[periods.bucket_start(kind, values["day"])].add(values)
    return list(rows.values())


def table(
    *,
    by: str,
    start: dt.date,
    end: dt.date,
    unit: Unit | None = None,
    scope: Sequence[Unit] | None = None,
) -> Table:
    """KPIs for the Beijing days ``start``–``end`` (both included), one row per ``by`` group.

    ``unit``: only that unit and the units below it. ``scope``: the top units a viewer may see
    (None: everything). The caller checks that ``unit`` lies within ``scope``.
    """
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
    if by == "unit":
        rows = _by_unit(
            _sums_by("", ("unit_id", "unit__path"), start, end, unit, scope), unit, scope
        )
    elif by == "category":
        rows = _by_category(_sums_by("", ("category_id",), start, end, unit, scope))
    elif by == "grid":
        rows = _by_grid(_sums_by("grid", ("grid_id",), start, end, unit, scope))
    else:
        sums = _sums_by(
            "", ("day",), start, end, unit, scope, whole_months=by in {"month", "quarter"}
        )
        rows = _by_period(sums, by, start, end)
    total = Row("", _("合计"))
    for row in rows:
        total.add(row.counts)
    return Table(by, start, end, unit, rows, total, rolled_at())
