"""A dispatcher dispatches and a handler signs and replies, through the workbench's appeal pages
in a real Chromium, at a phone and a desktop size, with screenshots of each page on the way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import PHONE, screenshot
from tests.browser.test_journeys import (
    BODY_FONT_PX_JS,
    CONTRAST_FAILURES_JS,
    SIDEWAYS_OVERFLOW_JS,
    UNLABELLED_CONTROLS_JS,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORKBENCH_DESKTOP = {"width": 1366, "height": 900}

# As in test_journeys, but a radio button or checkbox counts with the label that wraps it: the
# whole label is what a thumb presses (the site's radios sit inside 44 px labels).
SMALL_TARGETS_JS = """
(minimum) => {
  const sel = 'nav a, header button, main button, main .btn, main input:not([type=hidden]), main select, main textarea, .tile';
  return [...document.querySelectorAll(sel)].filter((el) => el.getClientRects().length > 0)
    .map((el) => {
      const wrap = (el.type === 'radio' || el.type === 'checkbox') ? el.closest('label') : null;
      return {el, r: (wrap || el).getBoundingClientRect()};
    })
    .filter(({r}) => r.height < minimum || r.width < minimum)
    .map(({el, r}) => `${el.tagName} ${(el.textContent || el.name || '').trim().slice(0, 20)}: ${Math.round(r.width)}x${Math.round(r.height)}`);
}
"""


def assert_readable(page: Any) -> None:
    assert page.evaluate(SIDEWAYS_OVERFLOW_JS) <= 0, "the page scrolls sideways"
    assert page.evaluate(BODY_FONT_PX_JS) >= 16
    assert page.evaluate(CONTRAST_FAILURES_JS) == []
    assert page.evaluate(SMALL_TARGETS_JS, 44) == []
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []


@pytest.fixture(autouse=True)
def _tasks_inline() -> Iterator[None]:
    """Notifications run in the server's thread, so nothing waits on a broker."""
    from minsheng.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def new_appeal(category_tree: Any) -> Any:
    from appeals import services
    from appeals.models import ReplyTemplate

    ReplyTemplate.objects.create(
        category=category_tree.street_vending,
        title="占道经营已清理",
        text="您反映的问题（{code}）已由{unit}到现场处理，摊贩已清理，并将持续巡查。",
    )
    appeal, _secret = services.do_submit(
        None,
        services.Submission(
            text="东华路菜市场门口长期有流动摊贩占道经营，早高峰堵塞人行道，老人只能走机动车道。",
            category=category_tree.street_vending,
            address="东华路 12 号菜市场门口",
            contact_name="张先生",
            contact_phone="13900139000",
        ),
    )
    return appeal


@pytest.mark.parametrize("viewport", [PHONE, WORKBENCH_DESKTOP], ids=["phone", "desktop"])
def test_a_dispatcher_dispatches_and_the_handler_signs_and_replies(
    open_tab: Any,
    dispatcher: Any,
    handler: Any,
    new_appeal: Any,
    org_tree: Any,
    viewport: dict[str, int],
) -> None:
    from appeals.models import Appeal, State

    # The dispatcher finds the new appeal in their to-do list and opens it.
    desk = open_tab(viewport)
    desk.sign_in_as(dispatcher)
    desk.goto("/workbench/")
    page = desk.page
    page.locator("nav.staff-nav").get_by_role("link", name="诉求办理").click()
    page.wait_for_load_state()
    assert page.locator("#tab-todo[aria-current=page]").count() == 1
    assert_readable(page)
    screenshot(page, "wb-appeals-queue-dispatcher")
    page.get_by_role("link", name=new_appeal.code).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name=new_appeal.title).is_visible()
    assert "139****9000" in page.locator("#phone-masked").inner_text()

    # 立案, then 派遣: the category's default unit is already chosen.
    page.locator("#btn-register").click()
    page.wait_for_load_state()
    assert "已立案" in page.locator(".messages").inner_text()
    default = page.locator("#form-dispatch input[name=dispatch-unit]:checked")
    assert default.get_attribute("value") == str(org_tree.chengguan.pk)
    page.get_by_label("派遣说明").fill("请城管执法局尽快到场处置")
    assert_readable(page)
    screenshot(page, "wb-appeals-case-dispatch")
    page.locator("#btn-dispatch").click()
    page.wait_for_load_state()
    assert "已派遣至测试市城市管理综合执法局" in page.locator(".messages").inner_text()
    assert page.locator("#case-state").inner_text() == "派遣"
    desk.console.assert_clean()

    # The handler sees the order with its sign-for countdown, signs for it, handles, replies.
    street = open_tab(viewport)
    street.sign_in_as(handler)
    street.goto("/workbench/appeals/")
    page = street.page
    row = page.locator("tr", has=page.get_by_role("link", name=new_appeal.code))
    assert row.locator(".countdown").is_visible()
    assert "签收" in row.locator(".countdown").inner_text()
    assert_readable(page)
    screenshot(page, "wb-appeals-queue-handler")
    page.get_by_role("link", name=new_appeal.code).click()
    page.wait_for_load_state()
    page.locator("#btn-sign").click()
    page.wait_for_load_state()
    assert "已签收" in page.locator(".messages").inner_text()
    page.get_by_label("处置说明").fill("已派执法队员到场")
    page.locator("#btn-handle").click()
    page.wait_for_load_state()
    assert "已开始处置" in page.locator(".messages").inner_text()

    # The template picker fills the reply box (the page's script, no reload).
    page.get_by_label("答复模板").select_option(label="占道经营已清理")
    reply = page.locator("#id_reply-text")
    assert new_appeal.code in reply.input_value()
    assert "测试市城市管理综合执法局" in reply.input_value()
    assert_readable(page)
    screenshot(page, "wb-appeals-case-reply")
    page.locator("#btn-reply").click()
    page.wait_for_load_state()
    assert "已答复" in page.locator(".messages").inner_text()
    assert page.locator("#case-state").inner_text() == "答复"
    assert page.locator("#timeline li").count() >= 6
    assert_readable(page)
    screenshot(page, "wb-appeals-case-replied")
    street.console.assert_clean()

    appeal = Appeal.objects.get(pk=new_appeal.pk)
    assert appeal.state == State.REPLIED
    assert appeal.current_unit == org_tree.chengguan
    assert "摊贩已清理" in appeal.replies.get().text


@pytest.mark.parametrize("viewport", [PHONE, WORKBENCH_DESKTOP], ids=["phone", "desktop"])
def test_a_dispatcher_merges_a_possible_duplicate_picked_from_the_list(
    open_tab: Any, dispatcher: Any, new_appeal: Any, category_tree: Any, viewport: dict[str, int]
) -> None:
    from appeals import services
    from appeals.models import Appeal, State

    again, _secret = services.do_submit(
        None,
        services.Submission(
            text=new_appeal.text, category=category_tree.street_vending, address="东华路 12 号"
        ),
    )
    tab = open_tab(viewport)
    tab.sign_in_as(dispatcher)
    tab.goto(f"/workbench/appeals/{again.pk}/")
    page = tab.page
    merge = page.locator("#step-merge")
    assert merge.get_attribute("open") is not None, "possible duplicates open the merge form"
    assert new_appeal.code in merge.locator(".wb-duplicates").inner_text()
    merge.get_by_role("button", name="选用").click()
    assert page.get_by_label("并入诉求编号").input_value() == new_appeal.code
    assert_readable(page)
    screenshot(page, "wb-appeals-case-merge")
    page.locator("#btn-merge").click()
    page.wait_for_load_state()
    assert f"已并入 {new_appeal.code}" in page.locator(".messages").inner_text()
    assert page.locator("#case-state").inner_text() == "已合并"
    tab.console.assert_clean()
    assert Appeal.objects.get(pk=again.pk).state == State.MERGED
