"""The legal clock around National Day 2025: deadlines, extensions, suspensions and the sweep."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command

from appeals import clock, services
from appeals.models import Appeal, AppealEvent
from audit.models import AuditEntry

from .conftest import BEFORE_HOLIDAY, at

pytestmark = pytest.mark.django_db


def _dispatch(appeal: Appeal, dispatcher: Any, unit: Any, when: dt.datetime) -> Appeal:
    services.do_register(appeal, dispatcher, now=when)
    services.do_dispatch(appeal, unit, dispatcher, now=when)
    return appeal


def test_dispatch_deadlines_jump_the_national_day_holiday(submit, dispatcher, org_tree):
    appeal, _ = submit()
    _dispatch(appeal, dispatcher, org_tree.chengguan, BEFORE_HOLIDAY)
    # 占道经营: sign within 2 working hours; 1.5 h are left on 30 September, the rest on 9 October.
    assert appeal.sign_due == at(9, 9, 30)
    # Handling and reply: 5 working days (9, 10, 11 — a make-up Saturday —, 13, 14 October).
    assert appeal.handle_due == at(14, 17, 30)
    assert appeal.reply_due == at(14, 17, 30)
    stored = Appeal.objects.get(pk=appeal.pk)
    assert stored.sign_due == at(9, 9, 30)


def test_a_petition_follows_the_regulation_15_days_to_accept_and_60_from_acceptance(
    submit, dispatcher, handler, org_tree, category_tree
):
    appeal, _ = services.do_submit(
        None,
        services.Submission(text="反映征地补偿问题", category=category_tree.petition_general),
        now=at(30, 10, month=9),
    )
    assert appeal.petition
    _dispatch(appeal, dispatcher, org_tree.chengguan, at(30, 11, month=9))
    assert appeal.sign_due == at(15, 17, 30)  # 30 September + 15 days
    services.do_sign(appeal, handler, now=at(10, 10))
    # 10 October + 60 days = 9 December 2025, a Tuesday.
    assert appeal.handle_due == dt.datetime(2025, 12, 9, 17, 30, tzinfo=at(1, 0).tzinfo)
    assert appeal.reply_due == appeal.handle_due


def test_a_petition_extension_needs_a_leader_and_adds_at_most_30_days_once(
    dispatcher, handler, leader, org_tree, category_tree
):
    appeal, _ = services.do_submit(
        None, services.Submission(text="反映征地补偿问题", category=category_tree.petition_general)
    )
    _dispatch(appeal, dispatcher, org_tree.chengguan, at(30, 11, month=9))
    services.do_sign(appeal, handler, now=at(10, 10))
    services.do_handle(appeal, handler, now=at(10, 11))
    with pytest.raises(services.ServiceError):
        services.do_request_extension(appeal, handler, days=31, reason="需要鉴定")
    services.do_request_extension(appeal, handler, days=30, reason="需要第三方鉴定")
    with pytest.raises(services.Forbidden):
        services.do_approve_extension(appeal, handler)
    services.do_approve_extension(appeal, leader)
    # 9 December + 30 days = 8 January 2026.
    assert appeal.handle_due == dt.datetime(2026, 1, 8, 17, 30, tzinfo=at(1, 0).tzinfo)
    assert appeal.extended_days == 30
    with pytest.raises(services.InvalidTransition):
        services.do_request_extension(appeal, handler, days=5, reason="再延一次")


def test_a_suspension_stops_the_clock_and_resuming_moves_deadlines_by_the_paused_working_time(
    appeal, dispatcher, handler, leader, org_tree
):
    _dispatch(appeal, dispatcher, org_tree.chengguan, BEFORE_HOLIDAY)
    services.do_sign(appeal, handler, now=at(9, 9))
    with pytest.raises(services.Forbidden):
        services.do_suspend(appeal, handler, reason="等待听证")
    services.do_suspend(appeal, leader, reason="等待听证", now=at(9, 10))
    with pytest.raises(services.InvalidTransition):
        services.do_handle(appeal, handler)
    # Paused from 10:00 on 9 October to 10:00 on 10 October: one working day (7 hours).
    services.do_resume(appeal, leader, now=at(10, 10))
    assert appeal.suspended_at is None
    assert appeal.suspended_total == dt.timedelta(hours=7)
    assert appeal.handle_due == at(15, 17, 30)


def test_the_sweep_warns_before_a_deadline_and_escalates_once_after_it(
    appeal, dispatcher, leader, org_tree, outbox, django_capture_on_commit_callbacks
):
    leader.phone = "13500135000"
    leader.save()
    _dispatch(appeal, dispatcher, org_tree.chengguan, BEFORE_HOLIDAY)
    quiet = clock.sweep(at(30, 16, 1, month=9) - dt.timedelta(days=20))
    assert quiet.warned == [] and quiet.overdue == []
    first = clock.sweep(at(30, 16, 1, month=9))
    # The sign-for deadline is 1.5 working hours away: within the 1-working-day warning lead.
    assert (appeal.pk, "sign") in first.warned
    assert first.overdue == []
    with django_capture_on_commit_callbacks(execute=True):
        late = clock.sweep(at(9, 9, 31))
    assert late.overdue == [(appeal.pk, "sign")]
    appeal.refresh_from_db()
    assert appeal.sign_overdue and appeal.sign_warned
    assert Appeal.objects.overdue().filter(pk=appeal.pk).exists()
    escalation = AppealEvent.objects.get(appeal=appeal, action="escalate")
    assert escalation.data["leader"] == leader.pk
    assert (
        AuditEntry.objects.filter(action="appeals.overdue", object_id=str(appeal.pk)).count() == 1
    )
    assert any(appeal.code in text and "超期" in text for text in outbox("13500135000"))
    again = clock.sweep(at(9, 9, 45))
    assert again.overdue == [] and (appeal.pk, "sign") not in again.warned
    assert AppealEvent.objects.filter(appeal=appeal, action="escalate").count() == 1


def test_signing_stops_the_sign_clock(appeal, dispatcher, handler, org_tree):
    _dispatch(appeal, dispatcher, org_tree.chengguan, BEFORE_HOLIDAY)
    services.do_sign(appeal, handler, now=at(9, 9, 10))
    result = clock.sweep(at(9, 10))
    assert (appeal.pk, "sign") not in result.overdue


def test_the_sweep_command_runs_as_of_a_given_time(appeal, dispatcher, org_tree, capsys):
    _dispatch(appeal, dispatcher, org_tree.chengguan, BEFORE_HOLIDAY)
    call_command("appeals", "sweep", "--at", "2025-10-09T09:31:00+08:00")
    assert "overdue 1" in capsys.readouterr().out
    from appeals.tasks import sweep_deadlines

    # The Celery task (inline without a broker) finds nothing new: the sweep is idempotent.
    assert sweep_deadlines.delay().get() == {"warned": 0, "overdue": 0}
