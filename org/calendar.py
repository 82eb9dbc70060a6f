"""The working calendar: which days are working days, and deadlines counted on them.

Days come from the ``chinese_calendar`` package (official public holidays and the weekend days
moved to make up for them), with the admin's ``CalendarOverride`` rows winning over the package
for local days. Years the package does not know yet fall back to Monday–Friday, with a warning in
the log, until the package is upgraded or the admin adds overrides.

Working hours default to 09:00–12:00 and 13:30–17:30 Beijing time; a deployment may set
``MINSHENG_WORKDAY_HOURS=08:30-12:00,14:00-18:00`` in its environment (docs/settings.md).

Every function takes aware datetimes only (a naive one raises ValueError) and answers in
Beijing time, whatever the server's zone: the official calendar is Beijing's.

Rules for periods, following the civil-law convention (民法典 第二百零一条、第二百零三条):
- ``add_working_hours(t, n)``: the moment when n working hours have elapsed after t. Time before
  9:00, over lunch, after 17:30 and on rest days does not count. Exactly filling a morning ends
  at 12:00, not at 13:30.
- ``add_working_days(t, n)``: the period starts the day after t; the deadline is the close of
  business (17:30) of the n-th working day after t's day.
- ``add_calendar_days(t, n)``: the period starts the day after t; its last day is t's day + n;
  if that day is not a working day the last day moves to the next working day; the deadline is
  the close of business of the last day ("有业务时间的，停止业务活动的时间为截止时间").
- ``working_days_between(a, b)``: how many working days have closed after a's day and by b, so
  that ``working_days_between(t, add_working_days(t, n)) == n``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time as monotonic_clock
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings
from django.core.cache import cache

log = logging.getLogger("minsheng.org.calendar")

CALENDAR_TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_WORKDAY_HOURS: tuple[tuple[str, str], ...] = (("09:00", "12:00"), ("13:30", "17:30"))
# Other processes learn that an override changed through this key in the shared cache (Redis in
# production); each process looks at it at most every _REVALIDATE_SECONDS.
_VERSION_KEY = "org:calendar:version"
_REVALIDATE_SECONDS = 30.0
# No real calendar has this many rest days in a row; reaching it means the overrides are broken.
_MAX_SCAN_DAYS = 3660

Hours = int | float | Decimal


class CalendarError(ValueError):
    """The calendar cannot answer: bad configuration or a period that never ends."""


# --- working hours -------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _parse_hours(raw: tuple[tuple[str, str], ...]) -> tuple[tuple[dt.time, dt.time], ...]:
    periods: list[tuple[dt.time, dt.time]] = []
    for pair in raw:
        try:
            start_text, end_text = pair
            start = dt.time.fromisoformat(start_text)
            end = dt.time.fromisoformat(end_text)
        except (TypeError, ValueError) as exc:
            raise CalendarError(
                f"MINSHENG_WORKDAY_HOURS: {pair!r} is not a pair of 'HH:MM' times"
            ) from exc
        if not start < end:
            raise CalendarError(f"MINSHENG_WORKDAY_HOURS: {pair!r} ends before it starts")
        if periods and start < periods[-1][1]:
            raise CalendarError(f"MINSHENG_WORKDAY_HOURS: {pair!r} overlaps the period before it")
        periods.append((start, end))
    if not periods:
        raise CalendarError("MINSHENG_WORKDAY_HOURS: at least one working period is needed")
    return tuple(periods)


def working_periods() -> tuple[tuple[dt.time, dt.time], ...]:
    """The day's working periods in Beijing time, in order."""
    raw = getattr(settings, "MINSHENG_WORKDAY_HOURS", DEFAULT_WORKDAY_HOURS)
    return _parse_hours(tuple(tuple(pair) for pair in raw))


def working_day_length() -> dt.timedelta:
    day = dt.date(2000, 1, 1)
    return sum(
        (
            dt.datetime.combine(day, end) - dt.datetime.combine(day, start)
            for start, end in working_periods()
        ),
        dt.timedelta(0),
    )


# --- which days are working days ----------------------------------------------------------------
class _DayCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.overrides: dict[dt.date, bool] | None = None
        self.years: dict[int, frozenset[dt.date]] = {}
        self.version: Any = None
        self.checked_at = 0.0

    def clear(self) -> None:
        with self.lock:
            self.overrides = None
            self.years = {}
            self.checked_at = 0.0


_cache = _DayCache()
_warned_years: set[int] = set()


def clear_cache() -> None:
    """Forget the computed years in this process (tests, and after an override changes)."""
    _cache.clear()


def overrides_changed() -> None:
    """Called when a CalendarOverride is saved or deleted: every process recomputes its years."""
    cache.set(_VERSION_KEY, monotonic_clock.time_ns(), timeout=None)
    clear_cache()


def _revalidate() -> None:
    now = monotonic_clock.monotonic()
    if now - _cache.checked_at < _REVALIDATE_SECONDS:
        return
    version = cache.get(_VERSION_KEY)
    if version != _cache.version:
        _cache.clear()
        _cache.version = version
    _cache.checked_at = now


def _overrides() -> dict[dt.date, bool]:
    if _cache.overrides is None:
        from org.models import CalendarOverride

        rows = CalendarOverride.objects.values_list("date", "is_workday")
        _cache.overrides = dict(rows)
    return _cache.overrides


def _official_workday(day: dt.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning(
                "the official holiday calendar has no data for %s: counting Monday to Friday as "
                "working days; upgrade chinesecalendar or add calendar overrides",
                day.year,
            )
        return day.weekday() < 5


def _workdays_of(year: int) -> frozenset[dt.date]:
    _revalidate()
    days = _cache.years.get(year)
    if days is None:
        overrides = _overrides()
        first = dt.date(year, 1, 1)
        result = set()
        for offset in range((dt.date(year + 1, 1, 1) - first).days):
            day = first + dt.timedelta(days=offset)
            if overrides.get(day, _official_workday(day)):
                result.add(day)
        days = frozenset(result)
        with _cache.lock:
            _cache.years[year] = days
    return days


def _aware_local(moment: dt.datetime) -> dt.datetime:
    if not isinstance(moment, dt.datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: the calendar needs aware datetimes")
    return moment.astimezone(CALENDAR_TZ)


def is_workday(day: dt.date | dt.datetime) -> bool:
    """Is this day (an aware datetime counts by its Beijing date) a working day?"""
    if isinstance(day, dt.datetime):
        day = _aware_local(day).date()
    return day in _workdays_of(day.year)


def next_workday(day: dt.date, *, include_self: bool = False) -> dt.date:
    candidate = day if include_self else day + dt.timedelta(days=1)
    for _ in range(_MAX_SCAN_DAYS):
        if is_workday(candidate):
            return candidate
        candidate += dt.timedelta(days=1)
    raise CalendarError(f"no working day within {_MAX_SCAN_DAYS} days after {day}")


def close_of_business(day: dt.date) -> dt.datetime:
    """The end of the day's last working period, in Beijing time."""
    return dt.datetime.combine(day, working_periods()[-1][1], tzinfo=CALENDAR_TZ)


def _periods_on(day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    if not is_workday(day):
        return []
    return [
        (
            dt.datetime.combine(day, start, tzinfo=CALENDAR_TZ),
            dt.datetime.combine(day, end, tzinfo=CALENDAR_TZ),
        )
        for start, end in working_periods()
    ]


# --- periods ------------------------------------------------------------------------------------
def _as_timedelta(hours: Hours) -> dt.timedelta:
    if isinstance(hours, bool) or not isinstance(hours, int | float | Decimal):
        raise TypeError(f"working hours must be a number, got {type(hours).__name__}")
    if hours < 0:
        raise ValueError(f"working hours must not be negative, got {hours}")
    return dt.timedelta(seconds=float(hours) * 3600)


def add_working_hours(moment: dt.datetime, hours: Hours) -> dt.datetime:
    """The moment when ``hours`` working hours have elapsed after ``moment``."""
    current = _aware_local(moment)
    remaining = _as_timedelta(hours)
    if not remaining:
        return current
    day = current.date()
    for _ in range(_MAX_SCAN_DAYS * 50):
        for start, end in _periods_on(day):
            if current >= end:
                continue
            begin = max(current, start)
            available = end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += dt.timedelta(days=1)
        current = dt.datetime.combine(day, dt.time(0), tzinfo=CALENDAR_TZ)
    raise CalendarError(f"{hours} working hours after {moment.isoformat()} is out of range")


def add_working_days(moment: dt.datetime, days: int) -> dt.datetime:
    """Close of business of the ``days``-th working day after ``moment``'s day (0: ``moment``)."""
    current = _aware_local(moment)
    _check_days(days)
    if days == 0:
        return current
    day = current.date()
    for _ in range(days):
        day = next_workday(day)
    return close_of_business(day)


def add_calendar_days(moment: dt.datetime, days: int) -> dt.datetime:
    """A statutory period of ``days`` days: last day ``moment``'s day + days, moved off rest days."""
    current = _aware_local(moment)
    _check_days(days)
    if days == 0:
        return current
    last_day = next_workday(current.date() + dt.timedelta(days=days), include_self=True)
    return close_of_business(last_day)


def _check_days(days: int) -> None:
    if isinstance(days, bool) or not isinstance(days, int):
        raise TypeError(f"a number of days must be an integer, got {type(days).__name__}")
    if days < 0:
        raise ValueError(f"a number of days must not be negative, got {days}")


def working_time_between(start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """Working time from ``start`` to ``end`` (negative when ``end`` comes first)."""
    a, b = _aware_local(start), _aware_local(end)
    if b < a:
        return -working_time_between(end, start)
    total = dt.timedelta(0)
    day = a.date()
    last = b.date()
    while day <= last:
        for period_start, period_end in _periods_on(day):
            overlap = min(b, period_end) - max(a, period_start)
            if overlap > dt.timedelta(0):
                total += overlap
        day += dt.timedelta(days=1)
    return total


def working_hours_between(start: dt.datetime, end: dt.datetime) -> float:
    """Working hours from ``start`` to ``end`` (negative when ``end`` comes first)."""
    return working_time_between(start, end).total_seconds() / 3600


def working_days_between(start: dt.datetime, end: dt.datetime) -> int:
    """Working days after ``start``'s day whose close of business is at or before ``end``."""
    a, b = _aware_local(start), _aware_local(end)
    if b < a:
        return -working_days_between(end, start)
    count = 0
    day = a.date() + dt.timedelta(days=1)
    last = b.date()
    while day <= last:
        if is_workday(day) and close_of_business(day) <= b:
            count += 1
        day += dt.timedelta(days=1)
    return count


# A dispatch table keyed by org.models.TimeUnit values, so callers never branch on the unit.
_ADDERS: dict[str, Callable[[dt.datetime, Any], dt.datetime]] = {
    "hours": add_working_hours,
    "days": add_working_days,
    "calendar_days": add_calendar_days,
}


def add_period(moment: dt.datetime, amount: int, unit: str) -> dt.datetime:
    """The deadline ``amount`` ``unit`` after ``moment`` (unit: hours, days or calendar_days)."""
    try:
        adder = _ADDERS[unit]
    except KeyError:
        raise ValueError(
            f"unknown period unit {unit!r}: use one of {', '.join(sorted(_ADDERS))}"
        ) from None
    return adder(moment, amount)
