"""Periods on the Beijing calendar: which days a day, week, month, quarter or custom range covers.

Every KPI places a fact on the Beijing date of its timestamp (docs/kpi.md), so a period is a pair
of dates, both included, and its moments run from 00:00 of the first to 00:00 after the last.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from org.calendar import CALENDAR_TZ

KINDS: dict[str, object] = {
    "day": _("日"),
    "week": _("周"),
    "month": _("月"),
    "quarter": _("季度"),
    "custom": _("自定义"),
}
# A custom range longer than this is refused: the page and the API stay quick whatever is asked.
MAX_DAYS = 3 * 366


def today() -> dt.date:
    return timezone.now().astimezone(CALENDAR_TZ).date()


def start_of(day: dt.date) -> dt.datetime:
    """00:00 Beijing time on ``day``."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=CALENDAR_TZ)


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(CALENDAR_TZ).date()


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def bucket_start(kind: str, day: dt.date) -> dt.date:
    """The first day of the ``kind`` period (day, week, month, quarter) that holds ``day``."""
    starts = {
        "day": lambda d: d,
        "week": week_start,
        "month": month_start,
        "quarter": quarter_start,
    }
    return starts[kind](day)


def bucket_end(kind: str, first: dt.date) -> dt.date:
    """The last day of the ``kind`` period starting on ``first``."""
    if kind == "day":
        return first
    if kind == "week":
        return first + dt.timedelta(days=6)
    months = 1 if kind == "month" else 3
    return _add_months(first, months) - dt.timedelta(days=1)


def bucket_label(kind: str, first: dt.date) -> str:
    if kind == "day":
        return first.isoformat()
    if kind == "week":
        year, week, _weekday = first.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "month":
        return f"{first.year}-{first.month:02d}"
    return f"{first.year}-Q{(first.month - 1) // 3 + 1}"


@dataclass(frozen=True)
class Period:
    kind: str
    start: dt.date
    end: dt.date  # included

    @classmethod
    def containing(cls, kind: str, day: dt.date) -> Period:
        first = bucket_start(kind, day)
        return cls(kind, first, bucket_end(kind, first))

    @classmethod
    def custom(cls, start: dt.date, end: dt.date) -> Period:
        if end < start:
            raise ValueError(str(_("结束日期不能早于开始日期")))
        if (end - start).days + 1 > MAX_DAYS:
            raise ValueError(str(_("时间范围最长 %(n)s 天") % {"n": MAX_DAYS}))
        return cls("custom", start, end)

    @property
    def label(self) -> str:
        if self.kind == "custom" or self.start != bucket_start(self.kind, self.start):
            return f"{self.start.isoformat()} – {self.end.isoformat()}"
        return bucket_label(self.kind, self.start)

    def previous(self, count: int = 1) -> Period:
        """The period ``count`` steps earlier (same kind; a custom range moves by its length)."""
        if self.kind == "custom":
            length = (self.end - self.start).days + 1
            return Period.custom(
                self.start - dt.timedelta(days=length * count),
                self.end - dt.timedelta(days=length * count),
            )
        first = self.start
        for _step in range(count):
            first = bucket_start(self.kind, first - dt.timedelta(days=1))
        return Period.containing(self.kind, first)


def buckets(kind: str, start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """First days of the ``kind`` periods that meet [start, end], in order."""
    first = bucket_start(kind, start)
    while first <= end:
        yield first
        first = bucket_end(kind, first) + dt.timedelta(days=1)


def day_ranges(days: set[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Runs of consecutive days as (first, last) pairs, so a query needs few range conditions."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] + dt.timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs
