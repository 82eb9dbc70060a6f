"""The appeal loop through its services: the paths of DESIGN.md, refusals, audit, notices."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction

from appeals import services
from appeals.models import Appeal, AppealEvent, Callback, Dispatch, Rating, State
from audit.models import AuditEntry
from minsheng.errors import Forbidden, ServiceError
from org.roles import Role

from .conftest import CITIZEN_PHONE

pytestmark = pytest.mark.django_db


def _actions(appeal: Appeal) -> list[str]:
    return list(appeal.events.order_by("at", "pk").values_list("action", flat=True))


def test_a_new_appeal_gets_a_tracking_code_and_a_secret_kept_only_as_a_hash(submit):
    appeal, secret = submit()
    assert appeal.code.startswith("MS-") and appeal.code.endswith(f"{appeal.pk:06d}")
    assert appeal.state == State.RECEIVED
    assert len(secret) == services.SECRET_LENGTH
    assert secret not in appeal.secret_hash
    assert services.secret_matches(appeal, secret)
    assert not services.secret_matches(appeal, "WRONGWRONG")
    with connection.cursor() as cursor:
        cursor.execute("SELECT contact_phone FROM appeals_appeal WHERE id = %s", [appeal.pk])
        stored = cursor.fetchone()[0]
    assert stored and CITIZEN_PHONE not in stored  # encrypted at rest


def test_the_happy_path_runs_from_intake_to_closed_with_a_timeline_and_audit_entries(
    replied, dispatcher, citizen
):
    appeal = replied
    services.do_callback(appeal, dispatcher, rating=Rating.SATISFIED)
    services.do_close(appeal, dispatcher)
    assert appeal.state == State.CLOSED
    assert Appeal.objects.get(pk=appeal.pk).state == State.CLOSED
    steps = ["submit", "register", "dispatch", "sign", "handle", "reply", "callback", "close"]
    assert _actions(appeal) == steps
    audited = list(
        AuditEntry.objects.filter(object_type="appeals.appeal", object_id=str(appeal.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert audited == [f"appeals.{s}" for s in steps]
    callback = Callback.objects.get(appeal=appeal)
    assert callback.channel == "phone" and callback.reply == appeal.replies.get()


def test_an_unsatisfied_citizen_reopens_the_appeal_in_the_same_unit_until_satisfied(
    handler, submit, org_tree
):
    appeal, secret = submit()  # the signed-out citizen rates with the secret
    services.do_register(appeal, services_actor := _agent(org_tree))
    services.do_dispatch(appeal, org_tree.chengguan, services_actor)
    services.do_sign(appeal, handler)
    services.do_handle(appeal, handler)
    services.do_reply(appeal, handler, text="已处理。")
    first_handle_due = appeal.handle_due
    with pytest.raises(ServiceError) as no_reason:
        services.do_callback(appeal, None, rating=Rating.UNSATISFIED, secret=secret)
    assert no_reason.value.status == 422
    services.do_callback(
        appeal, None, rating=Rating.UNSATISFIED, comment="摊贩第二天又回来了", secret=secret
    )
    assert appeal.state == State.REOPENED
    assert appeal.reopen_count == 1
    assert appeal.current_unit == org_tree.chengguan
    assert appeal.handle_due is not None and appeal.handle_due >= first_handle_due
    services.do_reply(appeal, handler, text="已安排每日早高峰巡查。")
    services.do_callback(appeal, None, rating=Rating.SATISFIED, secret=secret)
    services.do_close(appeal, services_actor)
    assert appeal.state == State.CLOSED
    assert list(appeal.callbacks.values_list("rating", "channel")) == [
        ("unsatisfied", "online"),
        ("satisfied", "online"),
    ]


def _agent(org_tree: Any) -> Any:
    from org import services as org_services
    from tests.personas import make_user

    user = make_user("agent2", "周话务")
    org_services.grant_role(None, user, Role.AGENT, org_tree.hotline)
    return user


def test_rejecting_needs_a_reason_and_a_legal_basis(appeal, dispatcher):
    with pytest.raises(ServiceError) as missing:
        services.do_reject(appeal, dispatcher, reason="不属于本市管辖", legal_basis="")
    assert missing.value.status == 422
    assert Appeal.objects.get(pk=appeal.pk).state == State.RECEIVED
    services.do_reject(
        appeal, dispatcher, reason="不属于本市管辖", legal_basis="《信访工作条例》第二十一条"
    )
    event = appeal.events.get(action="reject")
    assert event.legal_basis == "《信访工作条例》第二十一条"
    assert appeal.state == State.REJECTED


def test_a_returned_order_goes_back_to_the_dispatchers_queue_with_its_reason(
    dispatched, handler, dispatcher, org_tree
):
    with pytest.raises(ServiceError):
        services.do_return(dispatched, handler, reason="  ")
    services.do_return(dispatched, handler, reason="该路段属住建局管理")
    assert dispatched.state == State.RETURNED and dispatched.current_unit is None
    event = dispatched.events.get(action="return")
    assert event.unit == org_tree.chengguan and event.reason == "该路段属住建局管理"
    assert not Appeal.objects.visible_to(handler).filter(pk=dispatched.pk).exists()
    assert Appeal.objects.visible_to(dispatcher).filter(pk=dispatched.pk).exists()
    services.do_dispatch(dispatched, org_tree.zhujian, dispatcher)
    assert dispatched.state == State.DISPATCHED
    assert list(
        Dispatch.objects.filter(appeal=dispatched).values_list("unit__code", flat=True)
    ) == [
        "test-chengguan",
        "test-zhujian",
    ]


def test_a_merged_appeal_follows_its_targets_reply_and_its_citizen_rates_too(
    submit, dispatcher, handler, org_tree
):
    target, _ = submit()
    duplicate, dup_secret = submit(contact_phone="13700137000", text="菜市场门口又有人摆摊。")
    services.do_register(target, dispatcher)
    services.do_merge(duplicate, target, dispatcher, reason="同一地点同一问题")
    assert duplicate.state == State.MERGED and duplicate.merged_into == target
    services.do_dispatch(target, org_tree.chengguan, dispatcher)
    services.do_sign(target, handler)
    services.do_handle(target, handler)
    reply = services.do_reply(target, handler, text="已清理并设置疏导点。")
    duplicate.refresh_from_db()
    assert duplicate.state == State.REPLIED
    copy = duplicate.replies.get()
    assert copy.source == reply and copy.text == reply.text
    services.do_callback(duplicate, None, rating=Rating.BASICALLY_SATISFIED, secret=dup_secret)
    assert duplicate.state == State.CALLED_BACK


def test_a_merge_into_a_closed_or_the_same_appeal_is_refused(submit, dispatcher):
    first, _ = submit()
    second, _ = submit()
    with pytest.raises(ServiceError):
        services.do_merge(first, first, dispatcher)
    services.do_reject(second, dispatcher, reason="重复", legal_basis="受理规则第 3 条")
    with pytest.raises(ServiceError) as closed:
        services.do_merge(first, second, dispatcher)
    assert closed.value.code == "invalid_transition"


def test_the_citizen_withdraws_with_the_secret_or_as_the_owner_and_nobody_else_can(
    submit, citizen, other_handler
):
    anonymous, secret = submit()
    with pytest.raises(Forbidden):
        services.do_withdraw(anonymous, None, secret="NOTTHEONE1")
    with pytest.raises(Forbidden):
        services.do_withdraw(anonymous, other_handler)
    services.do_withdraw(anonymous, None, secret=secret, reason="问题已自行解决")
    assert anonymous.state == State.WITHDRAWN
    owned, _ = submit(actor=citizen)
    assert owned.citizen == citizen
    services.do_withdraw(owned, citizen)
    assert owned.state == State.WITHDRAWN


STEPS = {
    "register": lambda a, u: services.do_register(a, u),
    "reject": lambda a, u: services.do_reject(a, u, reason="r", legal_basis="b"),
    "dispatch": lambda a, u: services.do_dispatch(a, a.intake_unit, u),
    "sign": lambda a, u: services.do_sign(a, u),
    "return": lambda a, u: services.do_return(a, u, reason="r"),
    "handle": lambda a, u: services.do_handle(a, u),
    "reply": lambda a, u: services.do_reply(a, u, text="t"),
    "callback": lambda a, u: services.do_callback(a, u, rating="satisfied"),
    "close": lambda a, u: services.do_close(a, u),
    "merge": lambda a, u: services.do_merge(a, a, u),
    "withdraw": lambda a, u: services.do_withdraw(a, u),
    "request_extension": lambda a, u: services.do_request_extension(a, u, days=3, reason="r"),
    "approve_extension": lambda a, u: services.do_approve_extension(a, u),
    "suspend": lambda a, u: services.do_suspend(a, u, reason="r"),
    "resume": lambda a, u: services.do_resume(a, u),
    "reopen": lambda a, u: services.do_reopen(a, u, reason="r"),
    "request_review": lambda a, u: services.do_request_review(a, u, reason="r"),
    "answer_review": lambda a, u: services.do_answer_review(a, u, outcome="upheld", text="t"),
}


def test_every_public_step_has_a_refusal_check_here():
    public = {name for name, t in services.TRANSITIONS.items() if not t.internal}
    assert public == set(STEPS)


@pytest.mark.parametrize("step", sorted(STEPS))
def test_a_handler_of_another_unit_is_forbidden_every_step(step, dispatched, other_handler):
    with pytest.raises(Forbidden):
        STEPS[step](dispatched, other_handler)
    assert Appeal.objects.get(pk=dispatched.pk).state == State.DISPATCHED


@pytest.mark.parametrize("who", ["citizen", "analyst", "outsider", "cadre"])
def test_people_without_a_staff_role_at_the_unit_cannot_dispatch_or_sign(
    who, request, dispatched, appeal
):
    user = request.getfixturevalue(who)
    with pytest.raises(Forbidden):
        services.do_sign(dispatched, user)
    with pytest.raises(Forbidden):
        services.do_close(dispatched, user)


def test_a_step_out_of_order_is_a_conflict_naming_the_allowed_next_steps(
    appeal, handler, dispatcher
):
    with pytest.raises(services.InvalidTransition) as early:
        services.do_dispatch(appeal, appeal.intake_unit, dispatcher)
    assert early.value.status == 409
    assert early.value.detail["allowed"] == ["register", "reject", "merge", "withdraw"]


def test_a_dispatcher_holding_a_stale_copy_cannot_dispatch_it_a_second_time(
    appeal, dispatcher, org_tree
):
    services.do_register(appeal, dispatcher)
    stale = Appeal.objects.get(pk=appeal.pk)
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    with pytest.raises(services.InvalidTransition) as lost:
        services.do_dispatch(stale, org_tree.zhujian, dispatcher)
    assert lost.value.detail["state"] == State.DISPATCHED
    assert Dispatch.objects.filter(appeal=appeal).count() == 1
    assert Appeal.objects.get(pk=appeal.pk).current_unit == org_tree.chengguan


def test_handlers_see_only_their_units_orders_and_citizens_only_their_own(
    dispatched, handler, other_handler, citizen, leader, auditor, submit
):
    mine, _ = submit(actor=citizen)
    assert set(Appeal.objects.visible_to(handler)) == {dispatched}
    assert not Appeal.objects.visible_to(other_handler).exists()
    assert set(Appeal.objects.visible_to(citizen)) == {mine}
    assert set(Appeal.objects.visible_to(leader)) == {dispatched, mine}
    assert set(Appeal.objects.visible_to(auditor)) == {dispatched, mine}
    assert set(Appeal.objects.open().for_unit(dispatched.current_unit)) == {dispatched}


def test_the_citizen_is_texted_after_the_commit(
    submit, dispatcher, org_tree, outbox, django_capture_on_commit_callbacks
):
    phone = "13600136001"
    with django_capture_on_commit_callbacks(execute=True):
        appeal, _ = submit(contact_phone=phone)
    assert any(appeal.code in text and "受理" in text for text in outbox(phone))
    services.do_register(appeal, dispatcher)
    with django_capture_on_commit_callbacks(execute=True):
        services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    assert any(org_tree.chengguan.name in text for text in outbox(phone))


def test_a_rolled_back_step_sends_nothing(
    submit, dispatcher, org_tree, outbox, django_capture_on_commit_callbacks
):
    phone = "13600136002"
    appeal, _ = submit(contact_phone=phone)
    services.do_register(appeal, dispatcher)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
        raise RuntimeError("the caller fails after the step")
    assert callbacks == []
    assert outbox(phone) == []
    assert Appeal.objects.get(pk=appeal.pk).state == State.REGISTERED
    assert not AppealEvent.objects.filter(appeal=appeal, action="dispatch").exists()
    assert not AuditEntry.objects.filter(
        action="appeals.dispatch", object_id=str(appeal.pk)
    ).exists()
