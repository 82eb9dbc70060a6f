"""A questionnaire from the builder to the chart, in a real Chromium.

An organiser builds and publishes a questionnaire on a desktop (sections, a required single
choice, a follow-up shown only to those against, a section shown only to upper floors, a rating,
free text); two neighbours answer on phones — one takes the skip and saves half-way to continue
later, the other answers the skipped section —; the organiser sees the results with their bar
charts, publishes them, and a phone reads the public results. Screenshots at every step.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from surveys.models import Questionnaire, Response, State
from tests.browser.conftest import PHONE, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _add_question(page: Any, section: str, kind: str, text: str, **fields: str) -> None:
    block = page.locator("section.builder-section", has_text=section)
    block.get_by_label("添加题目").select_option(label=kind)
    block.get_by_role("button", name="添加").click()
    page.wait_for_load_state()
    page.locator("#id_text").fill(text)
    for label, value in fields.items():
        if label == "必答":
            page.get_by_label("必答").check()
        elif label == "显示条件":
            page.get_by_label("显示条件").select_option(label=value)
        else:
            page.get_by_label(label).fill(value)
    page.get_by_role("button", name="保存题目").click()
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text("题目已保存")


def _add_section(page: Any, title: str, condition: str = "") -> None:
    form = page.locator("#new-section")
    form.get_by_label("这一节的标题").fill(title)
    if condition:
        form.get_by_label("显示条件").select_option(label=condition)
    form.get_by_role("button", name="添加这一节").click()
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text("已添加一节")


def test_an_organiser_builds_a_questionnaire_neighbours_answer_on_phones_and_results_appear(
    open_tab: Any, organiser: Any, org_tree: Any
) -> None:
    # 1. The organiser builds it on a desktop.
    desk = open_tab(DESKTOP)
    desk.sign_in_as(organiser)
    page = desk.page
    desk.goto("/workbench/surveys/")
    page.get_by_role("link", name="新建问卷").click()
    page.get_by_label("组织单位").select_option(label=org_tree.community.name)
    page.get_by_label("问卷标题").fill("东华社区老旧小区加装电梯意愿调查")
    page.get_by_label("说明").fill("社区拟为 3 栋老旧住宅加装电梯，先听听居民的意见。")
    page.get_by_label("所有人（可匿名）").check()
    page.get_by_role("button", name="创建问卷").click()
    page.wait_for_load_state()
    _add_section(page, "基本情况")
    _add_question(
        page,
        "基本情况",
        "单选",
        "您家住在几楼？",
        必答="on",
        **{"选项（每行一个）": "一至二楼\n三楼及以上"},
    )
    _add_question(
        page,
        "基本情况",
        "单选",
        "您是否支持本楼加装电梯？",
        必答="on",
        **{"选项（每行一个）": "支持\n不支持"},
    )
    _add_question(
        page,
        "基本情况",
        "填空",
        "不支持的主要原因是什么？",
        必答="on",
        显示条件="第2题选了“不支持”时显示",
    )
    _add_section(page, "费用分摊", "第1题选了“三楼及以上”时显示")
    _add_question(
        page,
        "费用分摊",
        "评分",
        "按楼层分摊费用，您的接受程度？",
        **{"最低分的含义": "不能接受", "最高分的含义": "完全接受"},
    )
    _add_section(page, "意见建议")
    _add_question(page, "意见建议", "填空", "您对加装电梯还有什么建议？")
    expect(page.locator(".condition").first).to_contain_text("仅当第2题选“不支持”时显示")
    screenshot(page, "survey-1-built")
    page.get_by_role("button", name="发布问卷").click()
    page.wait_for_load_state()
    expect(page.locator(".messages")).to_contain_text("问卷已发布")
    screenshot(page, "survey-2-published")
    q = Questionnaire.objects.get(title="东华社区老旧小区加装电梯意愿调查")
    assert q.state == State.PUBLISHED
    desk.console.assert_clean()

    # 2. A ground-floor neighbour answers on a phone: the cost page is skipped, and she saves
    #    half-way and comes back.
    first = open_tab(PHONE)
    page = first.page
    first.goto("/surveys/")
    page.get_by_role("link", name="东华社区老旧小区加装电梯意愿调查").click()
    page.get_by_role("link", name="开始填写").click()
    screenshot(page, "survey-3-phone-first-page")
    page.get_by_role("button", name="下一页").click()
    expect(page.locator(".question.has-error").first).to_contain_text("必答")
    screenshot(page, "survey-4-phone-required")
    page.get_by_label("一至二楼").check()
    page.get_by_label("支持", exact=True).check()
    page.get_by_role("button", name="下一页").click()
    expect(page.get_by_role("heading", name="意见建议")).to_be_visible()
    assert "第 2 页，共 2 页" in page.content()
    page.get_by_label("您对加装电梯还有什么建议？").fill("电梯井别挡住一楼的窗户")
    page.get_by_role("button", name="保存，稍后继续").click()
    expect(page.locator(".messages")).to_contain_text("已保存")
    screenshot(page, "survey-5-phone-saved")
    page.get_by_role("link", name="继续填写").click()
    expect(page.get_by_label("您对加装电梯还有什么建议？")).to_have_value("电梯井别挡住一楼的窗户")
    page.get_by_role("button", name="提交问卷").click()
    expect(page.get_by_role("heading", name="提交成功，谢谢您！")).to_be_visible()
    screenshot(page, "survey-6-phone-done")
    first.console.assert_clean()

    # 3. An upper-floor neighbour against it: the follow-up and the cost page are shown.
    second = open_tab(PHONE)
    page = second.page
    second.goto(f"/surveys/{q.pk}/")
    page.get_by_role("link", name="开始填写").click()
    page.get_by_label("三楼及以上").check()
    page.get_by_label("不支持", exact=True).check()
    page.get_by_label("不支持的主要原因是什么？").fill("费用太高，家里负担不起")
    page.get_by_role("button", name="下一页").click()
    expect(page.get_by_role("heading", name="费用分摊")).to_be_visible()
    page.locator(".rating-scale label", has_text="2").click()
    screenshot(page, "survey-7-phone-rating")
    page.get_by_role("button", name="下一页").click()
    page.get_by_label("您对加装电梯还有什么建议？").fill("希望政府多给补贴，减轻居民负担")
    page.get_by_role("button", name="提交问卷").click()
    expect(page.get_by_role("heading", name="提交成功，谢谢您！")).to_be_visible()
    second.console.assert_clean()
    assert Response.objects.filter(questionnaire=q).count() == 2

    # 4. The organiser reads the results with their charts and publishes them.
    page = desk.page
    desk.goto(f"/workbench/surveys/{q.pk}/results/")
    expect(page.locator(".results-total")).to_contain_text("共收到 2 份答卷")
    assert page.locator("svg.chart-bar").count() >= 4
    page.locator("#q{}".format(q.questions.get(text__startswith="您对加装").pk)).get_by_role(
        "button", name="重新归纳主题"
    ).click()
    expect(page.locator(".messages")).to_contain_text("主题")
    page.get_by_role("button", name="公开结果", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("结果已公开")
    screenshot(page, "survey-8-results-desktop")
    desk.console.assert_clean()

    # 5. A phone reads the public results.
    page = first.page
    first.goto(f"/surveys/{q.pk}/results/")
    expect(page.locator(".results-total")).to_contain_text("共收到 2 份答卷")
    expect(page.locator(".bar-row").first).to_contain_text("一至二楼")
    expect(page.locator(".theme").first).to_be_visible()
    screenshot(page, "survey-9-results-phone")
    first.console.assert_clean()
