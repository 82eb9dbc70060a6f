"""Repeated claims (重复诉求): recognised after intake from the citizen's history and the text,
answered with the lawful reply by the intake unit, overturned only by a leader with a reason."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest

from appeals import repeats, services
from appeals.models import AppealEvent, RepeatFinding, RepeatKind, RepeatStatus, State
from appeals.tests.repeats.conftest import PHONE, conclude
from audit.models import AuditEntry
from minsheng.errors import Forbidden, ServiceError
from org.roles import Role
from tests.personas import _staff

OTHER_PHONE = "13700137000"
HOT = "attachment3_hot_issue_messages.csv"


def _messages(shared_data: Path, *ids: str) -> dict[str, tuple[str, str]]:
    """(subject, body) of messages of the 2020 泰迪杯 message board by their 留言编号."""
    path = shared_data / "tipdm2020_c" / HOT
    if not path.exists():
        pytest.skip(f"real data not present: {path}")
    wanted, found = set(ids), {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["留言编号"] in wanted:
                found[row["留言编号"]] = (
                    row["留言主题"].strip(),
                    re.sub(r"\s+", "", row["留言详情"]),
                )
    assert set(found) == wanted
    return found


# --- recognition on real pairs -----------------------------------------------------------------
# Same writer (留言用户), same matter written twice: a KTV above a hotel keeping residents awake
# (A909098, 0.32), night work on a building site by a school (A00077231, 0.41), missing windows in a
# housing estate's corridors (A00049436, 0.32).
SAME_MATTER = [("259405", "287540"), ("203627", "213173"), ("236959", "276705")]


@pytest.mark.parametrize(("first_id", "second_id"), SAME_MATTER)
def test_a_citizen_writing_again_about_a_concluded_matter_is_recognised_from_real_messages(
    first_id, second_id, shared_data, submit, dispatcher, handler, org_tree
):
    texts = _messages(shared_data, first_id, second_id)
    title, body = texts[first_id]
    first, _ = submit(title=title[:120], text=body, contact_phone=PHONE)
    conclude(first, dispatcher, handler, org_tree)
    title, body = texts[second_id]
    second, _ = submit(title=title[:120], text=body, contact_phone=PHONE)
    finding = RepeatFinding.objects.get(appeal=second)
    assert finding.earlier == first and finding.status == RepeatStatus.PENDING
    assert finding.score >= repeats.threshold() and finding.matched_by == "phone"
    assert finding.kind == RepeatKind.CONCLUDED
    assert finding.shared_words and first.code in finding.reply_draft


def test_the_same_writer_on_a_different_matter_is_not_a_repeat(
    shared_data, submit, dispatcher, handler, org_tree
):
    # A00031618 writes many proposals in one template: air pollution, then a medical centre.
    texts = _messages(shared_data, "225471", "238397")
    title, body = texts["225471"]
    first, _ = submit(title=title, text=body, contact_phone=PHONE)
    conclude(first, dispatcher, handler, org_tree)
    title, body = texts["238397"]
    second, _ = submit(title=title, text=body, contact_phone=PHONE)
    assert repeats.candidates(second) == []
    assert not RepeatFinding.objects.filter(appeal=second).exists()


def test_another_citizen_with_the_same_words_is_not_a_repeat(submit, dispatcher, handler, org_tree):
    first, _ = submit(contact_phone=PHONE)
    conclude(first, dispatcher, handler, org_tree)
    other, _ = submit(contact_phone=OTHER_PHONE)
    assert not RepeatFinding.objects.filter(appeal=other).exists()
    anonymous, _ = submit(contact_phone="")
    assert repeats.candidates(anonymous) == []


def test_an_open_earlier_appeal_is_a_duplicate_question_not_a_repeat(submit):
    submit(contact_phone=PHONE)
    second, _ = submit(contact_phone=PHONE)
    assert not RepeatFinding.objects.filter(appeal=second).exists()


def test_the_signed_in_account_links_the_two_appeals_without_a_phone(
    submit, citizen, dispatcher, handler, org_tree
):
    first, _ = submit(citizen, contact_phone="")
    conclude(first, dispatcher, handler, org_tree)
    second, _ = submit(citizen, contact_phone="")
    finding = RepeatFinding.objects.get(appeal=second)
    assert finding.matched_by == "account" and finding.earlier == first


# --- 信访 after 复核 ----------------------------------------------------------------------------
PETITION_TEXT = (
    "对东华路旧城改造征收补偿标准有异议，补偿明显低于周边同类房屋市场价格，请求重新评估。"
)


@pytest.fixture
def reviewed(submit, dispatcher, org_tree, category_tree, leader):
    """A 信访 matter answered, then 复查 and 复核 answered by a leader of the city."""
    appeal, secret = submit(
        category=category_tree.petition_general, text=PETITION_TEXT, contact_phone=PHONE
    )
    services.do_register(appeal, dispatcher)
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    petition_handler = _staff("petition_handler", "林城管", Role.HANDLER, org_tree.chengguan)
    services.do_sign(appeal, petition_handler)
    services.do_handle(appeal, petition_handler)
    services.do_reply(appeal, petition_handler, text="经核查，补偿符合标准。")
    services.do_request_review(appeal, None, secret=secret, reason="补偿偏低")
    services.do_answer_review(appeal, leader, outcome="upheld", text="复查维持原意见")
    services.do_request_review(appeal, None, secret=secret, reason="仍不服")
    services.do_answer_review(appeal, leader, outcome="upheld", text="复核维持原意见")
    return appeal


def test_a_petition_repeated_after_fuhe_is_answered_that_it_is_not_accepted_again(
    reviewed, submit, category_tree, dispatcher, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        again, _ = submit(
            category=category_tree.petition_general,
            text="东华路旧城改造征收补偿标准太低，低于周边房屋市场价格，请求重新评估补偿。",
            contact_phone=PHONE,
        )
    finding = RepeatFinding.objects.get(appeal=again)
    assert finding.kind == RepeatKind.AFTER_REVIEW
    assert "第三十六条" in finding.legal_basis and "不再受理" in finding.legal_basis
    assert "复核维持原意见" in finding.earlier_outcome
    assert "不再受理" in finding.reply_draft
    with django_capture_on_commit_callbacks(execute=True):
        repeats.do_confirm(finding, dispatcher)
    again.refresh_from_db()
    assert again.state == State.REJECTED  # answered, not dropped
    event = again.events.get(action="reject")
    assert event.reason == finding.reply_draft and event.legal_basis == finding.legal_basis
    assert any(again.code in t and "不再受理" in t for t in outbox(PHONE))
    assert AuditEntry.objects.filter(
        action="appeals.repeat_confirm", object_id=str(again.pk)
    ).exists()
    assert AuditEntry.objects.filter(action="appeals.flag_repeat", object_id=str(again.pk)).exists()


def test_a_petition_answered_in_writing_points_to_the_review_still_open(
    submit, dispatcher, org_tree, category_tree
):
    first, _ = submit(
        category=category_tree.petition_general, text=PETITION_TEXT, contact_phone=PHONE
    )
    services.do_register(first, dispatcher)
    services.do_dispatch(first, org_tree.chengguan, dispatcher)
    petition_handler = _staff("petition_handler", "林城管", Role.HANDLER, org_tree.chengguan)
    services.do_sign(first, petition_handler)
    services.do_handle(first, petition_handler)
    services.do_reply(first, petition_handler, text="经核查，补偿符合标准。")
    again, _ = submit(
        category=category_tree.petition_general, text=PETITION_TEXT, contact_phone=PHONE
    )
    finding = RepeatFinding.objects.get(appeal=again)
    assert finding.kind == RepeatKind.REVIEW_OPEN
    assert "第三十五条" in finding.reply_draft and "申请复查" in finding.reply_draft
    late = first.replied_at + dt.timedelta(days=45)
    assert repeats.kind_of(first, late)[0] == RepeatKind.REVIEW_EXPIRED


# --- decisions and refusals --------------------------------------------------------------------
def test_new_facts_accept_the_appeal_as_new_with_a_reason_and_it_is_registered(finding, dispatcher):
    with pytest.raises(ServiceError) as empty:
        repeats.do_accept_as_new(finding, dispatcher, reason="  ")
    assert empty.value.status == 422
    repeats.do_accept_as_new(finding, dispatcher, reason="摊贩换到了西门，是新的地点")
    finding.refresh_from_db()
    assert finding.status == RepeatStatus.NEW and finding.decided_by == dispatcher
    assert finding.appeal.state == State.REGISTERED
    assert finding.appeal.events.filter(action="repeat_new").exists()
    assert AuditEntry.objects.filter(action="appeals.repeat_accept_as_new").exists()
    with pytest.raises(repeats.RepeatConflict):
        repeats.do_confirm(finding, dispatcher)


def test_only_the_intake_units_agent_decides_and_only_before_dispatch(
    finding, handler, leader, dispatcher, org_tree
):
    for person in (handler, leader):
        with pytest.raises(Forbidden):
            repeats.do_confirm(finding, person)
    appeal = finding.appeal
    services.do_register(appeal, dispatcher)
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    finding.refresh_from_db()
    with pytest.raises(repeats.RepeatConflict) as late:
        repeats.do_confirm(finding, dispatcher)
    assert late.value.status == 409 and "尚未派遣" in str(late.value.message)
    assert RepeatFinding.objects.get(pk=finding.pk).status == RepeatStatus.PENDING


def test_a_leader_overturns_a_confirmed_repeat_with_a_reason_and_the_citizen_is_told(
    finding, dispatcher, leader, handler, outbox, django_capture_on_commit_callbacks
):
    repeats.do_confirm(finding, dispatcher, reply="与此前诉求属同一事项，不再重复办理。")
    with pytest.raises(Forbidden):
        repeats.do_overturn(finding, dispatcher, reason="我认为是新问题")
    with pytest.raises(Forbidden):
        repeats.do_overturn(finding, handler, reason="我认为是新问题")
    with pytest.raises(ServiceError) as empty:
        repeats.do_overturn(finding, leader, reason=" ")
    assert empty.value.status == 422 and empty.value.detail[0]["field"] == "reason"
    with django_capture_on_commit_callbacks(execute=True):
        repeats.do_overturn(finding, leader, reason="群众补充了摊贩新增夜间经营的事实")
    finding.refresh_from_db()
    appeal = finding.appeal
    appeal.refresh_from_db()
    assert finding.status == RepeatStatus.OVERTURNED and finding.overturned_by == leader
    assert appeal.state == State.REGISTERED and appeal.closed_at is None
    assert any(appeal.code in t and "恢复受理" in t for t in outbox(PHONE))
    actions = {
        e.action
        for e in AuditEntry.objects.filter(object_id=str(appeal.pk), action__startswith="appeals.")
    }
    assert {
        "appeals.flag_repeat",
        "appeals.repeat_confirm",
        "appeals.reject",
        "appeals.overturn_repeat",
    } <= actions
    # One decision, one entry: the transition's, with the leader and the reason.
    [overturned] = AuditEntry.objects.filter(object_id=str(appeal.pk), action__contains="overturn")
    assert overturned.action == "appeals.overturn_repeat" and overturned.actor_id == leader.pk
    assert overturned.reason == "群众补充了摊贩新增夜间经营的事实"
    with pytest.raises(repeats.RepeatConflict):
        repeats.do_overturn(finding, leader, reason="再撤一次")
    services.do_dispatch(appeal, appeal.intake_unit.parent, dispatcher)  # back in the loop


def test_a_pending_finding_cannot_be_overturned(finding, leader):
    with pytest.raises(repeats.RepeatConflict) as refused:
        repeats.do_overturn(finding, leader, reason="理由")
    assert refused.value.status == 409


def test_the_check_records_one_finding_even_when_run_twice(finding):
    assert repeats.check(finding.appeal_id) is None
    assert RepeatFinding.objects.filter(appeal_id=finding.appeal_id).count() == 1
    assert (
        AppealEvent.objects.filter(appeal_id=finding.appeal_id, action="flag_repeat").count() == 1
    )


# --- demo --------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_demo_has_a_petition_after_fuhe_and_a_repeat_waiting_and_loads_once(settings, tmp_path):
    from appeals import repeats_demo
    from org import demo

    settings.SMS_OUTBOX_DIR = tmp_path
    demo.load()
    finding = RepeatFinding.objects.get(appeal__external_ref="repeat-demo-2")
    assert finding.earlier.external_ref == "repeat-demo-1"
    assert finding.kind == RepeatKind.AFTER_REVIEW and finding.status == RepeatStatus.PENDING
    assert repeats_demo.load() == 0
