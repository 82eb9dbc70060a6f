"""Hot issues: places, grouping on real messages, heat ordering, the CLI and determinism."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from textkit.cli import main
from textkit.hot import HotIssue, Message, extract_places, find_hot_issues, heat_of

ATTACHMENT3 = "tipdm2020_c/attachment3_hot_issue_messages.csv"
T0 = datetime(2019, 11, 1, 9, 0, tzinfo=UTC)


def _msg(i: int, title: str, body: str = "", *, days: float = 0, likes: int = 0) -> Message:
    return Message(str(i), title, body, T0 + timedelta(days=days), likes, 0)


def _issue_of(issues: list[HotIssue], message_id: str) -> HotIssue:
    return next(h for h in issues if message_id in h.message_ids)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("反映A市A5区魅力之城小区临街门面油烟扰民", ["魅力之城小区"]),
        ("投诉A2区丽发新城小区附近搅拌站噪音扰民", ["丽发新城小区"]),
        ("A7县春华镇金鼎村水泥路、自来水到户的问题", ["春华镇", "金鼎村"]),
        ("A3区郝家坪小学什么时候能改扩建?", ["郝家坪小学"]),
        ("关于长沙市岳麓区麓山南路的问题", ["麓山南路"]),
        ("位于解放西路的商店", ["解放西路"]),
        ("请A市加快国家中心城市建设力度", []),
        ("请问A市为什么要把和包支付作为任务而不让市场正当竞争？", []),
    ],
)
def test_it_finds_named_places_without_a_list_of_names(text: str, named: list[str]) -> None:
    assert [p.text for p in extract_places(text) if not p.admin] == named


def test_it_reads_administrative_units_and_keys_estates_without_their_suffix() -> None:
    places = extract_places("关于长沙市岳麓区麓山南路的问题")
    assert [p.text for p in places if p.admin] == ["长沙市", "岳麓区"]
    assert extract_places("A市A5区魅力之城小区")[-1].key == "魅力之城"


# Real subjects and opening sentences from 附件3 (2020 泰迪杯 C).
MIXER = [
    ("投诉A2区丽发新城附近建搅拌站噪音扰民", "暮云街道丽发新城边上在建大型搅拌站，噪音很大。"),
    ("丽发新城小区附近的搅拌站噪音严重扰民", "丽发新城小区旁边的搅拌站日夜施工，噪音扰民。"),
    (
        "投诉小区附近搅拌站噪音扰民",
        "暮云街道丽发新城边上在建大型搅拌站，听说是从别的地方搬过来的，噪音很大，扬尘污染很严重。",
    ),
    (
        "A市暮云街道丽发新城社区搅拌站灰尘，噪音污染严重",
        "丽发新城社区旁的搅拌站灰尘大，噪音污染严重。",
    ),
]
PARKING = [
    ("A市伊景园滨河苑项目捆绑销售车位", "伊景园滨河苑商品房强制捆绑销售车位。"),
    ("投诉A市伊景园滨河苑捆绑销售车位", "买伊景园滨河苑的房子必须买车位，捆绑销售不合法。"),
    (
        "伊景园滨河苑捆绑车位销售合法吗？！",
        "广铁集团职工购买伊景园滨河苑商品房被要求捆绑购买车位。",
    ),
]
ELSEWHERE = [
    ("A7县诺亚山林小区附近搅拌站噪音扰民", "诺亚山林小区旁边的搅拌站噪音很大。"),
    ("A市经开区泉星公园项目规划需优化", "建议泉星公园项目规划进一步优化。"),
    ("A7县星沙四区凉塘路旧城改造要待何时", "凉塘路的旧房子什么时候可以开始动工？"),
]


def _table() -> list[Message]:
    rows = MIXER + PARKING + ELSEWHERE
    return [_msg(i, t, b, days=i) for i, (t, b) in enumerate(rows, start=1)]


def test_messages_about_the_same_place_and_problem_form_one_issue() -> None:
    issues = find_hot_issues(_table())
    mixer = _issue_of(issues, "1")
    assert mixer.message_ids == ["1", "2", "3", "4"]
    assert "丽发新城" in mixer.place
    parking = _issue_of(issues, "5")
    assert parking.message_ids == ["5", "6", "7"]


def test_the_same_problem_at_another_place_stays_apart() -> None:
    issues = find_hot_issues(_table())
    assert _issue_of(issues, "8").message_ids == ["8"]  # 搅拌站 noise, but at 诺亚山林小区
    assert len(issues) == 5


def test_a_message_naming_no_place_needs_a_strong_text_match() -> None:
    lone = _msg(20, "车位捆绑违规销售", "开发商捆绑车位销售，买房必须买车位。", days=20)
    table = [*_table(), lone]
    loose = find_hot_issues(table, strong_similarity=1.0)
    assert _issue_of(loose, "20").message_ids == ["20"]


def test_more_supports_rank_higher() -> None:
    a = [_msg(i, t, b, days=i) for i, (t, b) in enumerate(MIXER[:2], start=1)]
    b = [_msg(i, t, bb, days=i, likes=30) for i, (t, bb) in enumerate(PARKING[:2], start=10)]
    issues = find_hot_issues(a + b)
    assert issues[0].message_ids == ["10", "11"]
    assert issues[0].supports == 60 and issues[0].parts.supports > issues[1].parts.supports


def test_growth_ranks_an_issue_of_the_recent_weeks_above_an_old_one() -> None:
    old = [_msg(i, t, b, days=i) for i, (t, b) in enumerate(MIXER[:3], start=1)]
    new = [_msg(i, t, b, days=90 + i) for i, (t, b) in enumerate(PARKING, start=10)]
    issues = find_hot_issues(old + new)
    assert issues[0].message_ids == ["10", "11", "12"]
    assert issues[0].parts.growth > 0 and _issue_of(issues, "1").parts.growth == 0


def test_heat_is_the_sum_of_its_documented_parts() -> None:
    start = datetime(2019, 1, 1, tzinfo=UTC)
    period = (start, start + timedelta(days=100))
    times = [start + timedelta(days=d) for d in (80, 90, 95, 10)]
    parts = heat_of(times, likes=7, dislikes=2, period=period)
    assert (parts.recent, parts.earlier) == (3, 1)
    assert parts.count == pytest.approx(1.6094379, rel=1e-6)  # ln 5
    assert parts.supports == pytest.approx(0.5 * 1.7917595, rel=1e-6)  # ½ ln 6
    assert parts.growth == pytest.approx(0.5 * 1.5849625, rel=1e-6)  # ½ log2(4 / (1·⅓ + 1))
    assert parts.total == pytest.approx(parts.count + parts.supports + parts.growth)


def test_it_gives_the_same_issues_for_the_same_messages_in_any_order() -> None:
    table = _table()
    first = [h.to_dict() for h in find_hot_issues(table)]
    again = [h.to_dict() for h in find_hot_issues(list(reversed(table)))]
    assert first == again


def test_it_refuses_repeated_message_ids() -> None:
    with pytest.raises(ValueError, match="'1' appears 2 times"):
        find_hot_issues([_msg(1, "a"), _msg(1, "b")])


@pytest.fixture(scope="module")
def attachment3_sample(shared_data: Path) -> list[dict[str, str]]:
    """附件3 rows about three known issues plus the first 600 rows as background."""
    with (shared_data / ATTACHMENT3).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    keep = ("丽发新城", "伊景园", "凉塘路")
    picked = [r for r in rows if any(k in r["留言主题"] for k in keep)]
    ids = {r["留言编号"] for r in picked}
    return picked + [r for r in rows[:600] if r["留言编号"] not in ids]


def _messages(rows: list[dict[str, str]]) -> list[Message]:
    return [
        Message(
            r["留言编号"],
            r["留言主题"],
            r["留言详情"],
            datetime.strptime(r["留言时间"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC),
            int(r["点赞数"] or 0),
            int(r["反对数"] or 0),
        )
        for r in rows
    ]


def test_real_attachment3_messages_group_by_place_and_problem(
    attachment3_sample: list[dict[str, str]],
) -> None:
    issues = find_hot_issues(_messages(attachment3_sample))
    subjects = {r["留言编号"]: r["留言主题"] for r in attachment3_sample}
    for key, problem, least in (
        ("丽发新城", "搅拌", 15),
        ("伊景园", "车位", 15),
        ("凉塘路", "旧城改造", 6),
    ):
        biggest = max(
            (h for h in issues if any(key in subjects[i] for i in h.message_ids)),
            key=lambda h: h.count,
        )
        assert biggest.count >= least, (key, biggest.count)
        # Every message of the issue names the place or the problem in its subject.
        for i in biggest.message_ids:
            assert key in subjects[i] or problem in subjects[i] or "捆绑" in subjects[i], subjects[
                i
            ]
    top = [h.place for h in issues[:3]]
    assert any("丽发新城" in p for p in top) and any("滨河苑" in p or "伊景园" in p for p in top)


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_the_cli_writes_a_report_and_json_the_same_on_every_run(
    attachment3_sample: list[dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "msgs.csv"
    _write_csv(src, attachment3_sample)
    outputs = []
    for run in (1, 2):
        md, js = tmp_path / f"r{run}.md", tmp_path / f"r{run}.json"
        assert (
            main(["hot", "--input", str(src), "--top", "3", "--out", str(md), "--json", str(js)])
            == 0
        )
        outputs.append((md.read_text(encoding="utf-8"), js.read_text(encoding="utf-8")))
    assert outputs[0] == outputs[1]
    data = json.loads(outputs[0][1])
    assert len(data["top"]) == 3 and data["messages"] == len(attachment3_sample)
    assert (
        "## 1." in outputs[0][0] and "| id | time | likes | dislikes | subject |" in outputs[0][0]
    )
    assert "minsheng text hot:" in capsys.readouterr().err


def test_the_cli_names_a_missing_column_and_the_columns_present(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "m.csv"
    src.write_text("编号,主题,时间\n1,丽发新城搅拌站噪音,2019-11-01 09:00:00\n", encoding="utf-8")
    out = tmp_path / "r.md"
    assert main(["hot", "--input", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "missing column" in err and "编号、主题、时间" in err
    assert not out.exists()


def test_the_cli_names_the_row_and_column_of_a_bad_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "m.csv"
    src.write_text(
        "编号,主题,时间\n1,丽发新城搅拌站噪音,2019-11-01 09:00:00\n2,搅拌站扰民,昨天\n",
        encoding="utf-8",
    )
    args = ["hot", "--input", str(src), "--text", "主题", "--id", "编号", "--time", "时间"]
    assert main([*args, "--likes", "", "--dislikes", "", "--json", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert "row 3" in err and "'时间'" in err and "昨天" in err
    assert not (tmp_path / "o.json").exists()
