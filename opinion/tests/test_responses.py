"""Response tasks on the clock, actions, closing, the sweep, the KPI, post → appeal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEntry
from minsheng.errors import Conflict, Forbidden, ServiceError
from opinion import services
from opinion.models import Alert, Event, Item, ResponseTask
from opinion.tests.conftest import T0

H = dt.timedelta(hours=1)


def _alert(grade: str, stored: dt.datetime, event: Event | None = None) -> Alert:
    event = event or Event.objects.create(
        engine_id=f"E{Event.objects.count() + 1}", first_time=T0, last_time=T0
    )
    return Alert.objects.create(
        event=event, grade=grade, reason="r", raised_at=T0, stored_at=stored
    )


@pytest.mark.parametrize("grade", ["重大", "特别重大"])
def test_a_major_alert_owes_information_in_5_hours_and_a_full_response_in_24(
    analyst: Any, grade: str
) -> None:
    task, created = services.open_task_for_alert(_alert(grade, T0))
    assert created
    assert task.due_first == T0 + 5 * H
    assert task.due_full == T0 + 24 * H
    assert task.analyst == analyst
    assert task.next_deadline() == ("first", T0 + 5 * H)


@pytest.mark.parametrize("grade", ["一般", "较大"])
def test_other_alerts_owe_a_response_within_48_hours(analyst: Any, grade: str) -> None:
    task, _ = services.open_task_for_alert(_alert(grade, T0))
    assert task.due_first is None
    assert task.due_full == T0 + 48 * H
    assert task.next_deadline() == ("full", T0 + 48 * H)


def test_a_higher_alert_on_the_same_event_tightens_the_open_task(analyst: Any) -> None:
    first = _alert("较大", T0)
    task, _ = services.open_task_for_alert(first)
    later = _alert("重大", T0 + 2 * H, first.event)
    same, created = services.open_task_for_alert(later)
    assert not created and same.pk == task.pk
    assert same.grade == "重大"
    assert same.due_first == T0 + 7 * H
    assert same.due_full == T0 + 26 * H  # earlier than the 48 h of the first alert
    assert AuditEntry.objects.filter(action="opinion.task_upgrade").count() == 1
    # A lower or equal alert changes nothing.
    services.open_task_for_alert(_alert("一般", T0 + 3 * H, first.event))
    assert ResponseTask.objects.get().grade == "重大"


def test_tasks_go_to_the_analyst_with_the_least_open_work(analyst: Any) -> None:
    from org import services as org_services
    from tests.personas import make_user

    second = make_user("analyst2", "李舆情")
    org_services.grant_role(None, second, "analyst", analyst.role_assignments.first().unit)
    one, _ = services.open_task_for_alert(_alert("一般", T0))
    two, _ = services.open_task_for_alert(_alert("一般", T0))
    assert {one.analyst, two.analyst} == {analyst, second}


def test_the_first_action_is_the_first_response_and_closing_needs_a_summary(
    analyst: Any,
) -> None:
    task, _ = services.open_task_for_alert(_alert("重大", T0))
    with pytest.raises(Conflict):
        services.do_close_task(task, analyst, "都处理好了", now=T0 + H)
    services.do_record_action(task, analyst, "verify", "已联系城管局核实", now=T0 + 2 * H)
    services.do_record_action(task, analyst, "explain", "官方微博发布情况说明", now=T0 + 3 * H)
    task.refresh_from_db()
    assert task.state == ResponseTask.State.ANSWERED
    assert task.first_response_at == T0 + 2 * H
    assert task.first_response_hours() == 2.0
    assert not task.first_overdue
    with pytest.raises(ServiceError) as blank:
        services.do_close_task(task, analyst, "   ", now=T0 + 4 * H)
    assert blank.value.status == 422
    services.do_close_task(task, analyst, "核实并公开说明，涉事人员已批评教育", now=T0 + 20 * H)
    task.refresh_from_db()
    assert task.state == ResponseTask.State.CLOSED and not task.full_overdue
    assert task.summary.startswith("核实")
    assert set(task.event.alerts.values_list("status", flat=True)) == {"closed"}
    with pytest.raises(Conflict):
        services.do_record_action(task, analyst, "apologise", "致歉", now=T0 + 21 * H)
    actions = list(
        AuditEntry.objects.filter(action__startswith="opinion.task_").values_list(
            "action", flat=True
        )
    )
    assert actions.count("opinion.task_action") == 2 and "opinion.task_close" in actions


def test_a_late_first_answer_is_marked_overdue(analyst: Any) -> None:
    task, _ = services.open_task_for_alert(_alert("重大", T0))
    services.do_record_action(task, analyst, "explain", "发布通报", now=T0 + 6 * H)
    task.refresh_from_db()
    assert task.first_overdue


def test_an_unknown_action_kind_and_an_empty_text_are_refused(analyst: Any) -> None:
    task, _ = services.open_task_for_alert(_alert("一般", T0))
    for kind, text in (("bribe", "x"), ("verify", "")):
        with pytest.raises(ServiceError) as exc:
            services.do_record_action(task, analyst, kind, text)
        assert exc.value.status == 422


def test_a_handler_cannot_record_a_response(analyst: Any, handler: Any) -> None:
    task, _ = services.open_task_for_alert(_alert("一般", T0))
    with pytest.raises(Forbidden):
        services.do_record_action(task, handler, "verify", "看过了")


def test_the_sweep_flags_a_late_task_once_and_tells_its_analyst(
    analyst: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from opinion.models import Notification

    task, _ = services.open_task_for_alert(_alert("重大", T0))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sweep(T0 + 4 * H).first_overdue == 0
        first = services.sweep(T0 + 6 * H)
        again = services.sweep(T0 + 7 * H)
    assert (first.first_overdue, first.full_overdue) == (1, 0)
    assert (again.first_overdue, again.full_overdue) == (0, 0)
    task.refresh_from_db()
    assert task.first_overdue and not task.full_overdue
    notes = Notification.objects.filter(recipient=analyst, kind="task_first_overdue")
    assert notes.count() == 1
    assert AuditEntry.objects.filter(action="opinion.task_first_overdue").count() == 1


def test_time_to_first_response_is_the_median_and_mean_of_the_period(analyst: Any) -> None:
    for hours in (1, 2, 6):
        task, _ = services.open_task_for_alert(_alert("重大", T0))
        services.do_record_action(task, analyst, "verify", "核实", now=T0 + hours * H)
    services.open_task_for_alert(_alert("重大", T0))  # never answered
    kpi = services.response_kpi(T0 - H, T0 + H, now=T0 + 10 * H)
    assert (kpi.tasks, kpi.answered) == (4, 3)
    assert kpi.median_hours == 2.0
    assert kpi.mean_hours == pytest.approx(3.0)
    assert kpi.on_time == 2  # 6 h is past the 5 h clock
    assert kpi.overdue_open == 1


def test_one_click_turns_a_post_into_an_appeal_once(
    alerted: Any, analyst: Any, client_for: Callable[[Any], Client]
) -> None:
    item = Item.objects.get(external_id="w1")
    client = client_for(analyst)
    response = client.post(f"/workbench/opinion/items/{item.pk}/appeal/")
    assert response.status_code == 302
    item.refresh_from_db()
    appeal = item.appeal
    assert appeal is not None
    assert appeal.channel == "web"
    assert "城管" in appeal.text and "weibo" in appeal.text
    assert appeal.taken_by == analyst
    entry = AuditEntry.objects.get(action="opinion.post_to_appeal")
    assert appeal.code in str(entry.after)
    again = client.post(f"/workbench/opinion/items/{item.pk}/appeal/")
    assert again.status_code == 409
    assert appeal.code in again.content.decode()


def test_only_an_analyst_turns_posts_into_appeals(
    alerted: Any, leader: Any, citizen: Any, client_for: Callable[[Any], Client]
) -> None:
    item = Item.objects.get(external_id="w1")
    for person in (leader, citizen):
        assert (
            client_for(person).post(f"/workbench/opinion/items/{item.pk}/appeal/").status_code
            == 403
        )
    assert Client().post(f"/workbench/opinion/items/{item.pk}/appeal/").status_code == 302
    item.refresh_from_db()
    assert item.appeal is None
