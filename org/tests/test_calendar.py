from __future__ import annotations

import datetime as dt
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from org import calendar as cal
from org import services

pytestmark = pytest.mark.django_db

BJ = cal.CALENDAR_TZ
UTC = dt.UTC


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=BJ)


def test_national_day_2025_is_off_and_its_make_up_weekends_are_workdays():
    for day in range(1, 9):
        assert not cal.is_workday(dt.date(2025, 10, day)), f"2025-10-{day} is a holiday"
    assert cal.is_workday(dt.date(2025, 9, 28))  # Sunday, make-up workday
    assert cal.is_workday(dt.date(2025, 10, 11))  # Saturday, make-up workday
    assert cal.is_workday(dt.date(2025, 10, 9))
    assert not cal.is_workday(dt.date(2025, 10, 12))  # an ordinary Sunday


def test_spring_festival_2026_is_off_and_its_make_up_saturdays_are_workdays():
    for day in range(15, 24):
        assert not cal.is_workday(dt.date(2026, 2, day)), f"2026-02-{day} is a holiday"
    assert cal.is_workday(dt.date(2026, 2, 14))
    assert cal.is_workday(dt.date(2026, 2, 28))
    assert cal.is_workday(dt.date(2026, 2, 24))


def test_an_aware_datetime_counts_by_its_beijing_date():
    # 2025-09-30 17:00 UTC is already 1 October in Beijing.
    assert not cal.is_workday(dt.datetime(2025, 9, 30, 17, 0, tzinfo=UTC))
    assert cal.is_workday(dt.datetime(2025, 9, 30, 15, 0, tzinfo=UTC))


def test_naive_datetimes_are_refused():
    naive = dt.datetime(2025, 10, 9, 10, 0)  # noqa: DTZ001 - the point of the test
    for call in (
        lambda: cal.add_working_hours(naive, 1),
        lambda: cal.add_working_days(naive, 1),
        lambda: cal.add_calendar_days(naive, 1),
        lambda: cal.working_hours_between(naive, at(2025, 10, 10)),
        lambda: cal.working_days_between(at(2025, 10, 10), naive),
        lambda: cal.is_workday(naive),
    ):
        with pytest.raises(ValueError, match="naive"):
            call()


def test_negative_periods_are_refused():
    with pytest.raises(ValueError):
        cal.add_working_hours(at(2025, 10, 9, 10), -1)
    with pytest.raises(ValueError):
        cal.add_working_days(at(2025, 10, 9, 10), -1)


def test_an_override_wins_over_the_official_calendar(admin):
    assert cal.is_workday(dt.date(2025, 10, 9))
    services.set_calendar_override(admin, dt.date(2025, 10, 9), is_workday=False, name="地方假日")
    assert not cal.is_workday(dt.date(2025, 10, 9))
    services.set_calendar_override(admin, dt.date(2025, 10, 12), is_workday=True, name="补班")
    assert cal.is_workday(dt.date(2025, 10, 12))
    services.remove_calendar_override(admin, dt.date(2025, 10, 9))
    assert cal.is_workday(dt.date(2025, 10, 9))


def test_working_hours_skip_lunch():
    assert cal.add_working_hours(at(2025, 10, 9, 11, 0), 2) == at(2025, 10, 9, 14, 30)
    assert cal.working_hours_between(at(2025, 10, 9, 11, 0), at(2025, 10, 9, 14, 30)) == 2


def test_filling_a_morning_ends_at_noon_not_after_lunch():
    assert cal.add_working_hours(at(2025, 10, 9, 9, 0), 3) == at(2025, 10, 9, 12, 0)


def test_working_hours_skip_nights_and_start_at_nine():
    # Thursday 16:30 + 2h: one hour on Thursday, one on Friday from 9:00.
    assert cal.add_working_hours(at(2025, 10, 9, 16, 30), 2) == at(2025, 10, 10, 10, 0)
    # Asked at 20:00, the clock starts next morning.
    assert cal.add_working_hours(at(2025, 10, 9, 20, 0), 1) == at(2025, 10, 10, 10, 0)
    assert cal.working_hours_between(at(2025, 10, 9, 18, 0), at(2025, 10, 10, 8, 0)) == 0


def test_working_hours_skip_the_national_day_week():
    # Tuesday 30 September 17:00 + 1h: half an hour that day, then Thursday 9 October.
    assert cal.add_working_hours(at(2025, 9, 30, 17, 0), 1) == at(2025, 10, 9, 9, 30)
    assert cal.working_hours_between(at(2025, 9, 30, 9, 0), at(2025, 10, 9, 12, 0)) == 7 + 3


def test_a_full_working_day_is_seven_hours_by_default():
    assert cal.working_day_length() == dt.timedelta(hours=7)
    assert cal.add_working_hours(at(2025, 10, 9, 9, 0), 7) == at(2025, 10, 9, 17, 30)


def test_working_hours_follow_the_setting(settings):
    settings.MINSHENG_WORKDAY_HOURS = [("08:30", "12:00"), ("14:00", "18:00")]
    assert cal.working_day_length() == dt.timedelta(hours=7, minutes=30)
    assert cal.add_working_hours(at(2025, 10, 9, 11, 30), 1) == at(2025, 10, 9, 14, 30)
    assert cal.add_working_days(at(2025, 10, 9, 10), 1) == at(2025, 10, 10, 18, 0)


def test_a_bad_hours_setting_names_what_is_wrong(settings):
    settings.MINSHENG_WORKDAY_HOURS = [("13:00", "12:00")]
    with pytest.raises(cal.CalendarError, match="ends before it starts"):
        cal.working_periods()


def test_working_days_start_the_next_day_and_end_at_close_of_business():
    # Thursday 9 October 2025, 10:00 + 1 working day → Friday 10 October 17:30.
    assert cal.add_working_days(at(2025, 10, 9, 10), 1) == at(2025, 10, 10, 17, 30)
    # + 2 working days → Saturday 11 October (a make-up workday).
    assert cal.add_working_days(at(2025, 10, 9, 10), 2) == at(2025, 10, 11, 17, 30)
    # + 3 → Monday 13 October (Sunday 12 is off).
    assert cal.add_working_days(at(2025, 10, 9, 10), 3) == at(2025, 10, 13, 17, 30)
    assert cal.add_working_days(at(2025, 10, 9, 10), 0) == at(2025, 10, 9, 10)


def test_working_days_jump_the_spring_festival():
    # Friday 13 February 2026 + 2 working days: Sat 14 (make-up), then Tue 24 February.
    assert cal.add_working_days(at(2026, 2, 13, 15), 2) == at(2026, 2, 24, 17, 30)
    assert cal.working_days_between(at(2026, 2, 13, 15), at(2026, 2, 24, 17, 30)) == 2
    assert cal.working_days_between(at(2026, 2, 13, 15), at(2026, 2, 24, 17, 29)) == 1


def test_calendar_days_end_on_the_next_working_day_when_the_last_day_is_a_holiday():
    # 15 days from 20 September 2025 end on 5 October, inside National Day → 9 October.
    assert cal.add_calendar_days(at(2025, 9, 20, 10), 15) == at(2025, 10, 9, 17, 30)
    # 60 days from 9 October 2025 end on Monday 8 December, a working day.
    assert cal.add_calendar_days(at(2025, 10, 9, 10), 60) == at(2025, 12, 8, 17, 30)


def test_add_period_dispatches_on_the_unit():
    start = at(2025, 10, 9, 10)
    assert cal.add_period(start, 2, "hours") == cal.add_working_hours(start, 2)
    assert cal.add_period(start, 2, "days") == cal.add_working_days(start, 2)
    assert cal.add_period(start, 2, "calendar_days") == cal.add_calendar_days(start, 2)
    with pytest.raises(ValueError, match="unknown period unit"):
        cal.add_period(start, 2, "weeks")


def test_years_beyond_the_package_fall_back_to_monday_to_friday_with_a_warning(caplog):
    cal._warned_years.discard(2099)
    with caplog.at_level(logging.WARNING, logger="minsheng.org.calendar"):
        assert cal.is_workday(dt.date(2099, 1, 1))  # a Thursday; no holiday data for 2099
        assert not cal.is_workday(dt.date(2099, 1, 3))  # a Saturday
    assert any("2099" in r.getMessage() for r in caplog.records)


def test_a_change_made_by_another_process_arrives_through_the_shared_version(monkeypatch):
    from django.core.cache import cache

    from org.models import CalendarOverride

    monkeypatch.setattr(cal, "_REVALIDATE_SECONDS", 0.0)  # look at the shared version every call
    assert cal.is_workday(dt.date(2025, 10, 10))
    # Written as another process would: this process gets no signal and keeps its computed year.
    CalendarOverride.objects.create(date=dt.date(2025, 10, 10), is_workday=False)
    assert cal.is_workday(dt.date(2025, 10, 10))
    cache.set(cal._VERSION_KEY, "moved-by-another-process")
    assert not cal.is_workday(dt.date(2025, 10, 10))


moments = st.datetimes(
    min_value=dt.datetime(2024, 12, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=dt.datetime(2026, 6, 30),  # noqa: DTZ001
    timezones=st.just(BJ),
)
quick = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@quick
@given(start=moments, hours=st.integers(min_value=0, max_value=200))
def test_adding_working_hours_then_counting_gives_them_back(start, hours):
    end = cal.add_working_hours(start, hours)
    assert end >= start
    assert cal.working_hours_between(start, end) == hours


@quick
@given(start=moments, minutes=st.integers(min_value=1, max_value=60 * 40))
def test_added_working_hours_never_end_outside_working_time(start, minutes):
    end = cal.add_working_hours(start, minutes / 60)
    assert cal.is_workday(end.date())
    assert any(s <= end.time() <= e for s, e in cal.working_periods())


@quick
@given(start=moments, days=st.integers(min_value=0, max_value=60))
def test_adding_working_days_then_counting_gives_them_back(start, days):
    end = cal.add_working_days(start, days)
    assert cal.working_days_between(start, end) == days
    if days:
        assert cal.is_workday(end.date())
        assert end.time() == dt.time(17, 30)


@quick
@given(a=moments, b=moments)
def test_counting_backwards_is_the_negative_of_counting_forwards(a, b):
    assert cal.working_hours_between(a, b) == -cal.working_hours_between(b, a)
    assert cal.working_days_between(a, b) == -cal.working_days_between(b, a)


@quick
@given(start=moments, days=st.integers(min_value=1, max_value=90))
def test_a_calendar_day_period_never_ends_before_its_last_day_nor_on_a_rest_day(start, days):
    end = cal.add_calendar_days(start, days)
    assert end.date() >= start.date() + dt.timedelta(days=days)
    assert cal.is_workday(end.date())
    between = end.date() - dt.timedelta(days=1)
    while between >= start.date() + dt.timedelta(days=days):
        assert not cal.is_workday(between), "it moved past a working day"
        between -= dt.timedelta(days=1)
