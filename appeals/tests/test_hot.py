"""Hot issues among appeals: the database's, and an export file's through the command."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from appeals import hot, services
from appeals.models import Appeal
from org.calendar import CALENDAR_TZ

pytestmark = pytest.mark.django_db

ATTACHMENT3 = Path("tipdm2020_c") / "attachment3_hot_issue_messages.csv"

# One problem at one place, told by four people in their own words.
MARKET = [
    ("东华路菜市场门口摊贩占道", "东华路菜市场门口流动摊贩占道经营，早高峰人行道完全堵死。"),
    ("菜市场门口占道经营严重", "东华路菜市场门口每天早上摊贩占道经营，行人只能走机动车道。"),
    ("东华路菜市场摊贩堵路", "东华路菜市场外的流动摊贩占道经营，电动车和行人挤在一起。"),
    ("投诉东华路菜市场占道经营", "东华路菜市场门口占道经营的摊贩越来越多，希望城管整治。"),
]
# Unrelated appeals: a realistic background, so that words of the issue are not everywhere.
BACKGROUND = [
    ("幸福里小区电梯故障", "幸福里小区3栋电梯一个月坏了四次，老人上下楼很困难。"),
    ("解放西路夜间施工噪音", "解放西路地铁工地每晚十二点以后还在打桩，居民无法入睡。"),
    ("公积金提取手续咨询", "请问离职后提取住房公积金需要准备哪些材料，在哪里办理？"),
    ("第一中学周边网吧接纳未成年人", "第一中学旁边的网吧经常让未成年学生进去上网。"),
    ("银杏路路灯不亮", "银杏路南段路灯已经坏了两周，晚上骑车很危险。"),
    ("医保异地报销问题", "在外地住院的医保报销流程太复杂，希望简化异地结算。"),
    ("翠湖花园垃圾清运不及时", "翠湖花园小区垃圾站垃圾三天没有清运，臭味很大。"),
    ("公交12路班次太少", "12路公交车早高峰二十分钟一班，上班族等不起。"),
]


def at(day: int, hour: int = 9, month: int = 3) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, tzinfo=CALENDAR_TZ)


@pytest.fixture
def make(category_tree: Any) -> Callable[..., Appeal]:
    def create(title: str, text: str, when: dt.datetime, **fields: Any) -> Appeal:
        supports = fields.pop("supports", 0)
        appeal, _ = services.do_submit(
            None, services.Submission(text=text, title=title, **fields), now=when
        )
        if supports:
            Appeal.objects.filter(pk=appeal.pk).update(supports=supports)
        return appeal

    return create


@pytest.fixture
def period(make: Callable[..., Appeal]) -> dict[str, list[Appeal]]:
    market = [make(t, x, at(3 + 5 * k)) for k, (t, x) in enumerate(MARKET)]
    background = [make(t, x, at(2 + 3 * k)) for k, (t, x) in enumerate(BACKGROUND)]
    return {"market": market, "background": background}


def test_appeals_about_one_problem_at_one_place_form_the_hottest_issue(
    period: dict[str, list[Appeal]],
) -> None:
    issues = hot.hot_issues(dt.date(2025, 3, 1), dt.date(2025, 3, 31), use_cache=False)

    top = issues[0]
    assert sorted(top.message_ids) == sorted(a.code for a in period["market"])
    assert top.count == 4
    assert "东华路" in top.place + top.subject
    assert top.first == at(3) and top.last == at(18)
    assert all(h.count == 1 for h in issues[1:])


def test_appeals_outside_the_period_rejected_or_withdrawn_are_left_out(
    period: dict[str, list[Appeal]], make: Callable[..., Appeal], dispatcher: Any
) -> None:
    later = make(*MARKET[0], at(2, month=4))
    withdrawn, secret = services.do_submit(
        None, services.Submission(text=MARKET[1][1], title=MARKET[1][0]), now=at(20)
    )
    services.do_withdraw(withdrawn, None, secret=secret, reason="已自行解决")
    rejected = make(*MARKET[2], at(21))
    services.do_reject(rejected, dispatcher, reason="与已有诉求重复", legal_basis="受理规范")

    issues = hot.hot_issues(dt.date(2025, 3, 1), dt.date(2025, 3, 31), use_cache=False)

    codes = {c for h in issues for c in h.message_ids}
    assert not {later.code, withdrawn.code, rejected.code} & codes
    assert sorted(issues[0].message_ids) == sorted(a.code for a in period["market"])
    assert len(codes) == len(period["background"]) + len(period["market"])


def test_supports_make_an_issue_hotter(make: Callable[..., Appeal]) -> None:
    for k, (t, x) in enumerate(BACKGROUND):
        make(t, x, at(2 + 3 * k), supports=50 if k == 4 else 0)

    issues = hot.hot_issues(dt.date(2025, 3, 1), dt.date(2025, 3, 31), use_cache=False)

    assert issues[0].subject == BACKGROUND[4][0]
    assert issues[0].likes == 50
    assert issues[0].heat > issues[1].heat


def test_the_same_problem_at_map_points_far_apart_is_two_issues(
    make: Callable[..., Appeal],
) -> None:
    for k, (t, x) in enumerate(BACKGROUND):
        make(t, x, at(2 + 3 * k))
    here = (Decimal("28.228000"), Decimal("112.939000"))
    there = (Decimal("28.260000"), Decimal("112.990000"))  # about 6 km away
    near = []
    for k, (t, x) in enumerate(MARKET):
        lat, lng = here if k < 2 else there
        near.append(make(t, x, at(3 + 5 * k), lat=lat, lng=lng))

    issues = hot.hot_issues(dt.date(2025, 3, 1), dt.date(2025, 3, 31), use_cache=False)

    groups = sorted(sorted(h.message_ids) for h in issues if h.count > 1)
    assert groups == sorted([sorted(a.code for a in near[:2]), sorted(a.code for a in near[2:])])
    assert [h.rank for h in issues] == list(range(1, len(issues) + 1))


def test_the_address_leads_the_subject_unless_the_subject_has_it() -> None:
    lamp = hot.message_for(id="1", title="路灯不亮", text="", created=None, address="银杏路 南段")
    named = hot.message_for(id="2", title="银杏路路灯不亮", text="", created=None, address="银杏路")

    assert lamp.title == "银杏路 南段 路灯不亮"
    assert named.title == "银杏路路灯不亮"


def test_a_unit_sees_the_issues_of_its_own_appeals(
    period: dict[str, list[Appeal]], org_tree: Any
) -> None:
    market = period["market"]
    Appeal.objects.filter(pk__in=[a.pk for a in market]).update(current_unit=org_tree.chengguan)

    mine = hot.hot_issues(
        dt.date(2025, 3, 1), dt.date(2025, 3, 31), unit=org_tree.chengguan, use_cache=False
    )
    others = hot.hot_issues(
        dt.date(2025, 3, 1), dt.date(2025, 3, 31), unit=org_tree.zhujian, use_cache=False
    )

    assert [sorted(h.message_ids) for h in mine] == [sorted(a.code for a in market)]
    assert others == []


def test_a_new_appeal_in_the_period_is_seen_despite_the_cache(
    period: dict[str, list[Appeal]], make: Callable[..., Appeal]
) -> None:
    before = hot.hot_issues(dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    again = hot.hot_issues(dt.date(2025, 3, 1), dt.date(2025, 3, 31))
    make("东华路菜市场占道经营又来了", "东华路菜市场门口摊贩又开始占道经营了。", at(25))

    after = hot.hot_issues(dt.date(2025, 3, 1), dt.date(2025, 3, 31))

    assert [h.message_ids for h in again] == [h.message_ids for h in before]
    assert after[0].count == before[0].count + 1


def test_a_period_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(services.ServiceError, match="结束须晚于开始"):
        hot.hot_issues(dt.date(2025, 3, 5), dt.date(2025, 3, 1))


def test_the_command_ranks_a_period_of_the_database_as_json(
    period: dict[str, list[Appeal]],
) -> None:
    out = io.StringIO()

    call_command(
        "appeals", "hot", "--from", "2025-03-01", "--to", "2025-03-31", "--format", "json",
        "--top", "3", stdout=out,
    )  # fmt: skip

    data = json.loads(out.getvalue())
    assert data["messages"] == len(period["market"]) + len(period["background"])
    assert len(data["top"]) == 3
    assert sorted(data["top"][0]["message_ids"]) == sorted(a.code for a in period["market"])


def test_the_command_needs_a_file_or_a_period() -> None:
    with pytest.raises(CommandError, match="either --input FILE or --from DATE --to DATE"):
        call_command("appeals", "hot")
    with pytest.raises(CommandError, match="go together"):
        call_command("appeals", "hot", "--from", "2025-03-01")


def test_the_command_on_the_real_attachment3_lists_the_mixing_plant_at_lifa_xincheng_first(
    shared_data: Path, tmp_path: Path
) -> None:
    report = tmp_path / "hot.md"
    source = shared_data / ATTACHMENT3

    call_command("appeals", "hot", "--input", str(source), "--top", "5", "--out", str(report))
    out = io.StringIO()
    call_command(
        "appeals", "hot", "--input", str(source), "--top", "5", "--format", "json", stdout=out
    )

    text = report.read_text(encoding="utf-8")
    assert text.startswith("# 热点问题 hot issues (minsheng appeals hot)")
    assert f"Command: `minsheng appeals hot --input {source.as_posix()} --top 5" in text
    assert text.count("\n## ") == 5
    data = json.loads(out.getvalue())
    assert data["messages"] == 4305
    first = data["top"][0]
    assert first["count"] >= 20 and "丽发新城" in first["place"]
    assert all("搅拌" in m["title"] or "丽发新城" in m["title"] for m in first["messages"][:5])
    assert first["first"].startswith("2019-11") and first["last"].startswith("2020-01")
    assert [t["rank"] for t in data["top"]] == [1, 2, 3, 4, 5]
    assert "189950" in first["message_ids"]
    assert "| 189950 | 2019-11-13 11:20:21 |" in text


def test_an_export_with_an_unreadable_time_stops_the_command_naming_the_cell(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "留言编号,留言主题,留言时间,留言详情\n1,路灯不亮,2019-04-25 09:32:09,银杏路路灯不亮\n"
        "2,噪音,上周三,夜间施工噪音\n",
        encoding="utf-8",
    )
    err = io.StringIO()

    with pytest.raises(CommandError, match="cannot be read"):
        call_command("appeals", "hot", "--input", str(path), stderr=err)

    assert "第 3 行\t留言时间\t无法识别的时间“上周三”" in err.getvalue()
