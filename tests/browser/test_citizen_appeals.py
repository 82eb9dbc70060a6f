"""A citizen's appeal in a real Chromium: submit on a phone with a photo and the phone's position,
get the code and the secret, track it from another browser, rate the reply; the refused form; the
hotline agent's entry. Screenshots at 390x844 (phone) and 1366x900 (desktop) land in
test-artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from appeals import services
from appeals.models import Appeal, AppealPhoto, State
from tests.browser.conftest import PHONE, screenshot
from tests.browser.test_journeys import (
    BODY_FONT_PX_JS,
    CONTRAST_FAILURES_JS,
    SIDEWAYS_OVERFLOW_JS,
    UNLABELLED_CONTROLS_JS,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}
# 天安门 — where the emulated phone says it is.
WHERE = {"latitude": 39.908722, "longitude": 116.397499}
TEXT = (
    "东华路菜市场门口每天早上七点到九点有十几个流动摊贩占用人行道，"
    "行人只能走机动车道，上周还有老人被电动车刮倒。希望城管加强早高峰巡查，设置疏导点。"
)

# Like the journeys' check, but a radio button or a checkbox counts by its label: the whole row
# is what the thumb taps.
SMALL_TARGETS_JS = """
(minimum) => {
  const sel = 'nav a, header button, main button, main .btn, main input:not([type=hidden]), main select, main textarea, .tile';
  const target = (el) => (el.type === 'radio' || el.type === 'checkbox') && el.labels.length ? el.labels[0] : el;
  return [...document.querySelectorAll(sel)].filter((el) => el.getClientRects().length > 0)
    .map((el) => ({el, r: target(el).getBoundingClientRect()}))
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


@pytest.fixture
def photo_file(tmp_path: Path) -> Path:
    """A phone photo: a JPEG with a gradient, like a real picture rather than a flat colour."""
    image = Image.new("RGB", (640, 480))
    image.putdata([(x % 256, (x + y) % 256, y % 256) for y in range(480) for x in range(640)])
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    path = tmp_path / "摊贩占道.jpg"
    path.write_bytes(out.getvalue())
    return path


def test_a_citizen_submits_on_a_phone_with_a_photo_and_tracks_it(
    open_tab: Any, category_tree: Any, photo_file: Path
) -> None:
    tab = open_tab(PHONE, geolocation=WHERE, permissions=["geolocation"])
    page = tab.page
    assert tab.goto("/").status == 200
    page.locator("#home-submit").click()
    page.wait_for_url("**/appeals/new/")
    assert page.get_by_role("heading", name="我要反映").is_visible()
    assert_readable(page)
    screenshot(page, "appeal-form")

    page.get_by_label("反映的问题").fill(TEXT)
    expect(page.locator("#text-count")).to_have_text(f"已写 {len(TEXT)} 字，至多 5000 字")
    page.get_by_label("问题类别（可不选）").select_option(label="占道经营")
    page.get_by_label("地址", exact=False).fill("东华路 12 号菜市场门口")
    page.get_by_role("button", name="使用我的位置").click()
    # The position arrives asynchronously: wait for it rather than read the "locating…" line.
    expect(page.locator("#location-shown")).to_have_text(
        "已记录位置：纬度 39.908722，经度 116.397499"
    )
    expect(page.get_by_role("button", name="清除位置")).to_be_visible()
    page.locator("#id_photos").set_input_files(str(photo_file))
    expect(page.locator("#photos-list img")).to_have_count(1)
    page.get_by_label("称呼（可选）").fill("张先生")
    page.get_by_label("手机号（可选）").fill("139 0013 9000")
    assert_readable(page)
    screenshot(page, "appeal-form-filled")

    page.get_by_role("button", name="提交").click()
    page.wait_for_url("**/appeals/new/done/")
    assert page.get_by_role("heading", name="您的诉求已受理").is_visible()
    code = page.locator("#appeal-code").inner_text()
    secret = page.locator("#appeal-secret").inner_text()
    assert re.fullmatch(r"MS-\d{4}-\d{6}", code) and len(secret) == 10
    assert_readable(page)
    screenshot(page, "appeal-submitted")

    appeal = Appeal.objects.get(code=code)
    assert str(appeal.lat) == "39.908722" and str(appeal.lng) == "116.397499"
    assert appeal.contact_phone == "13900139000"
    assert AppealPhoto.objects.filter(appeal=appeal).count() == 1
    tab.console.assert_clean()

    # Another phone, with nothing but the two strings written down.
    other = open_tab(PHONE)
    track = other.page
    assert other.goto("/track/").status == 200
    track.get_by_label("受理编号").fill(code)
    track.get_by_label("查询码").fill(secret.lower())
    track.get_by_role("button", name="查询").click()
    track.wait_for_url(f"**/appeals/track/{code}/")
    assert track.get_by_role("heading", name="已收到，正在登记").is_visible()
    html = track.content()
    for private in ("张先生", "13900139000", "139****9000", "东华路 12 号"):
        assert private not in html
    assert_readable(track)
    screenshot(track, "appeal-tracked")
    other.console.assert_clean()


def test_a_refused_form_keeps_what_was_typed_and_says_why_beside_each_field(
    open_tab: Any, category_tree: Any
) -> None:
    tab = open_tab(PHONE)
    page = tab.page
    tab.goto("/appeals/new/")
    page.get_by_label("反映的问题").fill(TEXT)
    page.get_by_label("手机号（可选）").fill("1390013")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#id_contact_phone_error")).to_be_visible()
    assert "不是有效的手机号码" in page.locator("#id_contact_phone_error").inner_text()
    assert page.get_by_label("反映的问题").input_value() == TEXT
    # Without a position there is nothing to clear; the button stays hidden.
    assert not page.get_by_role("button", name="清除位置").is_visible()
    assert page.get_by_role("alert").first.is_visible()
    assert_readable(page)
    screenshot(page, "appeal-form-refused")
    assert not Appeal.objects.exists()
    problems = [p for p in tab.console.problems if "status of 400" not in p]
    assert problems == [], problems


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_citizen_rates_a_reply_unsatisfied_with_a_reason_and_it_reopens(
    open_tab: Any,
    viewport: dict[str, int],
    category_tree: Any,
    dispatcher: Any,
    handler: Any,
    org_tree: Any,
) -> None:
    appeal, secret = services.do_submit(
        None,
        services.Submission(
            text=TEXT, category=category_tree.street_vending, contact_phone="13900139000"
        ),
    )
    services.do_register(appeal, dispatcher)
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    services.do_sign(appeal, handler)
    services.do_handle(appeal, handler)
    services.do_reply(
        appeal, handler, text="已联合市场监管所清理摊贩，并在东华路北口设置限时疏导点。"
    )
    tab = open_tab(viewport)
    page = tab.page
    tab.goto("/appeals/track/")
    page.get_by_label("受理编号").fill(appeal.code)
    page.get_by_label("查询码").fill(secret)
    page.get_by_role("button", name="查询").click()
    page.wait_for_url(f"**/appeals/track/{appeal.code}/")
    assert page.get_by_role("heading", name="已答复，请您评价").is_visible()
    assert "王城管" not in page.content()
    assert_readable(page)
    screenshot(page, "appeal-replied")

    page.get_by_label("不满意").check()
    page.get_by_role("button", name="提交评价").click()
    expect(page.locator("#id_rate-comment_error")).to_be_visible()
    assert "不满意请说明原因" in page.locator("#id_rate-comment_error").inner_text()
    screenshot(page, "appeal-rating-refused")
    page.get_by_label("意见").fill("第二天摊贩又回来了，疏导点也没人管。")
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_url(f"**/appeals/track/{appeal.code}/")
    assert page.get_by_role("heading", name="正在重新办理").is_visible()
    assert page.get_by_text("感谢您的评价。").is_visible()
    assert_readable(page)
    screenshot(page, "appeal-reopened")
    appeal.refresh_from_db()
    assert appeal.state == State.REOPENED
    problems = [p for p in tab.console.problems if "status of 400" not in p]
    assert problems == [], problems


def test_the_hotline_agent_enters_a_callers_appeal_on_a_desktop(
    open_tab: Any, category_tree: Any, dispatcher: Any
) -> None:
    tab = open_tab(DESKTOP)
    tab.sign_in_as(dispatcher)
    page = tab.page
    assert tab.goto("/appeals/agent/new/").status == 200
    page.get_by_label("来电反映的问题").fill(TEXT)
    page.get_by_label("问题类别（可不选）").select_option(label="占道经营")
    page.get_by_label("来电人称呼（可选）").fill("王女士")
    page.get_by_label("来电号码（可选）").fill("13700137000")
    screenshot(page, "agent-entry")
    page.get_by_role("button", name="登记受理").click()
    page.wait_for_url("**/appeals/agent/new/done/")
    code = page.locator("#appeal-code").inner_text()
    assert Appeal.objects.get(code=code).channel == "hotline"
    assert_readable(page)
    screenshot(page, "agent-entry-done")
    tab.console.assert_clean()


def test_a_signed_in_citizen_finds_their_appeals_on_a_phone(
    open_tab: Any, category_tree: Any, citizen: Any
) -> None:
    mine, _secret = services.do_submit(
        citizen, services.Submission(text=TEXT, category=category_tree.street_vending)
    )
    services.do_submit(None, services.Submission(text="公园里的长椅坏了，没人修。"))
    tab = open_tab(PHONE)
    tab.sign_in_as(citizen)
    page = tab.page
    assert tab.goto("/appeals/mine/").status == 200
    expect(page.locator("#my-appeals li")).to_have_count(1)
    page.get_by_role("link", name=re.compile(mine.code)).click()
    page.wait_for_url(f"**/appeals/track/{mine.code}/")
    assert page.get_by_role("heading", name="已收到，正在登记").is_visible()
    tab.goto("/appeals/mine/")
    assert_readable(page)
    screenshot(page, "my-appeals")
    tab.console.assert_clean()


@pytest.mark.parametrize(
    ("path", "name", "heading"),
    [
        ("/appeals/new/", "appeal-form", "我要反映"),
        ("/appeals/track/", "appeal-track", "查询办理进度"),
    ],
)
def test_the_citizen_pages_read_well_on_a_desktop(
    open_tab: Any, category_tree: Any, path: str, name: str, heading: str
) -> None:
    tab = open_tab(DESKTOP)
    assert tab.goto(path).status == 200
    assert tab.page.get_by_role("heading", name=heading, exact=True).is_visible()
    assert_readable(tab.page)
    screenshot(tab.page, name)
    tab.console.assert_clean()
