"""An exemplar campaign from set-up to honour roll in a real Chromium, at phone size.

The organiser creates the campaign and opens nominations → a citizen nominates a neighbour with a
photo → the organiser accepts it with a published reason and opens the 公示 → voting opens →
two citizens vote on their phones (a second vote the same day is refused with a clear message)
→ the organiser closes voting and publishes the results → the results and the honour roll.
Screenshots at each step in test-artifacts/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from exemplars.models import Campaign, Candidate, CandidateStatus, Phase
from tests.browser.conftest import PHONE, screenshot
from tests.personas import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STORY = (
    "陈阿姨退休后八年如一日照看社区里的六位独居老人，每天上门量血压、送饭、陪聊天，"
    "逢年过节还组织邻里聚餐，老人们都叫她“好闺女”。"
)


def _photo(tmp_path: Path) -> Path:
    from PIL import Image

    out = io.BytesIO()
    image = Image.new("RGB", (480, 360), (214, 92, 72))
    for x in range(120, 360):
        for y in range(90, 270):
            image.putpixel((x, y), (250, 220, 180))
    image.save(out, format="JPEG")
    path = tmp_path / "chen.jpg"
    path.write_bytes(out.getvalue())
    return path


def _local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _message(page: Any) -> str:
    return str(page.locator(".messages").inner_text())


def _advance(page: Any, label: str) -> None:
    page.get_by_role("button", name=f"进入下一阶段：{label}").click()
    page.wait_for_load_state()
    expect(page.locator("#phase")).to_have_text(label)


def test_a_campaign_runs_from_nomination_to_the_honour_roll_on_phones(
    open_tab: Any, organiser: Any, citizen: Any, tmp_path: Path
) -> None:
    neighbour = make_user("citizen_b", "李邻居", kind="citizen", phone="13800138111")
    staff = open_tab(PHONE)
    staff.sign_in_as(organiser)
    page = staff.page

    # The organiser sets the campaign up.
    staff.goto("/workbench/exemplars/")
    now = timezone.now()
    page.get_by_label(re.compile(r"^名称")).fill("2026年度东华街道“身边好人”评选")
    page.get_by_label(re.compile(r"^类别")).fill("身边好人")
    page.get_by_label("主办单位").fill("东华街道文明办")
    page.get_by_label("评选类别").fill("助人为乐\n见义勇为")
    page.get_by_label("投票开始").fill(_local(now - dt.timedelta(hours=1)))
    page.get_by_label("投票截止").fill(_local(now + dt.timedelta(days=7)))
    page.get_by_label("每个类别可选人数").fill("2")
    page.get_by_label("每类入选人数").fill("1")
    screenshot(page, "exemplars-01-organiser-creates")
    page.get_by_role("button", name="创建").click()
    page.wait_for_url("**/workbench/exemplars/*/")
    campaign = Campaign.objects.get()
    _advance(page, "推荐提名")
    screenshot(page, "exemplars-02-nominations-open")

    # A citizen nominates her neighbour on her phone, with a photo.
    phone = open_tab(PHONE)
    phone.sign_in_as(citizen)
    phone.goto(f"/exemplars/{campaign.pk}/")
    p = phone.page
    p.get_by_role("link", name="我要推荐").click()
    p.get_by_label("推荐类别").select_option(label="助人为乐")
    p.get_by_label("被推荐人姓名").fill("陈桂兰")
    p.get_by_label("所在单位或社区").fill("东华社区居民")
    p.get_by_label("被推荐人联系电话").fill("13700137000")
    p.get_by_label("先进事迹").fill(STORY)
    p.get_by_label("佐证材料").fill("社区居委会、六位老人的子女可以作证。")
    p.get_by_label("照片").set_input_files(str(_photo(tmp_path)))
    screenshot(p, "exemplars-03-citizen-nominates")
    p.get_by_role("button", name="提交推荐").click()
    p.wait_for_url(f"**/exemplars/{campaign.pk}/")
    assert "推荐已提交" in _message(p)
    candidate = Candidate.objects.get()

    # Review with a published reason, then 公示.
    _advance(page, "资格审核")
    page.get_by_label("审核意见（公开）").fill("事迹经东华社区居委会核实，材料齐全")
    screenshot(page, "exemplars-04-review")
    page.get_by_role("button", name="通过", exact=True).click()
    page.wait_for_load_state()
    assert Candidate.objects.get().status == CandidateStatus.ACCEPTED
    _advance(page, "公示")
    phone.goto(f"/exemplars/candidates/{candidate.pk}/")
    expect(p.get_by_text("事迹经东华社区居委会核实，材料齐全")).to_be_visible()
    expect(p.get_by_role("button", name="提出异议")).to_be_visible()
    assert "13700137000" not in p.content()
    screenshot(p, "exemplars-05-publicity")

    # Voting: two citizens vote on their phones; a second vote the same day is refused.
    _advance(page, "投票")
    phone.goto(f"/exemplars/{campaign.pk}/")
    p.get_by_role("button", name="为陈桂兰投票").click()
    p.wait_for_load_state()
    assert "投票成功" in _message(p)
    expect(p.locator(f"#c{candidate.pk} .ex-count strong")).to_have_text("1")
    screenshot(p, "exemplars-06-voted")
    p.get_by_role("button", name="已为陈桂兰投票").click()
    p.wait_for_load_state()
    assert "您今天已经给这位候选人投过票了" in _message(p)
    screenshot(p, "exemplars-07-second-vote-refused")

    other = open_tab(PHONE)
    other.sign_in_as(neighbour)
    other.goto(f"/exemplars/candidates/{candidate.pk}/")
    other.page.get_by_role("button", name="为陈桂兰投票").click()
    other.page.wait_for_load_state()
    expect(other.page.locator("#vote-count")).to_have_text("2")
    screenshot(other.page, "exemplars-08-candidate-page")

    # Close, publish; the results and the honour roll.
    _advance(page, "计票复核")
    page.get_by_role("button", name="公布结果和光荣榜").click()
    page.wait_for_load_state()
    expect(page.locator("#phase")).to_have_text("结果公布")
    screenshot(page, "exemplars-09-published")
    assert Campaign.objects.get().phase == Phase.RESULTS
    phone.goto(f"/exemplars/{campaign.pk}/results/")
    expect(p.locator("#totals")).to_contain_text("有效票 2 张")
    screenshot(p, "exemplars-10-results")
    phone.goto(f"/exemplars/{campaign.pk}/")
    p.get_by_role("link", name="光荣榜").click()
    expect(p.get_by_role("heading", name="陈桂兰")).to_be_visible()
    screenshot(p, "exemplars-11-honour-roll")
    for tab in (staff, phone, other):
        tab.console.assert_clean()
