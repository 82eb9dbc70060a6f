"""Duplicates flagged after intake, merged citizens rating the reply, reopening, 复查/复核,
and reply templates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from appeals import clock, duplicates, review, services, templates_service
from appeals.models import AppealEvent, Callback, ReplyTemplate, ReviewKind, State
from audit.models import AuditEntry
from minsheng.errors import Forbidden, ServiceError

SAME = "东华路菜市场门口每天早上都有流动摊贩占道摆摊，人行道走不通。"
OTHER_WORDS = "东华路菜市场门口流动摊贩占道经营，堵塞人行道，请城管处理。"


# --- duplicates --------------------------------------------------------------------------------
def test_a_new_appeal_about_the_same_problem_is_flagged_after_the_commit(
    submit, django_capture_on_commit_callbacks
):
    first, _ = submit(text=SAME)
    with django_capture_on_commit_callbacks(execute=True):
        second, _ = submit(text=OTHER_WORDS)
    second.refresh_from_db()
    assert second.duplicate_of == first
    assert 0.3 <= second.duplicate_score <= 1
    event = AppealEvent.objects.get(appeal=second, action="flag_duplicate")
    assert event.data["target_code"] == first.code
    assert AuditEntry.objects.filter(
        action="appeals.flag_duplicate", object_id=str(second.pk)
    ).exists()
    assert second.state == State.RECEIVED  # flagged, not merged: the dispatcher decides


def test_a_different_problem_is_not_flagged(submit):
    submit(text=SAME)
    other, _ = submit(text="幸福小区3栋电梯经常故障，物业公司一直不来维修。")
    assert duplicates.check(other.pk) is None
    other.refresh_from_db()
    assert other.duplicate_of is None


def test_the_same_words_more_than_500_metres_away_are_not_a_duplicate(submit):
    here = {"lat": Decimal("39.900000"), "lng": Decimal("116.400000")}
    near = {"lat": Decimal("39.902000"), "lng": Decimal("116.400000")}  # ≈ 222 m north
    far = {"lat": Decimal("39.910000"), "lng": Decimal("116.400000")}  # ≈ 1.1 km north
    first, _ = submit(text=SAME, **here)
    distant, _ = submit(text=SAME, **far)
    assert duplicates.check(distant.pk) is None
    close, _ = submit(text=SAME, **near)
    found = duplicates.candidates(close)
    assert [(a.pk, s) for a, s, _d in found] == [(first.pk, 1.0)]
    distance = found[0][2]
    assert distance is not None and 200 < distance < 250
    assert duplicates.check(close.pk) == first


def test_a_closed_appeal_or_one_older_than_the_window_is_not_a_candidate(
    submit, dispatcher, settings
):
    old, _ = submit(text=SAME)
    old.created -= dt.timedelta(days=settings.APPEAL_DUPLICATE_DAYS + 1)
    old.save(update_fields=["created"])
    rejected, _ = submit(text=SAME)
    services.do_reject(rejected, dispatcher, reason="重复", legal_basis="规则")
    new, _ = submit(text=SAME)
    assert duplicates.candidates(new) == []


def test_duplicates_over_the_api_for_the_dispatcher_but_not_another_units_handler(
    submit, dispatcher, other_handler, client_for
):
    first, _ = submit(text=SAME)
    second, _ = submit(text=OTHER_WORDS)
    duplicates.check(second.pk)
    url = f"/api/appeals/{second.pk}/duplicates"
    body = client_for(dispatcher).get(url).json()
    assert body["duplicate_of"] == first.code
    assert body["candidates"][0]["code"] == first.code and body["candidates"][0]["flagged"]
    assert client_for(other_handler).get(url).status_code == 404


def test_every_merged_citizen_gets_the_reply_and_rates_it(
    submit, dispatcher, handler, org_tree, outbox, django_capture_on_commit_callbacks
):
    main, _ = submit(text=SAME, contact_phone="13600136101")
    copy, copy_secret = submit(text=OTHER_WORDS, contact_phone="13600136102")
    services.do_merge(copy, main, dispatcher, reason="同一问题")
    services.do_register(main, dispatcher)
    services.do_dispatch(main, org_tree.chengguan, dispatcher)
    services.do_sign(main, handler)
    services.do_handle(main, handler)
    with django_capture_on_commit_callbacks(execute=True):
        services.do_reply(main, handler, text="已清理摊贩并设置疏导点。")
    copy.refresh_from_db()
    assert copy.state == State.REPLIED
    assert copy.replies.get().text == "已清理摊贩并设置疏导点。"
    assert any(copy.code in t and "评价" in t for t in outbox("13600136102"))
    services.do_callback(copy, None, rating="satisfied", secret=copy_secret)
    services.do_callback(main, dispatcher, rating="basically_satisfied")
    assert {c.appeal_id for c in Callback.objects.all()} == {main.pk, copy.pk}


# --- reopening ---------------------------------------------------------------------------------
@pytest.fixture
def closed(replied, dispatcher):
    services.do_callback(replied, dispatcher, rating="satisfied")
    services.do_close(replied, dispatcher)
    return replied


def test_the_citizen_reopens_a_closed_appeal_with_the_secret_and_gets_fresh_deadlines(
    submit, dispatcher, org_tree, handler
):
    appeal, secret = submit()
    services.do_register(appeal, dispatcher)
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    services.do_sign(appeal, handler)
    services.do_handle(appeal, handler)
    services.do_reply(appeal, handler, text="已处理。")
    services.do_callback(appeal, dispatcher, rating="satisfied")
    services.do_close(appeal, dispatcher)
    with pytest.raises(Forbidden):
        services.do_reopen(appeal, None, secret="WRONGWRONG", reason="摊贩又回来了")
    now = appeal.closed_at + dt.timedelta(days=2)
    services.do_reopen(appeal, None, secret=secret, reason="摊贩又回来了", now=now)
    appeal.refresh_from_db()
    assert appeal.state == State.REOPENED and appeal.reopen_count == 1
    assert appeal.closed_at is None and appeal.replied_at is None
    assert appeal.handle_due == clock.on_reopen(appeal, now)["handle_due"]
    assert "reply" in services.allowed_actions(appeal)
    services.do_reply(appeal, handler, text="已再次清理并安排巡查。")
    assert appeal.state == State.REPLIED


def test_reopening_after_the_window_is_a_conflict_with_a_clear_message(closed, citizen, settings):
    settings.APPEAL_REOPEN_DAYS = 7
    closed.citizen = citizen
    closed.save(update_fields=["citizen"])
    late = closed.closed_at + dt.timedelta(days=8)
    with pytest.raises(services.InvalidTransition) as refused:
        services.do_reopen(closed, citizen, reason="又来了", now=late)
    assert refused.value.status == 409
    assert "7 天内" in str(refused.value.message)
    assert refused.value.code == "reopen_window_passed"


def test_reopen_over_the_api_within_and_after_the_window(
    submit, dispatcher, org_tree, handler, client
):
    appeal, secret = submit()
    services.do_register(appeal, dispatcher)
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    services.do_sign(appeal, handler)
    services.do_handle(appeal, handler)
    services.do_reply(appeal, handler, text="已处理。")
    services.do_callback(appeal, None, rating="satisfied", secret=secret)
    url = f"/api/appeals/{appeal.pk}/reopen"
    assert client.post(url, {"secret": "x", "reason": "r"}, "application/json").status_code == 404
    empty = client.post(url, {"secret": secret, "reason": "  "}, "application/json")
    assert empty.status_code == 422
    ok = client.post(url, {"secret": secret, "reason": "问题又出现了"}, "application/json")
    assert ok.status_code == 200 and ok.json()["state"] == State.REOPENED
    appeal.refresh_from_db()
    services.do_reply(appeal, handler, text="再次处理。")
    services.do_callback(appeal, None, rating="satisfied", secret=secret)
    Callback.objects.filter(appeal=appeal).update(at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    late = client.post(url, {"secret": secret, "reason": "又来了"}, "application/json")
    assert late.status_code == 409 and "天内可以申请重办" in late.json()["message"]


# --- 复查 / 复核 -------------------------------------------------------------------------------
@pytest.fixture
def petition(submit, dispatcher, org_tree, category_tree, leader):
    """A 信访 matter handled by 城管执法局 (its superior: the city) and answered in writing."""
    from org.roles import Role
    from tests.personas import _staff

    appeal, secret = submit(category=category_tree.petition_general, text="对征收补偿有异议")
    services.do_register(appeal, dispatcher)
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    petition_handler = _staff("petition_handler", "林城管", Role.HANDLER, org_tree.chengguan)
    services.do_sign(appeal, petition_handler)
    services.do_handle(appeal, petition_handler)
    services.do_reply(appeal, petition_handler, text="经核查，补偿符合标准。")
    appeal.secret = secret
    return appeal


def test_a_petitioner_asks_for_fucha_then_fuhe_and_a_leader_of_the_superior_answers(
    petition, leader, org_tree, handler, outbox, django_capture_on_commit_callbacks
):
    assert clock.is_petition(petition)
    assert "request_review" in services.allowed_actions(petition)
    first = services.do_request_review(petition, None, secret=petition.secret, reason="补偿偏低")
    assert first.kind == ReviewKind.RECHECK and first.unit == org_tree.city
    assert first.due == review.answer_due(ReviewKind.RECHECK, first.requested_at)
    assert (first.due - first.requested_at).days >= 30
    with pytest.raises(services.InvalidTransition):
        services.do_request_review(petition, None, secret=petition.secret, reason="再次")
    with pytest.raises(Forbidden):
        services.do_answer_review(petition, handler, outcome="upheld", text="维持")
    with django_capture_on_commit_callbacks(execute=True):
        answered = services.do_answer_review(petition, leader, outcome="upheld", text="维持原意见")
    assert answered.decided_by == leader and answered.outcome == "upheld"
    assert any("复查" in t for t in outbox("13900139000"))
    second = services.do_request_review(petition, None, secret=petition.secret, reason="仍不服")
    assert second.kind == ReviewKind.REVIEW
    services.do_answer_review(petition, leader, outcome="changed", text="提高补偿标准")
    with pytest.raises(services.InvalidTransition) as final:
        services.do_request_review(petition, None, secret=petition.secret, reason="还不服")
    assert final.value.code == "review_exhausted"
    actions = list(petition.events.values_list("action", flat=True))
    assert actions.count("request_review") == 2 and actions.count("answer_review") == 2


def test_fucha_is_refused_30_days_after_the_written_reply(petition):
    late = petition.replied_at + dt.timedelta(days=40)
    with pytest.raises(services.InvalidTransition) as refused:
        services.do_request_review(petition, None, secret=petition.secret, reason="不服", now=late)
    assert refused.value.code == "review_window_passed"


def test_review_on_an_appeal_that_is_not_a_petition_is_a_conflict(replied, dispatcher, client_for):
    with pytest.raises(services.InvalidTransition) as refused:
        services.do_request_review(replied, dispatcher, reason="不服")
    assert refused.value.status == 409 and refused.value.code == "not_a_petition"
    response = client_for(dispatcher).post(
        f"/api/appeals/{replied.pk}/review", {"reason": "不服"}, "application/json"
    )
    assert response.status_code == 409 and "信访事项" in response.json()["message"]


def test_the_sweep_warns_then_flags_an_unanswered_review_and_escalates(petition, leader):
    item = services.do_request_review(petition, None, secret=petition.secret, reason="不服")
    assert item.due is not None
    result = clock.sweep(item.due - dt.timedelta(days=2))
    assert result.reviews_warned == [(item.pk, ReviewKind.RECHECK)]
    result = clock.sweep(item.due + dt.timedelta(hours=1))
    assert result.reviews_overdue == [(item.pk, ReviewKind.RECHECK)]
    assert clock.sweep(item.due + dt.timedelta(hours=2)).reviews_overdue == []
    item.refresh_from_db()
    assert item.overdue
    escalation = AppealEvent.objects.get(appeal=petition, action="escalate")
    assert escalation.data["clock"] == "review" and escalation.data["leader"] == leader.pk


def test_review_over_the_api_the_citizen_asks_and_the_leader_answers(
    petition, leader, client, client_for, other_handler
):
    url = f"/api/appeals/{petition.pk}/review"
    asked = client.post(url, {"secret": petition.secret, "reason": "不服"}, "application/json")
    assert asked.status_code == 201 and asked.json()["kind_label"] == "复查"
    answer = {"outcome": "upheld", "text": "维持"}
    assert (
        client_for(other_handler).post(f"{url}/answer", answer, "application/json").status_code
        == 404
    )
    done = client_for(leader).post(f"{url}/answer", answer, "application/json")
    assert done.status_code == 200 and done.json()["outcome"] == "upheld"


# --- reply templates ---------------------------------------------------------------------------
def test_templates_are_offered_most_specific_first_and_filled_in(
    dispatched, category_tree, org_tree, admin
):
    def make(title, **kw):
        tpl = ReplyTemplate(
            title=title, text=kw.pop("text", "{code}：{title}已由{unit}办理。"), **kw
        )
        return templates_service.save_template(admin, tpl)

    make("通用")
    parent = make("城市管理", category=category_tree.city_management)
    exact = make("占道经营", category=category_tree.street_vending)
    unit = make("占道经营·城管", category=category_tree.street_vending, unit=org_tree.chengguan)
    make("物业", category=category_tree.property_management)
    make("停用", category=category_tree.street_vending, active=False)
    titles = [t.title for t in templates_service.templates_for(dispatched)]
    assert titles == ["占道经营·城管", "占道经营", "城市管理", "通用"]
    text = templates_service.render_template(unit, dispatched, today=dt.date(2025, 10, 9))
    assert text == f"{dispatched.code}：{dispatched.title}已由{org_tree.chengguan.name}办理。"
    dated = templates_service.render_template(
        "{date}答复；{other}", dispatched, today=dt.date(2025, 10, 9)
    )
    assert dated == "2025年10月9日答复；{other}"
    assert exact and parent


def test_a_template_with_an_unknown_placeholder_is_refused(admin):
    with pytest.raises(ServiceError) as bad:
        templates_service.save_template(admin, ReplyTemplate(title="x", text="您好 {name}"))
    assert bad.value.status == 422 and "{name}" in str(bad.value.message)


def test_only_an_admin_edits_templates_and_edits_are_audited(admin, handler):
    with pytest.raises(Forbidden):
        templates_service.save_template(handler, ReplyTemplate(title="x", text="{code}"))
    tpl = templates_service.save_template(admin, ReplyTemplate(title="x", text="{code}"))
    assert AuditEntry.objects.filter(
        action="appeals.template.create", object_id=str(tpl.pk)
    ).exists()


def test_templates_over_the_api_for_staff_who_see_the_case(
    dispatched, handler, other_handler, client_for, admin
):
    templates_service.save_template(admin, ReplyTemplate(title="通用", text="{code} 已办结"))
    url = f"/api/appeals/{dispatched.pk}/templates"
    body = client_for(handler).get(url).json()
    assert body[0]["text"] == f"{dispatched.code} 已办结"
    assert client_for(other_handler).get(url).status_code == 404


def test_the_grid_is_kept_at_intake_and_set_later_only_by_the_intake_agent(
    submit, org_tree, dispatcher, other_handler
):
    appeal, _ = submit(grid=org_tree.grid)
    assert appeal.grid == org_tree.grid
    with pytest.raises(Forbidden):
        services.do_set_grid(appeal, None, other_handler)
    services.do_set_grid(appeal, None, dispatcher)
    appeal.refresh_from_db()
    assert appeal.grid is None
    assert AuditEntry.objects.filter(action="appeals.set_grid", object_id=str(appeal.pk)).exists()
