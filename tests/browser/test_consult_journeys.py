"""Consultation journeys in a real Chromium: a hearing's registration and public draw, and a
decision that reports adoption back to the people who answered a questionnaire."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from consult import draw as lottery
from consult import hearings
from consult.models import Hearing, Notice, Registration
from consult.views import mask_name
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.personas import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _tasks_inline() -> Iterator[None]:
    from minsheng.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_a_hearing_draws_its_representatives_in_public(
    open_tab: Any, organiser: Any, org_tree: Any
) -> None:
    now = timezone.now()
    hearing = hearings.create_hearing(
        organiser,
        unit=org_tree.city,
        title="居民用水价格调整听证会",
        matter="拟将第一阶梯水价由每立方米2.9元调整为3.2元。",
        place="市政府第一会议室",
        starts_at=now + dt.timedelta(days=21),
        registration_opens=now - dt.timedelta(hours=1),
        registration_closes=now + dt.timedelta(days=3),
        seats={"resident": 2, "business": 1},
        seed_source="报名截止后第一期福彩3D开奖号码",
    )
    hearings.publish_hearing(organiser, hearing)
    applicants = [
        make_user(f"applicant{i}", name, kind="citizen", phone=f"1380000{i:04d}")
        for i, name in enumerate(["王建国", "李秀英", "张伟", "刘洋", "陈静", "赵敏"])
    ]
    # Three apply on their phones through the page, the rest as earlier applicants.
    for i, user in enumerate(applicants[:3]):
        tab = open_tab(PHONE)
        tab.sign_in_as(user)
        tab.goto(f"/consult/hearings/{hearing.pk}/")
        page = tab.page
        if i == 0:
            screenshot(page, "consult-hearing-notice")
        page.get_by_label("报名类别").select_option("resident" if i < 2 else "business")
        page.get_by_label("姓名").fill(user.display_name)
        page.get_by_label("报名理由").fill("家里用水量大，关心阶梯水价的调整。")
        page.get_by_role("button", name="提交报名").click()
        expect(page.locator(".messages")).to_contain_text("报名成功")
        if i == 0:
            screenshot(page, "consult-hearing-registered")
        tab.console.assert_clean()
    for user in applicants[3:]:
        category = "business" if user.username == "applicant5" else "resident"
        hearings.register(
            user, hearing, category=category, name=user.display_name, reason="关心水价"
        )
    # Registration closes.
    Hearing.objects.filter(pk=hearing.pk).update(registration_closes=timezone.now())

    staff = open_tab(DESKTOP)
    staff.sign_in_as(organiser)
    staff.goto(f"/workbench/consult/hearings/{hearing.pk}/")
    staff.page.get_by_label("抽签种子").fill("3 8 1")
    staff.page.get_by_role("button", name="公开抽签").click()
    expect(staff.page.locator(".messages")).to_contain_text("抽签完成")
    screenshot(staff.page, "consult-hearing-drawn-workbench")

    rows = list(Registration.objects.filter(hearing=hearing).order_by("pk"))
    rerun = lottery.draw("3 8 1", hearing.pk, [(r.pk, r.category) for r in rows], hearing.seats)
    names = {r.pk: mask_name(r.name) for r in rows}
    expected = sorted(names[t.registration_id] for t in rerun if t.selected)
    assert len(expected) == 3

    public = open_tab(PHONE)
    public.goto(f"/consult/hearings/{hearing.pk}/")
    listed = sorted(public.page.locator("table.participants td.name").all_inner_texts())
    assert listed == expected
    screenshot(public.page, "consult-hearing-participants")
    public.page.get_by_role("link", name="查看抽签方法并复核").click()
    expect(public.page.locator(".verdict")).to_contain_text("结果与公布名单一致")
    rerun_rows = public.page.locator("table.rerun tr.selected td.name").all_inner_texts()
    assert sorted(rerun_rows) == expected
    screenshot(public.page, "consult-hearing-verify")
    public.console.assert_clean()
    staff.console.assert_clean()


def test_a_decision_reports_adoption_to_questionnaire_respondents(
    open_tab: Any, organiser: Any, org_tree: Any, citizen: Any
) -> None:
    from surveys.models import Kind, Question, Questionnaire, Response, Section, Theme

    q = Questionnaire.objects.create(title="社区养老服务需求调查", unit=org_tree.city)
    section = Section.objects.create(questionnaire=q, title="建议")
    question = Question.objects.create(
        questionnaire=q, section=section, kind=Kind.TEXT, text="您对社区养老服务有什么建议？"
    )
    Response.objects.create(questionnaire=q, respondent=citizen, answers={})
    Theme.objects.create(
        questionnaire=q,
        question=question,
        label="增加社区老年助餐点",
        quotes=["希望楼下有助餐点"],
        count=41,
        rank=1,
    )
    Theme.objects.create(
        questionnaire=q,
        question=question,
        label="上门医疗服务",
        quotes=["行动不便，希望医生上门"],
        count=23,
        rank=2,
    )

    staff = open_tab(DESKTOP)
    staff.sign_in_as(organiser)
    staff.goto("/workbench/consult/decisions/new/")
    page = staff.page
    page.get_by_label("单位").select_option(str(org_tree.city.pk))
    page.get_by_label("决策名称").fill("社区养老服务提升行动")
    page.get_by_label("决策内容").fill("2027年新增社区老年助餐点30个，试点家庭医生上门服务。")
    page.get_by_label("决策日期").fill("2026-11-20")
    page.get_by_role("button", name="保存").click()
    page.get_by_label("问卷调查").select_option(str(q.pk))
    page.locator("form:has(#ref-questionnaire)").get_by_role("button", name="关联").click()
    expect(page.locator(".item-form")).to_have_count(2)
    forms = page.locator(".item-form")
    forms.nth(0).get_by_label("采纳情况").select_option("adopted")
    forms.nth(0).get_by_role("button", name="保存").click()
    forms = page.locator(".item-form")
    forms.nth(1).get_by_label("采纳情况").select_option("partly")
    forms.nth(1).get_by_label("理由").fill("先在两个街道试点，评估后推广。")
    forms.nth(1).get_by_role("button", name="保存").click()
    page.get_by_role("button", name="公布采纳情况并通知参与者").click()
    expect(page.locator(".messages")).to_contain_text("已通知参与者")
    screenshot(page, "consult-decision-workbench")

    assert Notice.objects.filter(user=citizen).count() == 1
    phone = open_tab(PHONE)
    phone.sign_in_as(citizen)
    phone.goto("/consult/notices/")
    screenshot(phone.page, "consult-notices")
    phone.page.get_by_role("link", name="社区养老服务提升行动").click()
    expect(phone.page.locator("h1")).to_contain_text("社区养老服务提升行动")
    expect(phone.page.locator(".adoption")).to_contain_text("增加社区老年助餐点")
    expect(phone.page.locator(".adoption")).to_contain_text("先在两个街道试点")
    screenshot(phone.page, "consult-decision-feedback")
    phone.console.assert_clean()
    staff.console.assert_clean()
