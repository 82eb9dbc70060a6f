"""The queue's countdowns sum whole days once per page (``WorkingTime``); they must say exactly
what the calendar says, for spans of minutes to years, in either direction."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from appeals.views_workbench import WorkingTime
from org import calendar
from org.calendar import CALENDAR_TZ

pytestmark = pytest.mark.django_db  # the calendar reads its overrides


def test_working_time_of_a_page_equals_the_calendars_walk_day_by_day() -> None:
    rng = random.Random(7)
    working = WorkingTime()
    now = dt.datetime(2026, 11, 27, 15, 20, tzinfo=CALENDAR_TZ)
    spans = [dt.timedelta(minutes=rng.randrange(1, 60 * 24 * 800)) for _ in range(60)]
    spans += [dt.timedelta(hours=h) for h in (1, 23, 24, 25, 47, 48, 49, 72)]
    for span in spans:
        due = now - span
        assert working.between(due, now) == calendar.working_time_between(due, now)
        assert working.between(now, due) == calendar.working_time_between(now, due)
        later = now + span / 3
        assert working.between(now, later) == calendar.working_time_between(now, later)


def test_spans_across_the_spring_festival_and_a_weekend_count_no_holiday() -> None:
    working = WorkingTime()
    start = dt.datetime(2025, 1, 24, 17, 0, tzinfo=CALENDAR_TZ)  # the Friday before
    end = dt.datetime(2025, 2, 10, 9, 30, tzinfo=CALENDAR_TZ)
    assert working.between(start, end) == calendar.working_time_between(start, end)
    # An earlier span after a later one reuses and extends the same running totals.
    earlier = dt.datetime(2024, 12, 30, 8, 0, tzinfo=CALENDAR_TZ)
    assert working.between(earlier, end) == calendar.working_time_between(earlier, end)
    assert working.between(start, end) == calendar.working_time_between(start, end)
