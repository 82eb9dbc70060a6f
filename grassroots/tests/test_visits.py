"""Visits: logging in one's own grid, refusal outside it, one-step appeal, coverage, unvisited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from appeals.models import Appeal, Channel
from audit.models import AuditEntry
from grassroots import services
from grassroots.models import Household, Visit
from minsheng.errors import Conflict, Forbidden, ServiceError

pytestmark = pytest.mark.django_db


def test_a_cadre_logs_a_visit_in_their_own_grid(cadre: Any, households: list[Household]) -> None:
    visit = services.log_visit(
        cadre, households[0], met="李秀英本人", found="楼道灯坏了两周", needs="修灯"
    )
    assert visit.cadre == cadre and visit.household == households[0]
    assert AuditEntry.objects.filter(
        action="grassroots.visit_log", object_id=str(visit.pk)
    ).exists()


def test_a_visit_for_a_household_outside_the_cadres_grid_is_refused_and_audited(
    cadre: Any, stranger_household: Household
) -> None:
    with pytest.raises(Forbidden) as refused:
        services.log_visit(cadre, stranger_household, met="户主", found="无")
    assert refused.value.code == "outside_grid"
    assert "不在您负责的网格内" in str(refused.value.message)
    assert not Visit.objects.exists()
    assert AuditEntry.objects.filter(action="grassroots.visit_refused").count() == 1


def test_a_visit_plan_lets_a_cadre_visit_another_grid_while_it_runs(
    cadre: Any, leader: Any, stranger_household: Household
) -> None:
    today = timezone.localdate()
    services.create_plan(
        leader, cadre=cadre, grid=stranger_household.grid, starts_on=today, ends_on=today
    )
    visit = services.log_visit(cadre, stranger_household, met="孙美兰", found="独居老人")
    assert visit.pk is not None


def test_a_visit_needs_who_was_met_and_what_was_found(
    cadre: Any, households: list[Household]
) -> None:
    with pytest.raises(ServiceError) as missing:
        services.log_visit(cadre, households[0], met="", found="x")
    assert missing.value.status == 422 and missing.value.detail == {"field": "met"}
    future = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ServiceError):
        services.log_visit(cadre, households[0], met="本人", found="x", visited_on=future)


def test_a_found_problem_becomes_one_appeal_through_the_visit_channel(
    cadre: Any, households: list[Household]
) -> None:
    visit = services.log_visit(cadre, households[1], met="王建国", found="下水道反味", needs="疏通")
    appeal = services.raise_appeal(cadre, visit)
    appeal.refresh_from_db()
    assert appeal.channel == Channel.VISIT
    assert appeal.taken_by == cadre
    assert appeal.grid == households[1].grid
    assert appeal.contact_phone == "13800138002"
    assert "下水道反味" in appeal.text
    visit.refresh_from_db()
    assert visit.appeal == appeal
    with pytest.raises(Conflict):
        services.raise_appeal(cadre, visit)
    assert Appeal.objects.count() == 1


def test_only_the_visiting_cadre_can_raise_the_appeal(
    cadre: Any, leader: Any, households: list[Household]
) -> None:
    visit = services.log_visit(cadre, households[1], met="王建国", found="下水道反味")
    with pytest.raises(Forbidden):
        services.raise_appeal(leader, visit)


def test_a_follow_up_visit_must_be_to_the_same_household(
    cadre: Any, households: list[Household]
) -> None:
    first = services.log_visit(cadre, households[0], met="本人", found="灯坏了")
    follow = services.log_visit(
        cadre, households[0], met="本人", found="灯已修好", follow_up_of=first
    )
    assert list(first.follow_ups.all()) == [follow]
    with pytest.raises(ServiceError):
        services.log_visit(cadre, households[1], met="本人", found="x", follow_up_of=first)


def test_coverage_counts_households_visited_in_the_window_once_each(
    cadre: Any, households: list[Household], org_tree: Any
) -> None:
    today = timezone.localdate()
    services.log_visit(cadre, households[0], met="a", found="b")
    services.log_visit(cadre, households[0], met="a", found="again")
    services.log_visit(
        cadre, households[1], met="a", found="old", visited_on=today - dt.timedelta(days=40)
    )
    from org.models import Grid

    [(_grid, row)] = services.coverage_by_grid(Grid.objects.filter(pk=org_tree.grid.pk), 30)
    assert (row.households, row.visited, row.percent) == (3, 1, 33)
    [(_who, mine)] = services.coverage_by_cadre([cadre], 30)
    assert (mine.households, mine.visited) == (3, 1)
    missing = services.unvisited(Grid.objects.filter(pk=org_tree.grid.pk), 30)
    assert [h.address for h in missing] == [households[1].address, households[2].address]
    wider = services.unvisited(Grid.objects.filter(pk=org_tree.grid.pk), 60)
    assert [h.address for h in wider] == [households[2].address]
