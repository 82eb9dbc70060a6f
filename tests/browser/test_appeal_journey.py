"""The whole appeal loop in a real Chromium, every step taken on the pages people use.

A citizen submits on the web form → a dispatcher registers and dispatches → the handler signs for
it, handles it and replies → the citizen rates 不满意 with a reason → it reopens → a second reply
→ the citizen rates 满意 → the dispatcher closes it. Run once at a phone size and once at a
desktop size, with a screenshot at every step in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from appeals.models import Appeal, AppealEvent, Callback, State
from tests.browser.conftest import PHONE, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}
TEXT = (
    "幸福路与建设路交叉口的红绿灯坏了三天，早晚高峰车辆和行人抢行，"
    "昨天傍晚差点撞到放学的孩子。请尽快修复，修好前能否安排人员疏导。"
)


@pytest.fixture(autouse=True)
def _tasks_inline() -> Iterator[None]:
    """Notifications and duplicate checks run in the server's thread, not on a broker."""
    from minsheng.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def _open_case(tab: Any, code: str) -> Any:
    tab.goto("/workbench/appeals/")
    page = tab.page
    page.get_by_role("link", name=code).click()
    page.wait_for_load_state()
    return page


def _message(page: Any) -> str:
    return str(page.locator(".messages").inner_text())


def _track(tab: Any, code: str, secret: str) -> Any:
    tab.goto("/appeals/track/")
    page = tab.page
    page.get_by_label("受理编号").fill(code)
    page.get_by_label("查询码").fill(secret)
    page.get_by_role("button", name="查询").click()
    page.wait_for_url(f"**/appeals/track/{code}/")
    return page


def _rate(page: Any, code: str, rating: str, comment: str = "") -> None:
    page.get_by_label(rating, exact=True).check()
    if comment:
        page.get_by_label("意见").fill(comment)
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_url(f"**/appeals/track/{code}/")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_an_appeal_goes_round_the_whole_loop_through_the_pages(
    open_tab: Any,
    viewport: dict[str, int],
    category_tree: Any,
    org_tree: Any,
    dispatcher: Any,
    handler: Any,
) -> None:
    size = "phone" if viewport == PHONE else "desktop"

    # 1. A citizen submits on the web form, without an account, and writes down code and secret.
    citizen = open_tab(viewport)
    page = citizen.page
    citizen.goto("/appeals/new/")
    page.get_by_label("反映的问题").fill(TEXT)
    page.get_by_label("问题类别（可不选）").select_option(label="占道经营")
    page.get_by_label("地址", exact=False).fill("幸福路与建设路交叉口")
    page.get_by_label("手机号（可选）").fill("13900139001")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url("**/appeals/new/done/")
    code = page.locator("#appeal-code").inner_text()
    secret = page.locator("#appeal-secret").inner_text()
    assert re.fullmatch(r"MS-\d{4}-\d{6}", code)
    screenshot(page, f"journey-{size}-1-submitted")

    # 2. The dispatcher registers it and dispatches it to the category's default unit.
    desk = open_tab(viewport)
    desk.sign_in_as(dispatcher)
    page = _open_case(desk, code)
    page.locator("#btn-register").click()
    page.wait_for_load_state()
    assert "已立案" in _message(page)
    chosen = page.locator("#form-dispatch input[name=dispatch-unit]:checked")
    assert chosen.get_attribute("value") == str(org_tree.chengguan.pk)
    screenshot(page, f"journey-{size}-2-dispatch")
    page.locator("#btn-dispatch").click()
    page.wait_for_load_state()
    assert "已派遣至" in _message(page)
    desk.console.assert_clean()

    # 3. The handler signs for it, handles it and replies.
    street = open_tab(viewport)
    street.sign_in_as(handler)
    page = _open_case(street, code)
    page.locator("#btn-sign").click()
    page.wait_for_load_state()
    assert "已签收" in _message(page)
    page.get_by_label("处置说明").fill("已通知交警支队和路灯所到场")
    page.locator("#btn-handle").click()
    page.wait_for_load_state()
    page.locator("#id_reply-text").fill("信号灯控制器已更换，路口恢复正常通行。")
    page.locator("#btn-reply").click()
    page.wait_for_load_state()
    assert "已答复" in _message(page)
    screenshot(page, f"journey-{size}-3-replied")

    # 4. The citizen is not satisfied and says why: the appeal reopens with the same unit.
    page = _track(citizen, code, secret)
    expect(page.get_by_role("heading", name="已答复，请您评价")).to_be_visible()
    assert "信号灯控制器已更换" in page.content()
    screenshot(page, f"journey-{size}-4-first-reply-seen")
    _rate(page, code, "不满意", "晚上八点以后信号灯又开始闪黄灯，问题没有解决。")
    expect(page.get_by_role("heading", name="正在重新办理")).to_be_visible()
    screenshot(page, f"journey-{size}-5-reopened")
    assert Appeal.objects.get(code=code).state == State.REOPENED

    # 5. The handler sees the citizen's reason on the case and replies a second time.
    page = _open_case(street, code)
    assert "闪黄灯" in page.content()
    page.locator("#id_reply-text").fill(
        "已查明夜间模式配置错误，现已改为全天正常配时，并安排民警晚高峰值守一周。"
    )
    screenshot(page, f"journey-{size}-6-second-reply")
    page.locator("#btn-reply").click()
    page.wait_for_load_state()
    assert "已答复" in _message(page)
    street.console.assert_clean()

    # 6. The citizen is satisfied now.
    page = _track(citizen, code, secret)
    assert "全天正常配时" in page.content()
    _rate(page, code, "满意")
    expect(page.get_by_role("heading", name="您已评价，等待办结")).to_be_visible()
    screenshot(page, f"journey-{size}-7-rated-satisfied")

    # 7. The dispatcher closes it; the citizen sees it closed.
    page = _open_case(desk, code)
    page.locator("#btn-close").click()
    page.wait_for_load_state()
    assert "已结案" in _message(page)
    screenshot(page, f"journey-{size}-8-closed")
    page = _track(citizen, code, secret)
    expect(page.get_by_role("heading", name="已办结")).to_be_visible()
    screenshot(page, f"journey-{size}-9-citizen-sees-closed")
    citizen.console.assert_clean()

    appeal = Appeal.objects.get(code=code)
    assert appeal.state == State.CLOSED
    assert appeal.reopen_count == 1
    assert list(Callback.objects.filter(appeal=appeal).values_list("rating", flat=True)) == [
        "unsatisfied",
        "satisfied",
    ]
    assert appeal.replies.count() == 2
    steps = list(AppealEvent.objects.filter(appeal=appeal).values_list("action", flat=True))
    for step in ("submit", "register", "dispatch", "sign", "handle", "reply", "callback", "close"):
        assert step in steps, (step, steps)
