"""A misconduct report from a phone to feedback, in a real Chromium.

An anonymous citizen reports a cadre on a phone (390×844) and notes the code and secret → the
discipline inspector registers, files, decides and gives feedback → a second, named report is
unsealed by two different inspectors (the same one approving twice is refused) → the reported
person reaching for the case by id gets a 404 → the anonymous reporter follows the report by code
and secret and reads the feedback. Screenshots in test-artifacts/screenshots/.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from integrity.models import Report
from org.roles import Role
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.personas import OrgTree, _staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTENT = "城管执法局某中队长2026年3月在夜市多次收受摊贩现金，每次两三百元，不给就罚款。"


def _report_on_phone(tab: Any, org_tree: OrgTree, *, named: bool, name: str) -> tuple[str, str]:
    page = tab.page
    tab.goto("/integrity/")
    page.select_option("#id_kind", "corruption")
    page.select_option("#id_target_unit", str(org_tree.chengguan.pk))
    page.fill("#id_target_name", "城管执法局夜市中队长")
    page.fill("#id_content", CONTENT)
    if named:
        page.check("#id_named_1")
        page.fill("#id_name", "刘实名")
        page.fill("#id_phone", "13912345678")
    screenshot(page, f"integrity-{name}-form")
    page.click("#integrity-submit")
    expect(page.locator("#report-code")).to_be_visible()
    screenshot(page, f"integrity-{name}-receipt")
    return page.inner_text("#report-code"), page.inner_text("#report-secret")


def _step(page: Any, action: str, note: str = "") -> None:
    if note:
        page.fill("#integrity-step-form textarea", note)
    page.click(f"#step-{action}")
    page.wait_for_load_state()


def test_a_report_goes_from_an_anonymous_phone_to_feedback_with_a_two_person_unsealing(
    open_tab: Any, org_tree: OrgTree, auditor: Any
) -> None:
    reported = _staff("reported", "马中队", Role.HANDLER, org_tree.chengguan)
    auditor2 = _staff("auditor2", "钟纪检", Role.AUDITOR, org_tree.city)

    # 1. An anonymous citizen reports on a phone.
    phone = open_tab(PHONE)
    code, secret = _report_on_phone(phone, org_tree, named=False, name="anonymous")
    report = Report.objects.get(code=code)
    # A report without content is refused on the page with a message (and a 422, which the
    # browser logs as a failed load: this tab's console is therefore not checked).
    empty = open_tab(PHONE)
    empty.goto("/integrity/")
    empty.page.select_option("#id_target_unit", str(org_tree.chengguan.pk))
    empty.page.click("#integrity-submit")
    expect(empty.page.locator(".errorlist").first).to_contain_text("请写明举报内容")
    screenshot(empty.page, "integrity-no-content")

    # 2. The inspector handles it on the workbench.
    desk = open_tab(DESKTOP)
    desk.sign_in_as(auditor)
    desk.goto("/workbench/integrity/")
    screenshot(desk.page, "integrity-queue")
    desk.page.get_by_role("link", name=code).click()
    expect(desk.page.locator("#case-content")).to_contain_text("收受摊贩现金")
    _step(desk.page, "register")
    expect(desk.page.locator("#case-state")).to_have_text("初核中")
    _step(desk.page, "file", "初核属实，予以立案审查")
    _step(desk.page, "decide", "给予政务警告处分，退缴违纪款项")
    _step(desk.page, "feedback", "经查，反映的问题基本属实，已依规依纪处理。感谢您的监督。")
    expect(desk.page.locator("#case-state")).to_have_text("已反馈")
    screenshot(desk.page, "integrity-case-closed")

    # 3. A named report: two different inspectors unseal the reporter's identity.
    other_phone = open_tab(PHONE)
    named_code, _named_secret = _report_on_phone(other_phone, org_tree, named=True, name="named")
    named = Report.objects.get(code=named_code)
    desk.goto(f"/workbench/integrity/{named.pk}/")
    expect(desk.page.locator("#identity")).to_have_count(0)
    desk.page.fill("#integrity-unseal-form textarea", "需向举报人核实时间地点")
    desk.page.click("#unseal-approve")
    desk.page.fill("#integrity-unseal-form textarea", "再批一次")
    desk.page.click("#unseal-approve")
    expect(desk.page.locator(".messages")).to_contain_text("需要另一位纪检监察人员批准")
    expect(desk.page.locator("#identity")).to_have_count(0)
    screenshot(desk.page, "integrity-unseal-same-auditor-refused")
    second = open_tab(DESKTOP)
    second.sign_in_as(auditor2)
    second.goto(f"/workbench/integrity/{named.pk}/")
    second.page.fill("#integrity-unseal-form textarea", "同意核实")
    second.page.click("#unseal-approve")
    expect(second.page.locator("#identity-name")).to_have_text("刘实名")
    screenshot(second.page, "integrity-unsealed")
    desk.goto(f"/workbench/integrity/{named.pk}/")
    expect(desk.page.locator("#identity-name")).to_have_text("刘实名")

    # 4. The reported person reaching for the case by id gets the same 404 as for nothing.
    accused = open_tab(DESKTOP)
    accused.sign_in_as(reported)
    assert accused.goto(f"/workbench/integrity/{report.pk}/").status == 404
    assert accused.goto("/workbench/integrity/").status == 404
    desk.goto(f"/workbench/integrity/{report.pk}/")
    expect(desk.page.locator("#integrity-events")).to_contain_text("被举报单位人员试图查看，已拒绝")

    # 5. The anonymous reporter follows it by code and secret on the phone.
    phone.goto("/integrity/track/")
    phone.page.fill("#id_code", code)
    phone.page.fill("#id_secret", secret)
    phone.page.click("#integrity-track")
    expect(phone.page.locator("#report-state")).to_have_text("已反馈")
    expect(phone.page.locator("#report-feedback")).to_contain_text("已依规依纪处理")
    expect(phone.page.locator("body")).not_to_contain_text("收受摊贩现金")
    screenshot(phone.page, "integrity-tracked")
    phone.console.assert_clean()
    desk.console.assert_clean()
    second.console.assert_clean()
