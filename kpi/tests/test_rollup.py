"""The rollup equals the definitions: kpi.metrics (from the daily counters) against kpi.direct
(appeal by appeal in Python), after a first run, after incremental runs and after a rebuild."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache

from appeals import services
from appeals.clock import sweep
from kpi import direct, metrics, rollup
from kpi.models import DailyCount
from kpi.tests.conftest import Scenario, nov
from org.calendar import CALENDAR_TZ

pytestmark = pytest.mark.django_db
START, END = dt.date(2025, 10, 1), dt.date(2025, 12, 31)


def _assert_same(org_tree: Any) -> None:
    # Whole months (read from the monthly rows) and ranges cut inside months (daily rows too).
    for start, end in ((START, END), (dt.date(2025, 11, 4), dt.date(2025, 12, 15))):
        _assert_same_in(org_tree, start, end)


def _assert_same_in(org_tree: Any, start: dt.date, end: dt.date) -> None:
    for by in metrics.GROUPINGS:
        for unit in (None, org_tree.city, org_tree.district, org_tree.chengguan):
            if by == "unit" and unit is None:
                continue  # the root's grouping is the city's: checked with unit=city
            expected = direct.table(by=by, start=start, end=end, unit=unit)
            got = metrics.table(by=by, start=start, end=end, unit=unit)
            rows = {row.key: row.counts for row in got.rows if any(row.counts.values())}
            want = {k: v for k, v in expected.items() if k != direct.TOTAL}
            assert rows == want, (by, unit)
            assert got.total.counts == expected.get(direct.TOTAL, got.total.counts), (by, unit)
            if not want:
                assert not any(got.total.counts.values())


def test_the_rollup_equals_the_direct_computation_for_every_grouping(
    scenario: Scenario, org_tree: Any
) -> None:
    rollup.run()
    _assert_same(org_tree)


def test_an_incremental_run_recomputes_only_the_changed_appeals_days_and_stays_equal(
    scenario: Scenario, org_tree: Any, dispatcher: Any, handler: Any, other_handler: Any
) -> None:
    rollup.run()
    p, d = scenario.p, scenario.d
    # A day no fact touches keeps its rows untouched: mark one to see it survive.
    untouched = DailyCount.objects.filter(day=dt.date(2025, 11, 3)).count()
    services.do_reply(p, other_handler, text="已督促物业维修完毕。", now=nov(10, 10))
    services.do_callback(p, dispatcher, rating="satisfied", now=nov(10, 15))
    services.do_sign(d, handler, now=nov(10, 9))  # late: due 4 Nov 11:00
    sweep(nov(10, 16))
    result = rollup.run()
    assert result.appeals >= 2
    assert dt.date(2025, 11, 10) in rollup.days_of([p.pk])
    assert result.days < 10
    _assert_same(org_tree)
    assert DailyCount.objects.filter(day=dt.date(2025, 11, 3)).count() == untouched
    total = metrics.table(by="unit", start=START, end=END).total
    assert total.counts["resolved"] == 4  # p is resolved now
    assert total.counts["signed_on_time"] == 2  # d's late sign is not in time


def test_a_rebuild_and_a_run_since_a_day_give_the_same_counters(
    scenario: Scenario, org_tree: Any
) -> None:
    rollup.run()
    before = metrics.table(by="day", start=START, end=END)
    rollup.run(full=True)
    assert metrics.table(by="day", start=START, end=END).total.counts == before.total.counts
    DailyCount.objects.filter(day__gte=dt.date(2025, 11, 5)).delete()
    rollup.run(since=dt.date(2025, 11, 5))
    again = metrics.table(by="day", start=START, end=END)
    assert [r.counts for r in again.rows] == [r.counts for r in before.rows]
    _assert_same(org_tree)


def test_periods_follow_the_beijing_calendar_at_midnight(
    submit: Any, org_tree: Any, category_tree: Any
) -> None:
    late = dt.datetime(2025, 11, 30, 23, 30, tzinfo=CALENDAR_TZ)  # 15:30 UTC on the 30th
    early = dt.datetime(2025, 12, 1, 0, 10, tzinfo=CALENDAR_TZ)  # 16:10 UTC on the 30th
    for moment in (late, early):
        services.do_submit(None, services.Submission(text="路灯不亮"), now=moment)
    rollup.run()
    months = metrics.table(by="month", start=START, end=END)
    counts = {row.label: row.counts["received"] for row in months.rows}
    assert counts == {"2025-10": 0, "2025-11": 1, "2025-12": 1}
    days = metrics.table(by="day", start=dt.date(2025, 11, 30), end=dt.date(2025, 12, 1))
    assert [row.counts["received"] for row in days.rows] == [1, 1]
    weeks = metrics.table(by="week", start=dt.date(2025, 11, 24), end=dt.date(2025, 12, 7))
    assert [(row.label, row.counts["received"]) for row in weeks.rows] == [
        ("2025-W48", 1),
        ("2025-W49", 1),
    ]
    _assert_same(org_tree)


def test_two_rollups_at_once_do_not_both_run(scenario: Scenario) -> None:
    cache.add("kpi:rollup:lock", "someone else", timeout=60)
    try:
        assert rollup.run().busy
    finally:
        cache.delete("kpi:rollup:lock")
    assert not rollup.run().busy


def test_the_command_rolls_up_with_progress_and_checks_against_the_definitions(
    scenario: Scenario,
) -> None:
    from io import StringIO

    from django.core.management import call_command

    out, err = StringIO(), StringIO()
    call_command("kpi", "rollup", "--full", stdout=out, stderr=err)
    assert "row(s) written" in out.getvalue()
    assert "2025-11-03 – 2025-11-30" in err.getvalue()  # from the first appeal, by month
    out = StringIO()
    call_command("kpi", "check", "--start", "2025-11-01", "--end", "2025-11-30", stdout=out)
    assert "equal the definitions for 30 day(s)" in out.getvalue()
    DailyCount.objects.filter(day=dt.date(2025, 11, 4)).update(received=99)
    with pytest.raises(Exception, match="2025-11-04"):
        call_command("kpi", "check", "--start", "2025-11-01", "--end", "2025-11-30")
