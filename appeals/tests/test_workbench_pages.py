"""The staff pages under /workbench/appeals/: the queue, the case, and every step through a form.

Real services, real role checks, the Django test client: each test is a person using a page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from appeals import services
from appeals.models import (
    Appeal,
    Callback,
    CallbackChannel,
    Dispatch,
    ReplyTemplate,
    Review,
    State,
)
from appeals.tests.conftest import BEFORE_HOLIDAY, CITIZEN_PHONE, at
from appeals.views_workbench import countdown, next_countdown
from audit.models import AccessLogEntry, AuditEntry

pytestmark = pytest.mark.django_db

QUEUE = "/workbench/appeals/"


def case_url(appeal: Appeal) -> str:
    return f"/workbench/appeals/{appeal.pk}/"


def step_url(appeal: Appeal, step: str) -> str:
    return f"/workbench/appeals/{appeal.pk}/{step}/"


def fresh(appeal: Appeal) -> Appeal:
    return Appeal.objects.get(pk=appeal.pk)


def page_text(response: Any) -> str:
    return response.content.decode()


def follow_message(client: Client, response: Any) -> str:
    """The page a successful step redirects to (post/redirect/get), as text."""
    assert response.status_code == 302, page_text(response)[:2000]
    return page_text(client.get(response["Location"]))


# --- the queue ---------------------------------------------------------------------------------
def test_a_dispatcher_finds_a_new_appeal_in_their_todo(client_for, dispatcher, appeal):
    response = client_for(dispatcher).get(QUEUE)
    assert response.status_code == 200
    text = page_text(response)
    assert appeal.code in text and "我的待办" in text
    assert f'href="/workbench/appeals/{appeal.pk}/"' in text


def test_a_handlers_todo_holds_the_orders_of_their_unit_only(
    client_for, handler, other_handler, dispatched
):
    assert dispatched.code in page_text(client_for(handler).get(QUEUE))
    assert dispatched.code not in page_text(client_for(other_handler).get(QUEUE))
    assert dispatched.code not in page_text(client_for(other_handler).get(QUEUE + "?view=all"))


def test_the_queue_shows_each_orders_deadline_countdown(client_for, handler, dispatched):
    text = page_text(client_for(handler).get(QUEUE))
    assert re.search(r'class="countdown countdown-(ok|warning|overdue)"', text)
    assert "签收" in text and ("剩余" in text or "超期" in text)


def test_the_queue_filters_by_keyword_state_category_and_date(
    client_for, dispatcher, submit, category_tree, dispatched
):
    other, _secret = submit(
        text="小区物业不修电梯，老人上下楼困难。", category=category_tree.property_management
    )
    client = client_for(dispatcher)

    def codes(**query: str) -> set[str]:
        text = page_text(client.get(QUEUE, {"view": "all", **query}))
        return {c for c in (dispatched.code, other.code) if c in text}

    assert codes() == {dispatched.code, other.code}
    assert codes(q="电梯") == {other.code}
    assert codes(q=dispatched.code) == {dispatched.code}
    assert codes(state="dispatched") == {dispatched.code}
    assert codes(category=str(category_tree.housing.pk)) == {other.code}
    today = BEFORE_HOLIDAY.date().isoformat()
    assert codes(date_to=today) == set()
    assert codes(unit=str(dispatched.current_unit_id)) == {dispatched.code}


def test_a_malformed_filter_is_pointed_out_not_a_500(client_for, dispatcher, appeal):
    response = client_for(dispatcher).get(
        QUEUE, {"unit": "abc", "date_from": "2025-13-45", "view": "nonsense"}
    )
    assert response.status_code == 200
    assert 'class="errorlist' in page_text(response)


def test_staff_without_an_appeal_role_and_citizens_are_refused_the_queue(
    client_for, analyst, citizen, client
):
    assert client_for(analyst).get(QUEUE).status_code == 403
    assert client_for(citizen).get(QUEUE).status_code == 403
    assert client.get(QUEUE).status_code == 302


def test_the_queue_costs_the_same_queries_for_three_rows_as_for_thirty(
    client_for, dispatcher, submit, django_assert_max_num_queries
):
    client = client_for(dispatcher)
    for _ in range(3):
        submit()
    client.get(QUEUE)  # warm the per-process caches (calendar, content types)
    with CaptureQueriesContext(connection) as few:
        assert client.get(QUEUE, {"view": "all"}).status_code == 200
    for _ in range(27):
        submit()
    with CaptureQueriesContext(connection) as many:
        text = page_text(client.get(QUEUE, {"view": "all"}))
    assert text.count('class="wb-code"') == 30
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
    with django_assert_max_num_queries(12):
        client.get(QUEUE)


# --- the case page -----------------------------------------------------------------------------
def test_the_case_page_shows_facts_masked_phone_deadlines_and_timeline(
    client_for, handler, dispatched
):
    response = client_for(handler).get(case_url(dispatched))
    assert response.status_code == 200
    text = page_text(response)
    assert dispatched.code in text and dispatched.text in text
    assert "东华路 12 号菜市场门口" in text
    assert CITIZEN_PHONE not in text and "139****9000" in text
    assert "签收期限" in text and 'id="timeline"' in text
    assert 'id="form-sign"' in text and 'id="form-return"' in text
    assert 'id="form-dispatch"' not in text


def test_a_handler_of_another_unit_gets_404_for_the_case_and_its_steps(
    client_for, other_handler, dispatched
):
    client = client_for(other_handler)
    assert client.get(case_url(dispatched)).status_code == 404
    assert client.post(step_url(dispatched, "sign")).status_code == 404
    assert client.post(f"/workbench/appeals/{dispatched.pk}/reveal-phone/").status_code == 404
    assert fresh(dispatched).state == State.DISPATCHED


def test_an_unknown_step_is_404_and_a_get_on_a_step_is_405(client_for, dispatcher, appeal):
    client = client_for(dispatcher)
    assert client.post(step_url(appeal, "explode")).status_code == 404
    assert client.get(step_url(appeal, "register")).status_code == 405


# --- the dispatcher's steps --------------------------------------------------------------------
def test_the_dispatch_form_preselects_the_categorys_default_unit(
    client_for, dispatcher, appeal, org_tree
):
    client = client_for(dispatcher)
    client.post(step_url(appeal, "register"), {"register-reason": ""})
    text = page_text(client.get(case_url(appeal)))
    checked = re.search(
        r'<input type="radio" name="dispatch-unit" id="[^"]+" value="(\d+)" checked>', text
    )
    assert checked is not None and int(checked.group(1)) == org_tree.chengguan.pk
    assert "分类默认" in text


def test_a_dispatcher_registers_and_dispatches_through_the_page(
    client_for, dispatcher, appeal, org_tree
):
    client = client_for(dispatcher)
    response = client.post(step_url(appeal, "register"), {"register-reason": "属实，立案"})
    assert "已立案" in follow_message(client, response)
    assert fresh(appeal).state == State.REGISTERED
    response = client.post(
        step_url(appeal, "dispatch"),
        {"dispatch-unit": str(org_tree.chengguan.pk), "dispatch-note": "请尽快处置"},
    )
    assert "已派遣至测试市城市管理综合执法局" in follow_message(client, response)
    appeal = fresh(appeal)
    assert appeal.state == State.DISPATCHED and appeal.current_unit == org_tree.chengguan
    assert appeal.sign_due is not None
    decision = Dispatch.objects.get(appeal=appeal)
    assert decision.decided_by == dispatcher and decision.default_unit == org_tree.chengguan
    assert decision.note == "请尽快处置"


def test_a_dispatcher_may_pick_any_unit_from_the_full_list(
    client_for, dispatcher, appeal, org_tree
):
    client = client_for(dispatcher)
    services.do_register(appeal, dispatcher)
    response = client.post(
        step_url(appeal, "dispatch"),
        {"dispatch-unit": "other", "dispatch-other_unit": str(org_tree.street.pk)},
    )
    assert response.status_code == 302
    assert fresh(appeal).current_unit == org_tree.street


def test_choosing_other_unit_without_picking_one_is_a_field_error(client_for, dispatcher, appeal):
    client = client_for(dispatcher)
    services.do_register(appeal, dispatcher)
    response = client.post(step_url(appeal, "dispatch"), {"dispatch-unit": "other"})
    assert response.status_code == 422
    assert "请选择承办单位" in page_text(response)
    assert fresh(appeal).state == State.REGISTERED


def test_a_dispatcher_rejects_with_reason_and_legal_basis(client_for, dispatcher, appeal):
    client = client_for(dispatcher)
    missing = client.post(step_url(appeal, "reject"), {"reject-reason": "不属于受理范围"})
    assert missing.status_code == 422
    assert 'id="id_reject-legal_basis_error"' in page_text(missing)
    assert fresh(appeal).state == State.RECEIVED
    response = client.post(
        step_url(appeal, "reject"),
        {"reject-reason": "属于司法程序事项", "reject-legal_basis": "《信访工作条例》第三十一条"},
    )
    assert response.status_code == 302
    appeal = fresh(appeal)
    assert appeal.state == State.REJECTED
    event = appeal.events.get(action="reject")
    assert event.legal_basis == "《信访工作条例》第三十一条"
    assert "《信访工作条例》第三十一条" in page_text(client.get(case_url(appeal)))


def test_a_dispatcher_merges_a_duplicate_into_an_open_appeal_by_code(
    client_for, dispatcher, submit
):
    first, _s1 = submit()
    second, _s2 = submit()
    client = client_for(dispatcher)
    unknown = client.post(step_url(second, "merge"), {"merge-target": "MS-1999-999999"})
    assert unknown.status_code == 422
    assert "找不到编号为“MS-1999-999999”的诉求" in page_text(unknown)
    itself = client.post(step_url(second, "merge"), {"merge-target": second.code})
    assert itself.status_code == 422 and "不能把诉求合并到它自己" in page_text(itself)
    response = client.post(
        step_url(second, "merge"), {"merge-target": first.code.lower(), "merge-reason": "同一摊点"}
    )
    assert f"已并入 {first.code}" in follow_message(client, response)
    assert fresh(second).state == State.MERGED and fresh(second).merged_into == first
    assert second.code in page_text(client.get(case_url(first)))


def test_an_agent_records_a_phone_callback_and_closes(client_for, dispatcher, replied):
    client = client_for(dispatcher)
    text = page_text(client.get(case_url(replied)))
    assert 'id="form-callback"' in text and "已联合市场监管所清理摊贩" in text
    response = client.post(
        step_url(replied, "callback"), {"callback-rating": "satisfied", "callback-comment": ""}
    )
    assert "已记录电话回访" in follow_message(client, response)
    callback = Callback.objects.get(appeal=replied)
    assert callback.channel == CallbackChannel.PHONE and callback.actor == dispatcher
    assert fresh(replied).state == State.CALLED_BACK
    response = client.post(step_url(replied, "close"))
    assert "已结案" in follow_message(client, response)
    assert fresh(replied).state == State.CLOSED


def test_an_unsatisfied_phone_callback_needs_its_reason_and_reopens(
    client_for, dispatcher, replied
):
    client = client_for(dispatcher)
    missing = client.post(step_url(replied, "callback"), {"callback-rating": "unsatisfied"})
    assert missing.status_code == 422
    assert "不满意请说明原因" in page_text(missing)
    assert fresh(replied).state == State.REPLIED
    response = client.post(
        step_url(replied, "callback"),
        {"callback-rating": "unsatisfied", "callback-comment": "摊贩第二天又回来了"},
    )
    assert response.status_code == 302
    assert fresh(replied).state == State.REOPENED


# --- the handler's steps -----------------------------------------------------------------------
def test_a_handler_signs_handles_and_replies_through_the_page(client_for, handler, dispatched):
    client = client_for(handler)
    assert "已签收" in follow_message(client, client.post(step_url(dispatched, "sign")))
    assert fresh(dispatched).state == State.SIGNED
    response = client.post(step_url(dispatched, "handle"), {"handle-note": "已到现场"})
    assert "已开始处置" in follow_message(client, response)
    empty = client.post(step_url(dispatched, "reply"), {"reply-text": "   "})
    assert empty.status_code == 422
    response = client.post(step_url(dispatched, "reply"), {"reply-text": "摊贩已清理。"})
    assert "已答复" in follow_message(client, response)
    appeal = fresh(dispatched)
    assert appeal.state == State.REPLIED
    assert appeal.replies.get().text == "摊贩已清理。"


def test_a_handler_returns_an_order_with_a_reason_and_is_sent_to_the_queue(
    client_for, handler, dispatcher, dispatched
):
    client = client_for(handler)
    missing = client.post(step_url(dispatched, "return"), {"return-reason": ""})
    assert missing.status_code == 422
    response = client.post(step_url(dispatched, "return"), {"return-reason": "属住建部门职责"})
    assert response.status_code == 302 and response["Location"] == QUEUE
    assert fresh(dispatched).state == State.RETURNED
    # Back with the dispatchers, who see the reason on the timeline.
    text = page_text(client_for(dispatcher).get(case_url(dispatched)))
    assert "属住建部门职责" in text and 'id="form-dispatch"' in text


def test_reply_templates_are_offered_filled_in_for_the_appeal(
    client_for, handler, dispatched, category_tree
):
    ReplyTemplate.objects.create(
        category=category_tree.street_vending,
        title="占道经营已清理",
        text="您反映的{code}已由{unit}处理完毕。",
    )
    services.do_sign(dispatched, handler)
    services.do_handle(dispatched, handler)
    client = client_for(handler)
    text = page_text(client.get(case_url(dispatched)))
    filled = f"您反映的{dispatched.code}已由测试市城市管理综合执法局处理完毕。"
    assert "占道经营已清理" in text and filled in text
    tpl = ReplyTemplate.objects.get()
    prefilled = page_text(client.get(case_url(dispatched), {"template": tpl.pk}))
    assert re.search(r'<textarea name="reply-text"[^>]*>\s*' + re.escape(filled), prefilled)


def test_a_handler_requests_an_extension_and_the_leader_approves_it(
    client_for, handler, leader, dispatched
):
    services.do_sign(dispatched, handler)
    before = fresh(dispatched).handle_due
    client = client_for(handler)
    response = client.post(
        step_url(dispatched, "request-extension"),
        {"request_extension-days": "5", "request_extension-reason": "需要协调多个部门"},
    )
    assert "已申请延期 5 天" in follow_message(client, response)
    again = client.post(
        step_url(dispatched, "request-extension"),
        {"request_extension-days": "3", "request_extension-reason": "再延"},
    )
    assert again.status_code == 409 and "每件诉求只能延期一次" in page_text(again)
    boss = client_for(leader)
    todo = page_text(boss.get(QUEUE))
    assert dispatched.code in todo
    response = boss.post(step_url(dispatched, "approve-extension"))
    assert "已批准延期" in follow_message(boss, response)
    appeal = fresh(dispatched)
    assert appeal.extended_days == 5
    assert before is not None and appeal.handle_due is not None and appeal.handle_due > before


def test_a_leader_suspends_and_resumes_the_clock(client_for, leader, handler, dispatched):
    boss = client_for(leader)
    missing = boss.post(step_url(dispatched, "suspend"), {"suspend-reason": ""})
    assert missing.status_code == 422
    response = boss.post(step_url(dispatched, "suspend"), {"suspend-reason": "等待鉴定结论"})
    assert "已中止计时" in follow_message(boss, response)
    assert fresh(dispatched).suspended_at is not None
    # While suspended the handler may only resume; signing is refused with the reason why.
    blocked = client_for(handler).post(step_url(dispatched, "sign"))
    assert blocked.status_code == 409
    assert "该诉求已中止计时" in page_text(blocked)
    response = boss.post(step_url(dispatched, "resume"))
    assert "已恢复计时" in follow_message(boss, response)
    assert fresh(dispatched).suspended_at is None


# --- refusals ----------------------------------------------------------------------------------
def test_a_forbidden_step_shows_an_error_not_a_500(client_for, handler, dispatched):
    response = client_for(handler).post(
        step_url(dispatched, "register"), {"register-reason": "越权"}
    )
    assert response.status_code == 403
    text = page_text(response)
    assert 'id="page-error"' in text and "您没有权限对该诉求执行“立案”" in text
    assert fresh(dispatched).state == State.DISPATCHED


def test_a_step_out_of_order_shows_the_409_message(client_for, dispatcher, appeal):
    client = client_for(dispatcher)
    client.post(step_url(appeal, "register"))
    response = client.post(step_url(appeal, "register"))
    assert response.status_code == 409
    assert "当前状态“立案”不能立案" in page_text(response)


def test_a_second_dispatcher_on_a_stale_page_is_told_it_was_dispatched(
    client_for, dispatcher, appeal, org_tree
):
    services.do_register(appeal, dispatcher)
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    response = client_for(dispatcher).post(
        step_url(appeal, "dispatch"), {"dispatch-unit": str(org_tree.chengguan.pk)}
    )
    # The form no longer offers this step: the page says why instead.
    assert response.status_code == 409
    assert Dispatch.objects.filter(appeal=appeal).count() == 1


# --- the contact phone -------------------------------------------------------------------------
def test_revealing_the_phone_shows_it_once_and_is_audited(client_for, dispatcher, appeal):
    client = client_for(dispatcher)
    text = page_text(client.get(case_url(appeal)))
    assert CITIZEN_PHONE not in text and 'id="form-reveal"' in text
    response = client.post(
        f"/workbench/appeals/{appeal.pk}/reveal-phone/", {"reveal-purpose": "电话回访"}
    )
    assert response.status_code == 200
    assert f'href="tel:{CITIZEN_PHONE}"' in page_text(response)
    entry = AccessLogEntry.objects.get(object_id=str(appeal.pk))
    assert entry.actor == dispatcher and entry.reason == "电话回访"
    assert entry.field == "contact_phone"
    assert CITIZEN_PHONE not in page_text(client.get(case_url(appeal)))


def test_a_leader_may_not_reveal_the_phone_and_the_attempt_is_recorded(
    client_for, leader, dispatched
):
    client = client_for(leader)
    assert 'id="form-reveal"' not in page_text(client.get(case_url(dispatched)))
    response = client.post(
        f"/workbench/appeals/{dispatched.pk}/reveal-phone/", {"reveal-purpose": "看看"}
    )
    assert response.status_code == 403
    assert CITIZEN_PHONE not in page_text(response)
    assert AuditEntry.objects.filter(
        action="personal_data.reveal_denied", object_id=str(dispatched.pk)
    ).exists()


def test_the_case_page_costs_the_same_queries_however_long_the_timeline(
    client_for, dispatcher, handler, dispatched
):
    client = client_for(dispatcher)
    client.get(case_url(dispatched))
    with CaptureQueriesContext(connection) as short:
        client.get(case_url(dispatched))
    services.do_sign(dispatched, handler)
    services.do_handle(dispatched, handler)
    services.do_reply(dispatched, handler, text="已处理。")
    services.do_callback(dispatched, dispatcher, rating="unsatisfied", comment="没处理好")
    services.do_reply(dispatched, handler, text="再次处理。")
    with CaptureQueriesContext(connection) as long_:
        text = page_text(client.get(case_url(dispatched)))
    assert "再次处理。" in text
    # The steps offered differ (callback now), so allow their few lookups, never one per event.
    assert len(long_) <= len(short) + 4, [q["sql"] for q in long_.captured_queries]


# --- the countdown -----------------------------------------------------------------------------
def test_countdowns_count_working_time_across_the_national_day_holiday(
    appeal: Appeal, dispatcher: Any, org_tree: Any
) -> None:
    services.do_register(appeal, dispatcher, now=BEFORE_HOLIDAY)
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher, now=BEFORE_HOLIDAY)
    appeal = fresh(appeal)
    # Sign by 2025-10-09 09:30: at 08:00 on the 9th only the half hour from 09:00 is left.
    sign = countdown(appeal, "sign", at(9, 8))
    assert sign is not None and sign.level == "warning" and sign.text == "剩余 30 分钟"
    late = countdown(appeal, "sign", at(9, 10))
    assert late is not None and late.level == "overdue" and late.text == "超期 30 分钟"
    assert late.ticking > 0  # 10:00 on a working day: the page may tick
    holiday = countdown(appeal, "sign", at(3, 10))
    assert holiday is not None and holiday.ticking == 0
    pressing = next_countdown(appeal, at(9, 10))
    assert pressing is not None and pressing.clock == "sign"


def test_a_handling_clock_far_away_reads_in_working_days_and_is_ok(
    appeal: Appeal, dispatcher: Any, handler: Any, org_tree: Any
) -> None:
    services.do_register(appeal, dispatcher, now=BEFORE_HOLIDAY)
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher, now=BEFORE_HOLIDAY)
    services.do_sign(appeal, handler, now=BEFORE_HOLIDAY)
    appeal = fresh(appeal)
    # Handle by 2025-10-14 17:30: 1.5 hours on 30 September, then five full working days.
    handle = countdown(appeal, "handle", BEFORE_HOLIDAY)
    assert handle is not None and handle.level == "ok"
    assert handle.text == "剩余 5 个工作日 1 小时"
    assert countdown(appeal, "sign", BEFORE_HOLIDAY).level == "done"  # type: ignore[union-attr]


def test_a_suspended_clock_reads_as_paused(
    client_for: Callable[[Any], Client], leader: Any, dispatched: Appeal
) -> None:
    services.do_suspend(dispatched, leader, reason="等待鉴定")
    paused = next_countdown(fresh(dispatched), at(9, 10))
    assert paused is not None and paused.level == "paused"
    assert "countdown-paused" in page_text(client_for(leader).get(QUEUE + "?view=suspended"))


# --- the router's suggestions and possible duplicates -------------------------------------------
VENDING = [
    "菜市场门口流动摊贩占道经营堵塞人行道",
    "夜市摊贩占道摆摊油烟扰民",
    "路口有小贩占用盲道卖水果",
    "商铺门前乱摆摊位占道经营",
]
PROPERTY = [
    "小区电梯经常故障物业不维修",
    "物业公司乱收停车费",
    "楼道灯坏了一个月物业不修",
    "物业擅自提高物业费标准",
]


@pytest.fixture
def router(settings: Any, tmp_path: Any) -> Iterator[None]:
    """A small real router trained on unit codes, installed where the pages look for it."""
    from appeals import suggest
    from textkit.route import RouteModel

    settings.DATA_DIR = tmp_path
    suggest.clear_cache()
    texts = [(t[:8], t) for t in VENDING * 3] + [(t[:8], t) for t in PROPERTY * 3]
    labels = ["test-chengguan"] * len(VENDING) * 3 + ["test-zhujian"] * len(PROPERTY) * 3
    RouteModel.train(texts, labels, fields=["title", "text"]).save(suggest.model_dir())
    yield
    suggest.clear_cache()


def test_without_a_router_the_dispatch_form_says_so_and_offers_the_default_unit(
    client_for, dispatcher, appeal, settings, tmp_path
):
    from appeals import suggest

    settings.DATA_DIR = tmp_path
    suggest.clear_cache()
    services.do_register(appeal, dispatcher)
    text = page_text(client_for(dispatcher).get(case_url(appeal)))
    assert 'id="router-missing"' in text and "<meter" not in text
    assert "测试市城市管理综合执法局" in text


def test_the_dispatch_form_shows_the_routers_units_with_confidence_and_keeps_them(
    client_for, dispatcher, appeal, org_tree, router
):
    services.do_register(appeal, dispatcher)
    client = client_for(dispatcher)
    text = page_text(client.get(case_url(appeal)))
    assert text.count("<meter") == 2 and "置信度" in text
    assert "测试市住房和城乡建设局" in text  # the second suggestion, offered beside the default
    response = client.post(
        step_url(appeal, "dispatch"), {"dispatch-unit": str(org_tree.zhujian.pk)}
    )
    assert response.status_code == 302
    decision = Dispatch.objects.get(appeal=appeal)
    assert decision.unit == org_tree.zhujian and decision.default_unit == org_tree.chengguan
    kept = {s["unit_code"]: s["confidence"] for s in decision.suggestions}
    assert set(kept) == {"test-chengguan", "test-zhujian"}
    assert kept["test-chengguan"] > kept["test-zhujian"]
    history = page_text(client.get(case_url(appeal)))
    assert "系统推荐：测试市城市管理综合执法局" in history


def test_the_merge_form_lists_possible_duplicates_with_their_score(client_for, dispatcher, submit):
    first, _s1 = submit()
    second, _s2 = submit()
    text = page_text(client_for(dispatcher).get(case_url(second)))
    assert "疑似重复" in text and f">{first.code}</a>" in text and "相似度 1.00" in text


# --- 信访 复查 / 复核 -----------------------------------------------------------------------------
def test_an_agent_records_a_fucha_request_and_a_leader_of_the_superior_answers_it(
    client_for, submit, dispatcher, handler, leader, org_tree, category_tree
):
    petition, _secret = submit(category=category_tree.petition_general, text="对征收补偿有异议")
    services.do_register(petition, dispatcher)
    services.do_dispatch(petition, org_tree.chengguan, dispatcher)
    services.do_sign(petition, handler)
    services.do_handle(petition, handler)
    services.do_reply(petition, handler, text="经核查，补偿符合标准。")
    desk = client_for(dispatcher)
    assert 'id="form-request_review"' in page_text(desk.get(case_url(petition)))
    response = desk.post(
        step_url(petition, "request-review"), {"request_review-reason": "补偿偏低"}
    )
    assert "已登记复查申请，转测试市办理" in follow_message(desk, response)
    item = Review.objects.get(appeal=petition)
    assert item.unit == org_tree.city and item.decided_at is None
    boss = client_for(leader)
    assert petition.code in page_text(boss.get(QUEUE))  # waiting in the leader's to-do
    # The handler of the contested answer cannot decide its review.
    assert 'id="form-answer_review"' not in page_text(client_for(handler).get(case_url(petition)))
    empty = boss.post(step_url(petition, "answer-review"), {"answer_review-outcome": "upheld"})
    assert empty.status_code == 422
    response = boss.post(
        step_url(petition, "answer-review"),
        {"answer_review-outcome": "upheld", "answer_review-text": "维持原答复意见。"},
    )
    assert "已作出复查意见：维持" in follow_message(boss, response)
    item.refresh_from_db()
    assert item.decided_by == leader and item.outcome == "upheld"
    assert "维持原答复意见。" in page_text(boss.get(case_url(petition)))


def test_a_review_is_not_offered_for_an_ordinary_appeal(client_for, dispatcher, replied):
    text = page_text(client_for(dispatcher).get(case_url(replied)))
    assert 'id="form-request_review"' not in text
    refused = client_for(dispatcher).post(
        step_url(replied, "request-review"), {"request_review-reason": "不服"}
    )
    assert refused.status_code == 409 and "只适用于信访事项" in page_text(refused)


# --- photos --------------------------------------------------------------------------------------
def _png() -> Any:
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile("street.png", buffer.getvalue(), content_type="image/png")


def test_a_cases_photos_are_shown_to_its_readers_only(
    client_for, handler, other_handler, dispatched, submit
):
    from appeals import photos

    stored = photos.attach(dispatched, _png(), None)
    other, _secret = submit()
    client = client_for(handler)
    text = page_text(client.get(case_url(dispatched)))
    url = f"/workbench/appeals/{dispatched.pk}/photos/{stored.pk}/"
    assert f'src="{url}"' in text and "诉求照片 1" in text
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert client_for(other_handler).get(url).status_code == 404
    # A photo asked for under another case's number is not found either.
    wrong = client_for(handler).get(f"/workbench/appeals/{other.pk}/photos/{stored.pk}/")
    assert wrong.status_code == 404


# --- overdue orders --------------------------------------------------------------------------------
def test_an_overdue_order_tops_the_handlers_todo_and_waits_in_the_leaders(
    client_for, submit, dispatcher, handler, leader, org_tree
):
    from appeals import clock

    late, _s1 = submit(text="夜市摊贩占道摆摊，油烟扰民。")
    services.do_register(late, dispatcher, now=BEFORE_HOLIDAY)
    services.do_dispatch(late, org_tree.chengguan, dispatcher, now=BEFORE_HOLIDAY)
    fresh_order, _s2 = submit(text="路口有小贩占用盲道卖水果。")
    services.do_register(fresh_order, dispatcher)
    services.do_dispatch(fresh_order, org_tree.chengguan, dispatcher)
    clock.sweep()
    assert fresh(late).sign_overdue
    todo = page_text(client_for(handler).get(QUEUE))
    assert todo.index(late.code) < todo.index(fresh_order.code)
    assert "countdown-overdue" in todo
    boss = client_for(leader)
    leader_todo = page_text(boss.get(QUEUE))
    assert late.code in leader_todo and fresh_order.code not in leader_todo
    overdue = page_text(boss.get(QUEUE, {"view": "overdue"}))
    assert late.code in overdue and fresh_order.code not in overdue
    case = page_text(boss.get(case_url(late)))
    assert "超期督办" in case and 'id="form-suspend"' in case


def test_an_auditor_reads_every_appeal_but_has_no_todo_and_no_steps(
    client_for, auditor, dispatched
):
    client = client_for(auditor)
    text = page_text(client.get(QUEUE))
    assert dispatched.code in text and 'id="tab-todo"' not in text
    case = page_text(client.get(case_url(dispatched)))
    assert 'id="no-steps"' in case and 'id="form-reveal"' in case


def test_a_petitions_clock_reads_in_calendar_days(
    submit: Any, dispatcher: Any, org_tree: Any, category_tree: Any
) -> None:
    petition, _secret = submit(category=category_tree.petition_general, text="对征收补偿有异议")
    services.do_register(petition, dispatcher, now=BEFORE_HOLIDAY)
    services.do_dispatch(petition, org_tree.chengguan, dispatcher, now=BEFORE_HOLIDAY)
    petition = fresh(petition)
    assert petition.sign_due is not None
    left = countdown(petition, "sign", petition.sign_due - dt.timedelta(days=3, hours=5))
    assert left is not None and left.text == "剩余 3 天 5 小时" and left.ticking == 0
