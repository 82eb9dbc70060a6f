"""Each KPI of docs/kpi.md on the hand-built scenario (kpi/tests/conftest.py), worked by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kpi import metrics, rollup
from kpi.tests.conftest import Scenario

pytestmark = pytest.mark.django_db
NOV = (dt.date(2025, 11, 1), dt.date(2025, 11, 30))


def _by_unit(org_tree: Any, unit: Any = None) -> dict[str, metrics.Row]:
    result = metrics.table(by="unit", start=NOV[0], end=NOV[1], unit=unit)
    return {row.code: row for row in result.rows} | {"*": result.total}


def test_response_rate_counts_dispatches_signed_in_time_over_those_due_a_response(
    scenario: Scenario, org_tree: Any
) -> None:
    rollup.run()
    rows = _by_unit(org_tree)
    cg = rows["test-chengguan"]
    # a, b, c (redispatch), d, e; d still waits and e was withdrawn before its deadline.
    assert cg.counts["dispatched"] == 5
    assert cg.counts["sign_expected"] == 3  # a (in time), b (late), c (flagged overdue)
    assert cg.counts["signed_on_time"] == 1
    assert cg.rate("response_rate") == pytest.approx(1 / 3)
    zj = rows["test-zhujian"]
    # c's first dispatch was returned (due a response, not signed); p was signed in time.
    assert (zj.counts["dispatched"], zj.counts["sign_expected"], zj.counts["signed_on_time"]) == (
        2,
        2,
        1,
    )
    district = rows["test-district"]  # i went to the street below it and still waits
    assert district.counts["dispatched"] == 1
    assert district.rate("response_rate") is None
    total = rows["*"]
    assert (total.counts["dispatched"], total.counts["sign_expected"]) == (8, 5)
    assert total.rate("response_rate") == pytest.approx(2 / 5)


def test_satisfaction_rate_counts_every_callback_and_resolution_only_the_last_per_appeal(
    scenario: Scenario, org_tree: Any
) -> None:
    rollup.run()
    total = _by_unit(org_tree)["*"]
    # a 满意, g 满意 (merged, rated its copy), b 不满意 then 基本满意, p 不满意.
    assert total.counts["callbacks"] == 5
    assert (
        total.counts["satisfied"],
        total.counts["basically_satisfied"],
        total.counts["unsatisfied"],
    ) == (2, 1, 2)
    assert total.rate("satisfaction_rate") == pytest.approx(3 / 5)
    # Last callbacks: a, g, b (基本满意) resolved; p (不满意, reopened) not.
    assert (total.counts["final_callbacks"], total.counts["resolved"]) == (4, 3)
    assert total.rate("resolution_rate") == pytest.approx(3 / 4)
    zj = _by_unit(org_tree)["test-zhujian"]
    assert zj.rate("satisfaction_rate") == 0
    assert zj.rate("resolution_rate") == 0


def test_reopen_rate_is_replies_followed_by_a_reopening_over_replies(
    scenario: Scenario, org_tree: Any
) -> None:
    rollup.run()
    rows = _by_unit(org_tree)
    # a, g's copy, b's first and second reply, p: b's first and p's were reopened.
    assert (rows["*"].counts["replied"], rows["*"].counts["reopened"]) == (5, 2)
    assert rows["*"].rate("reopen_rate") == pytest.approx(2 / 5)
    assert rows["test-chengguan"].rate("reopen_rate") == pytest.approx(1 / 4)


def test_overdue_counts_each_flag_raised_by_the_sweep_on_the_unit_holding_the_order(
    scenario: Scenario, org_tree: Any
) -> None:
    rollup.run()
    rows = _by_unit(org_tree)
    assert rows["test-chengguan"].counts["overdue_sign"] == 1
    assert rows["test-chengguan"].overdue == 1
    assert rows["*"].overdue == 1


def test_average_close_time_is_in_working_hours_from_receipt(
    scenario: Scenario, org_tree: Any
) -> None:
    rollup.run()
    total = _by_unit(org_tree)["*"]
    # a: 3 Nov 09:00 → 5 Nov 10:00 = 7 + 7 + 1 h; b: → 6 Nov 12:00 = 7 + 7 + 7 + 3 h.
    assert total.counts["closed"] == 2
    assert total.avg_close_hours == pytest.approx((15 + 24) / 2)


def test_received_counts_every_appeal_taken_in_under_the_unit_holding_it(
    scenario: Scenario, org_tree: Any
) -> None:
    rollup.run()
    rows = _by_unit(org_tree)
    assert rows["*"].counts["received"] == 9
    assert rows["test-chengguan"].counts["received"] == 6  # a b c d e g
    assert rows["test-12345"].counts["received"] == 1  # f, rejected at the hotline
    assert rows["test-district"].counts["received"] == 1  # i, at the street below


def test_a_unit_row_sums_its_whole_subtree_and_drilling_down_lists_the_sub_units(
    scenario: Scenario, org_tree: Any
) -> None:
    rollup.run()
    below = _by_unit(org_tree, unit=org_tree.district)
    assert below["test-street"].counts["dispatched"] == 1
    assert below["*"].counts["dispatched"] == 1
    assert _by_unit(org_tree)["test-district"].counts["dispatched"] == 1


def test_grouping_by_category_and_grid_splits_the_same_totals(
    scenario: Scenario, org_tree: Any, category_tree: Any
) -> None:
    rollup.run()
    by_category = metrics.table(by="category", start=NOV[0], end=NOV[1])
    names = {row.code: row for row in by_category.rows}
    assert names["test-property-management"].counts["received"] == 1
    assert names["test-street-vending"].counts["received"] == 8
    by_grid = metrics.table(by="grid", start=NOV[0], end=NOV[1])
    grids = {row.code: row for row in by_grid.rows}
    assert grids["test-grid-1"].counts["received"] == 2  # a and b
    assert grids[""].counts["received"] == 7
    assert by_grid.total.counts == by_category.total.counts
