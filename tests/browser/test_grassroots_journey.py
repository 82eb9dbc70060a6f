"""进百姓门 on a phone, in a real Chromium: a grid worker opens the visit form at 390×844, logs a
visit to a household of their grid, turns what they found into an appeal in one tap, and records
a follow-up; a household of another grid is refused with a message. Screenshots at every step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appeals.models import Appeal, Channel
from grassroots.models import Household, Visit
from org import services as org
from tests.browser.conftest import PHONE, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _tasks_inline() -> Iterator[None]:
    from minsheng.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_a_cadre_logs_a_visit_on_a_phone_and_turns_the_problem_into_an_appeal(
    open_tab: Any, cadre: Any, org_tree: Any, category_tree: Any
) -> None:
    home = Household.objects.create(
        grid=org_tree.grid, address="3栋201", head_name="李秀英", head_phone="13800138001"
    )
    other_grid, _ = org.upsert_grid(
        None, "test-grid-2", name="东华社区第二网格", community=org_tree.community
    )
    stranger = Household.objects.create(grid=other_grid, address="9栋101", head_name="孙美兰")

    tab = open_tab(PHONE)
    tab.sign_in_as(cadre)
    page = tab.page
    tab.goto("/workbench/grassroots/")
    expect(page.get_by_role("heading", name="走访工作")).to_be_visible()
    screenshot(page, "grassroots-01-cadre-home")

    page.get_by_role("link", name="记录走访").click()
    page.get_by_label("住户").select_option(label=f"东华社区第一网格 · {home.address}")
    page.get_by_label("见到的人").fill("李秀英本人")
    page.get_by_label("了解到的情况").fill("楼道灯坏了两周，老人晚上下楼看不清台阶。")
    page.get_by_label("群众需求").fill("尽快修好楼道灯")
    screenshot(page, "grassroots-02-visit-form")
    page.get_by_role("button", name="保存走访记录").click()
    expect(page.locator(".messages")).to_contain_text("走访已记录")
    # The head's phone is shown masked on the cadre's phone.
    expect(page.locator("dl.facts")).to_contain_text("138****8001")
    screenshot(page, "grassroots-03-visit-saved")

    page.get_by_label("分类").select_option(label=category_tree.city_management.name)
    page.get_by_role("button", name="一键转为诉求").click()
    expect(page.locator(".messages")).to_contain_text("已转为诉求")
    appeal = Appeal.objects.get()
    assert appeal.channel == Channel.VISIT
    assert Visit.objects.get().appeal_id == appeal.pk
    expect(page.locator("#raised")).to_contain_text(appeal.code)
    screenshot(page, "grassroots-04-appeal-raised")

    page.get_by_role("link", name="记录回访").click()
    expect(page.get_by_role("heading", name="记录回访")).to_be_visible()
    page.get_by_label("见到的人").fill("李秀英本人")
    page.get_by_label("了解到的情况").fill("灯已修好，老人满意。")
    page.get_by_role("button", name="保存走访记录").click()
    expect(page.locator(".messages")).to_contain_text("走访已记录")
    screenshot(page, "grassroots-05-follow-up")
    assert Visit.objects.filter(follow_up_of__isnull=False).count() == 1

    # A household of another grid (reached by its id, as from a stale link) is refused.
    page.goto(f"{tab.base_url}/workbench/grassroots/visits/new/?household={stranger.pk}")
    page.evaluate(
        "id => { const s = document.getElementById('id_household');"
        " s.add(new Option('x', id)); s.value = id; }",
        str(stranger.pk),
    )
    page.get_by_label("见到的人").fill("户主")
    page.get_by_label("了解到的情况").fill("无")
    page.get_by_role("button", name="保存走访记录").click()
    expect(page.locator(".form-errors")).to_contain_text("不在您负责的网格内")
    screenshot(page, "grassroots-06-outside-grid-refused")
    assert Visit.objects.filter(household=stranger).count() == 0
    assert Visit.objects.filter(visited_on=timezone.localdate()).count() == 2
    # The refusal itself is a 403 answer, which the browser logs; nothing else may be.
    others = [p for p in tab.console.problems if "status of 403" not in p]
    assert others == [], "\n".join(others)


def test_a_citizen_finds_and_reads_a_typical_case_on_a_phone(
    open_tab: Any,
    organiser: Any,
    dispatcher: Any,
    handler: Any,
    org_tree: Any,
    category_tree: Any,
) -> None:
    from appeals import services as appeals
    from grassroots import cases

    appeal, _secret = appeals.do_submit(
        None,
        appeals.Submission(
            text="王先生反映：青石苑3号楼电梯一个月坏了四次，电话13900139000。",
            category=category_tree.street_vending,
            contact_name="王大明",
            contact_phone="13900139000",
        ),
    )
    appeals.do_register(appeal, dispatcher)
    appeals.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    appeals.do_sign(appeal, handler)
    appeals.do_handle(appeal, handler)
    appeals.do_reply(appeal, handler, text="已约谈物业，更换控制主板并完成检测。")
    appeals.do_callback(appeal, dispatcher, rating="satisfied")
    appeals.do_close(appeal, dispatcher)
    case = cases.draft_from(organiser, appeal)
    cases.edit(
        organiser,
        case,
        title="电梯反复故障的彻底维修",
        problem=case.problem,
        handling=case.handling,
        lesson="不能只靠重启应付，要更换部件并请检测机构出具结论。",
    )
    cases.publish(organiser, case)

    tab = open_tab(PHONE)
    page = tab.page
    tab.goto("/grassroots/cases/")
    page.get_by_label("关键词").fill("电梯")
    page.get_by_role("button", name="搜索").click()
    expect(page.get_by_role("link", name="电梯反复故障的彻底维修")).to_be_visible()
    screenshot(page, "grassroots-07-case-library")
    page.get_by_role("link", name="电梯反复故障的彻底维修").click()
    expect(page.get_by_role("heading", name="经验启示")).to_be_visible()
    body = page.locator("article").inner_text()
    assert "13900139000" not in body and "王先生" not in body and "某先生" in body
    screenshot(page, "grassroots-08-case-detail")
    tab.console.assert_clean()
