"""Journeys through the real pages in a real Chromium, at a phone and a desktop size.

Screenshots land in test-artifacts/screenshots/ for a person to look at; the assertions check
what a person would notice: the page is there, nothing overflows sideways, text is readable and
has enough contrast, targets are big enough to tap, the keyboard works, and the browser reports
no errors and no blocked inline code.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE, SMALL_PHONE, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Lüfeng-2025-dispatch"

# Every text node's colour against the first opaque background behind it (WCAG 2 relative
# luminance). Large text (24 px, or 18.67 px bold) needs 3:1, everything else 4.5:1.
CONTRAST_FAILURES_JS = """
() => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = (c) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const background = (el) => { for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a >= 0.99) return c; }
    return {r: 255, g: 255, b: 255, a: 1}; };
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.textContent.trim()) continue;
    const el = n.parentElement; const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || el.getClientRects().length === 0) continue;
    const r = el.getBoundingClientRect(); if (r.width <= 1 || r.height <= 1) continue;
    const fg = parse(s.color), bg = background(el);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight) >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < need) failures.push(`${n.textContent.trim().slice(0, 30)}: ${ratio.toFixed(2)}`);
  }
  return failures;
}
"""

# Controls a thumb must hit: navigation, buttons and form fields (links inside running text are
# exempt under WCAG 2.5.8).
SMALL_TARGETS_JS = """
(minimum) => {
  const sel = 'nav a, header button, main button, main .btn, main input:not([type=hidden]), main select, main textarea, .tile';
  return [...document.querySelectorAll(sel)].filter((el) => el.getClientRects().length > 0)
    .map((el) => ({el, r: el.getBoundingClientRect()}))
    .filter(({r}) => r.height < minimum || r.width < minimum)
    .map(({el, r}) => `${el.tagName} ${(el.textContent || el.name || '').trim().slice(0, 20)}: ${Math.round(r.width)}x${Math.round(r.height)}`);
}
"""

UNLABELLED_CONTROLS_JS = """
() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map((el) => el.name || el.id || el.outerHTML.slice(0, 60))
"""

SIDEWAYS_OVERFLOW_JS = "() => document.documentElement.scrollWidth - window.innerWidth"
BODY_FONT_PX_JS = "() => parseFloat(getComputedStyle(document.body).fontSize)"


def assert_readable(page: Any) -> None:
    assert page.evaluate(SIDEWAYS_OVERFLOW_JS) <= 0, "the page scrolls sideways"
    assert page.evaluate(BODY_FONT_PX_JS) >= 16
    assert page.evaluate(CONTRAST_FAILURES_JS) == []
    assert page.evaluate(SMALL_TARGETS_JS, 44) == []
    assert page.evaluate(UNLABELLED_CONTROLS_JS) == []


def sign_in(tab: Any, username: str, password: str) -> None:
    tab.goto("/accounts/login/")
    form = tab.page.locator("main form").filter(has=tab.page.locator("input[name=password]"))
    form.locator("input[name=username]").fill(username)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit], input[type=submit]").first.click()
    tab.page.wait_for_load_state()


@pytest.fixture
def dispatcher_with_password(dispatcher: Any) -> Any:
    dispatcher.set_password(PASSWORD)
    dispatcher.save(update_fields=["password"])
    return dispatcher


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_dispatcher_signs_in_and_sees_the_workbench(
    open_tab: Any, dispatcher_with_password: Any, viewport: dict[str, int]
) -> None:
    tab = open_tab(viewport)
    sign_in(tab, dispatcher_with_password.username, PASSWORD)
    page = tab.page
    assert page.url.endswith("/workbench/")
    name = dispatcher_with_password.display_name or dispatcher_with_password.username
    assert name in page.locator("h1").inner_text()
    assert "话务员/派单员" in page.locator("header").inner_text()
    assert page.locator("header form button[type=submit]", has_text="退出登录").is_visible()
    assert page.locator("a[href='/admin/']").count() == 0, "a dispatcher is not an admin"
    assert_readable(page)
    screenshot(page, "workbench-dispatcher")
    tab.console.assert_clean()


@pytest.mark.parametrize("viewport", [SMALL_PHONE, PHONE, DESKTOP], ids=["360", "390", "desktop"])
def test_the_portal_home_reads_well_on_a_phone_and_a_desktop(
    open_tab: Any, viewport: dict[str, int]
) -> None:
    tab = open_tab(viewport)
    response = tab.goto("/")
    assert response.status == 200
    page = tab.page
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    for heading in ["我要反映", "查询办理进度", "民意征集", "公开结果"]:
        assert page.get_by_role("heading", name=heading).is_visible()
    assert page.locator("a[href='tel:12345']").first.is_visible()
    assert page.get_by_label("受理编号").is_visible()
    assert_readable(page)
    screenshot(page, "portal-home")
    tab.console.assert_clean()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_an_auditor_opens_the_audit_trail_from_the_workbench(
    open_tab: Any, auditor: Any, viewport: dict[str, int]
) -> None:
    tab = open_tab(viewport)
    tab.sign_in_as(auditor)
    tab.goto("/workbench/")
    page = tab.page
    page.locator("nav.staff-nav").get_by_role("link", name="审计记录").click()
    page.wait_for_load_state()
    assert page.url.endswith("/workbench/audit/")
    assert page.locator("nav.staff-nav a[aria-current=page]").inner_text() == "审计记录"
    assert_readable(page)
    screenshot(page, "audit-trail")
    tab.console.assert_clean()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize(
    ("path", "name", "heading"),
    [
        ("/accounts/login/", "staff-sign-in", "工作人员登录"),
        ("/accounts/citizen/", "citizen-sign-in", "手机号登录"),
    ],
)
def test_the_sign_in_pages_read_well(
    open_tab: Any, viewport: dict[str, int], path: str, name: str, heading: str
) -> None:
    tab = open_tab(viewport)
    assert tab.goto(path).status == 200
    page = tab.page
    assert page.get_by_role("heading", name=heading).is_visible()
    assert_readable(page)
    screenshot(page, name)
    tab.console.assert_clean()


def test_the_progress_answer_and_the_error_pages_read_well_on_a_phone(
    open_tab: Any, citizen: Any
) -> None:
    tab = open_tab(SMALL_PHONE)
    page = tab.page
    assert tab.goto("/track/?code=MS-2025-000123").status == 200
    assert page.get_by_role("status").is_visible()
    assert_readable(page)
    screenshot(page, "track-answer")
    assert tab.goto("/no-such-page/").status == 404
    assert page.get_by_role("heading", name="找不到这个页面").is_visible()
    assert_readable(page)
    screenshot(page, "not-found")
    tab.sign_in_as(citizen)
    assert tab.goto("/workbench/").status == 403
    assert page.get_by_role("link", name="前往群众门户").is_visible()
    assert_readable(page)
    screenshot(page, "forbidden-citizen")
    problems = [p for p in tab.console.problems if "status of 40" not in p]
    assert problems == [], problems


def test_the_language_switch_goes_to_english_and_back(open_tab: Any) -> None:
    tab = open_tab(PHONE)
    tab.goto("/")
    page = tab.page
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Track progress").is_visible()
    assert page.get_by_label("Reference number").is_visible()
    assert_readable(page)
    screenshot(page, "portal-home-en")
    page.get_by_role("button", name="中文").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_role("heading", name="查询办理进度").is_visible()
    tab.console.assert_clean()


def test_a_dispatcher_signs_in_with_the_keyboard_alone(
    open_tab: Any, dispatcher_with_password: Any
) -> None:
    tab = open_tab(DESKTOP)
    tab.goto("/accounts/login/")
    page = tab.page

    def focused_name() -> str:
        return str(page.evaluate("() => document.activeElement && document.activeElement.name"))

    for _ in range(30):
        page.keyboard.press("Tab")
        if focused_name() == "username":
            break
    assert focused_name() == "username", "Tab never reached the user name field"
    ring = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert ring != "none", "the focused field shows no focus ring"
    screenshot(page, "keyboard-focus")
    page.keyboard.type(dispatcher_with_password.username)
    page.keyboard.press("Tab")
    assert focused_name() == "password"
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/workbench/")
    tab.console.assert_clean()


def test_the_skip_link_is_the_first_stop_and_jumps_to_the_content(open_tab: Any) -> None:
    tab = open_tab(PHONE)
    tab.goto("/")
    page = tab.page
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    assert skip.evaluate("(el) => el === document.activeElement")
    assert skip.is_visible()
    page.keyboard.press("Enter")
    # Following an in-page link updates the URL asynchronously; wait for it rather than race it.
    page.wait_for_url("**/#main", timeout=5000)
    assert page.url.endswith("#main")


def test_the_console_log_catches_an_inline_script_blocked_by_the_policy(open_tab: Any) -> None:
    # Guards the guard: if CSP reports stopped reaching the log, the clean-console checks above
    # would pass for the wrong reason.
    tab = open_tab(PHONE)
    tab.goto("/")
    page = tab.page
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 1';"
            " document.body.appendChild(s); }"
        )
    assert page.evaluate("() => window.pwned") is None
    assert tab.console.csp_violations(), tab.console.problems
