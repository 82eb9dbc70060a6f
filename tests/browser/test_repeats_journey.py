"""A dispatcher sees that a new appeal repeats a concluded one of the same citizen, reads the
earlier outcome and the legal basis, and answers with the lawful reply; a leader overturns it.
Phone and desktop, with screenshots of the handler's view."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import PHONE, screenshot
from tests.browser.test_workbench_appeals import WORKBENCH_DESKTOP, assert_readable

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = "东华路菜市场门口长期有流动摊贩占道经营，早高峰堵塞人行道，老人只能走机动车道。"


@pytest.fixture(autouse=True)
def _tasks_inline() -> Iterator[None]:
    from minsheng.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def repeated(category_tree: Any, dispatcher: Any, handler: Any, org_tree: Any) -> Any:
    """A concluded appeal of 13900139000 and the same person writing again (checked inline)."""
    from appeals import repeats, services

    def submit(text: str) -> Any:
        sub = services.Submission(
            text=text,
            category=category_tree.street_vending,
            address="东华路 12 号菜市场门口",
            contact_name="张先生",
            contact_phone="13900139000",
        )
        return services.do_submit(None, sub)[0]

    first = submit(TEXT)
    services.do_register(first, dispatcher)
    services.do_dispatch(first, org_tree.chengguan, dispatcher)
    services.do_sign(first, handler)
    services.do_handle(first, handler)
    services.do_reply(first, handler, text="已联合市场监管所清理摊贩，并设置限时疏导点。")
    services.do_callback(first, dispatcher, rating="satisfied")
    services.do_close(first, dispatcher)
    again = submit("东华路菜市场门口还是有流动摊贩占道经营，早高峰人行道堵塞，老人只能走机动车道。")
    repeats.check(again.pk)  # idempotent: the intake's own check may have recorded it already
    return again


@pytest.mark.parametrize("viewport", [PHONE, WORKBENCH_DESKTOP], ids=["phone", "desktop"])
def test_a_dispatcher_answers_a_repeat_with_the_lawful_reply_and_a_leader_overturns_it(
    open_tab: Any, dispatcher: Any, leader: Any, repeated: Any, viewport: dict[str, int]
) -> None:
    from appeals.models import Appeal, RepeatStatus, State

    tab = open_tab(viewport)
    tab.sign_in_as(dispatcher)
    tab.goto(f"/workbench/appeals/{repeated.pk}/")
    page = tab.page
    panel = page.locator("#repeat")
    assert panel.is_visible()
    assert "已联合市场监管所清理摊贩" in page.locator("#repeat-outcome").inner_text()
    # Within the reopening window the drafted reply points to 重办 of the earlier appeal.
    drafted = page.locator("#id_repeat-reply").input_value()
    assert "本件不再另行受理" in drafted and "申请重办" in drafted
    assert_readable(page)
    name = "phone" if viewport is PHONE else "desktop"
    screenshot(page, f"wb-repeat-pending-{name}")
    page.locator("#btn-repeat-confirm").click()
    page.wait_for_load_state()
    assert "已认定为重复诉求" in page.locator(".messages").inner_text()
    assert page.locator("#case-state").inner_text() == "不予受理"
    assert page.locator("#repeat-reply-sent").is_visible()
    tab.console.assert_clean()

    boss = open_tab(viewport)
    boss.sign_in_as(leader)
    boss.goto(f"/workbench/appeals/{repeated.pk}/")
    page = boss.page
    page.locator("#form-repeat-overturn").locator("xpath=..").locator("summary").click()
    page.locator("#btn-repeat-overturn").click()  # no reason: the browser asks for one
    assert Appeal.objects.get(pk=repeated.pk).state == State.REJECTED
    page.get_by_label("撤销理由").fill("群众补充了夜间新增摊点的事实，应按程序办理")
    assert_readable(page)
    screenshot(page, f"wb-repeat-overturn-{name}")
    page.locator("#btn-repeat-overturn").click()
    page.wait_for_load_state()
    assert "已撤销重复认定" in page.locator(".messages").inner_text()
    assert page.locator("#case-state").inner_text() == "立案"
    boss.console.assert_clean()
    assert repeated.repeat_findings.get().status == RepeatStatus.OVERTURNED
