"""Reply quality: real message/reply pairs from the 泰迪杯 附件4 export."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from textkit.cli import main as cli_main
from textkit.reply import count_weekdays, key_terms, score_reply

# 留言编号 118387: a reply with the finding, the document it rests on, the next step and a phone.
NETBAR = {
    "留言编号": "118387",
    "留言主题": "投诉K9县幸运星网吧允许未成年人通宵上网",
    "留言时间": "2019-03-17 15:06:01",
    "留言详情": "K9县幸运星网吧收未成年上网，我儿子没有身份证，但是他们网吧就用自己的身份证给我儿子开通宵，"
    "我儿子才13岁，而且今天是星期天，我去他们网吧，看到很多未成年都在里面上网，我看到邻居的儿子在上网，"
    "他也没有身份证，经过询问原来网吧从昨天开始就已经不用身份证就能上网了。只要给钱就能上网。请领导重视。",
    "答复意见": "“UU0081034”2019年3月18日下午，我局在看到该帖之后，领导高度重视立即组织执法队员对幸运星网吧"
    "进行调查核实，经业主陈述确认：幸运星网吧在星期四晚上有接纳未成年人上网现象，业主并不在场，网管称未成年人"
    "是在其他消费者下机之后直接上的。此事件已由公安局城北派出所立案查处（《K9县公安局责令停业整顿通知书》"
    "（蓝公（网）责【2019】001号）附后）。今后，我文化执法大队将切实加大日常巡查力度和密度，突出查处节假日和"
    "周未特殊时段末成年人进网吧上网现象，全力杜绝此类现象再发生。欢迎广大市民热心监督，举报电话：0746—2220783；"
    "感谢大家一直以来对我局工作的关心支持。2019年3月18日",
    "答复时间": "2019-03-21 11:34:23",
}
# 留言编号 12181: the whole reply is a receipt, 26 days later.
BUS_STOP = {
    "留言编号": "12181",
    "留言主题": "金洲大道与雷高路交会处的公交车站希望尽快启用",
    "留言时间": "2014-07-04 14:29:15",
    "留言详情": "\n\t\t\t\t\t\u3000\u3000易书记您好！我在A市雷峰学校旁（金洲大道与雷高路交汇处）的一家企业上班，"
    "这一带市民以及企业员工越来越多，但大家到市中心非常不方便，仅有A市至A8县大巴车，但车次少，收费高，"
    "服务态度还很不好。群众出行十分不方便。想请求易书记关注，能否与相关部门协调，尽早开通公交车，方便大家出行。"
    "非常感谢！ \n\t\t\t\t\t\n",
    "答复意见": "网友：您好！留言已收悉",
    "答复时间": "2014-07-30 17:33:38",
}
# 留言编号 75000: forwarded, nothing more.
CLINIC = {
    "留言编号": "75000",
    "留言主题": "请求恢复F7县三联卫生院",
    "留言时间": "2017-05-02 09:12:00",
    "留言详情": "F7县三联卫生院撤并以后，附近几个村的老人看病要走很远，请求恢复三联卫生院。",
    "答复意见": "您的留言已收悉。关于您反映的问题，已转F7县调查处理。",
    "答复时间": "2017-08-09 10:00:00",
}
FIELDS = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "答复意见", "答复时间"]


def _score(row: dict[str, str], reply: str | None = None) -> object:
    return score_reply(
        row["留言详情"],
        row["答复意见"] if reply is None else reply,
        subject=row["留言主题"],
        message_time=row["留言时间"],
        reply_time=row["答复时间"],
    )


def test_a_complete_reply_scores_higher_than_perfunctory_ones() -> None:
    full = score_reply(
        NETBAR["留言详情"],
        NETBAR["答复意见"],
        subject=NETBAR["留言主题"],
        message_time=NETBAR["留言时间"],
        reply_time=NETBAR["答复时间"],
    )
    assert full.handling and full.basis and full.next_step
    assert full.working_days == 4 and full.timeliness == 1.0
    assert "网吧" in full.matched_terms
    for row in (BUS_STOP, CLINIC):
        weak = score_reply(
            row["留言详情"],
            row["答复意见"],
            subject=row["留言主题"],
            message_time=row["留言时间"],
            reply_time=row["答复时间"],
        )
        assert weak.score < full.score - 40
        assert not weak.handling and weak.reasons


def test_the_same_message_scores_lower_with_a_receipt_for_a_reply() -> None:
    real = score_reply(NETBAR["留言详情"], NETBAR["答复意见"], subject=NETBAR["留言主题"])
    receipt = score_reply(NETBAR["留言详情"], "网友：您好！留言已收悉", subject=NETBAR["留言主题"])
    assert receipt.score == 0.0 and receipt.timeliness is None
    assert receipt.reasons[0] == "答复为空或只有客套话"
    assert real.score > 70


def test_the_message_key_terms_leave_out_petition_formulas() -> None:
    terms = [t for t, _w in key_terms(BUS_STOP["留言详情"], BUS_STOP["留言主题"])]
    assert "公交车站" in terms or "公交车" in terms
    assert not {"您好", "非常感谢", "相关", "部门"} & set(terms)


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        ("2019-03-15", "2019-03-15", 0),  # same day
        ("2019-03-15", "2019-03-18", 1),  # Friday → Monday
        ("2019-03-16", "2019-03-17", 0),  # a weekend
        ("2019-03-11", "2019-03-25", 10),  # two full weeks
        ("2019-03-18", "2019-03-11", 0),  # reversed
    ],
)
def test_it_counts_working_days_monday_to_friday(start: str, end: str, days: int) -> None:
    assert count_weekdays(dt.date.fromisoformat(start), dt.date.fromisoformat(end)) == days


def test_it_uses_a_given_working_day_counter() -> None:
    holidays = {dt.date(2019, 10, d) for d in range(1, 8)}

    def official(start: dt.date, end: dt.date) -> int:
        n, d = 0, start + dt.timedelta(days=1)
        while d <= end:
            n += d.weekday() < 5 and d not in holidays
            d += dt.timedelta(days=1)
        return n

    plain = score_reply(
        "国庆期间小区停水",
        "经核实已修复",
        message_time="2019-09-30 09:00:00",
        reply_time="2019-10-08 09:00:00",
    )
    calendar = score_reply(
        "国庆期间小区停水",
        "经核实已修复",
        message_time="2019-09-30 09:00:00",
        reply_time="2019-10-08 09:00:00",
        workdays=official,
    )
    assert plain.working_days == 6 and calendar.working_days == 1


def test_it_scores_late_replies_lower_and_names_unreadable_times() -> None:
    prompt = score_reply(
        "路灯坏了", "经核实，已修复。", message_time="2019-03-01", reply_time="2019-03-04"
    )
    late = score_reply(
        "路灯坏了", "经核实，已修复。", message_time="2019-03-01", reply_time="2019-06-28"
    )
    assert prompt.timeliness == 1.0 and late.timeliness == 0.0 and late.score < prompt.score
    with pytest.raises(ValueError, match="上周五"):
        score_reply("路灯坏了", "已修复", message_time="上周五", reply_time="2019-03-04")


def _table(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({"留言用户": "UU0081034", **r})
    return path


def test_the_report_lists_the_weakest_replies_and_agreement(tmp_path: Path) -> None:
    data = _table(tmp_path / "a4.csv", [NETBAR, BUS_STOP, CLINIC])
    ann = tmp_path / "ann.csv"
    ann.write_text("留言编号,judged\n118387,1\n12181,0\n75000,0\n", encoding="utf-8")
    out = tmp_path / "report.md"
    code = cli_main(
        [
            "reply",
            "report",
            "--input",
            str(data),
            "--out",
            str(out),
            "--weakest",
            "2",
            "--annotations",
            str(ann),
            "--quiet",
        ]
    )
    assert code == 0
    text = out.read_text(encoding="utf-8")
    report = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert report["rows"] == 3
    assert sorted(w["id"] for w in report["weakest"]) == ["12181", "75000"]
    assert report["agreement"]["judged"]["auc"]["score"] == 1.0
    assert "12181" in text and "Agreement with human judgements" in text
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_the_report_takes_other_column_names(tmp_path: Path) -> None:
    data = tmp_path / "other.csv"
    with data.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["msg", "answer"])
        w.writerow([NETBAR["留言详情"], NETBAR["答复意见"]])
        w.writerow([BUS_STOP["留言详情"], BUS_STOP["答复意见"]])
    out = tmp_path / "r.md"
    code = cli_main(
        [
            "reply",
            "report",
            "--input",
            str(data),
            "--out",
            str(out),
            "--message-col",
            "msg",
            "--reply-col",
            "answer",
            "--id-col",
            "",
            "--subject-col",
            "",
            "--message-time-col",
            "",
            "--reply-time-col",
            "",
            "--quiet",
        ]
    )
    assert code == 0
    assert json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["timeliness"] == {
        "n": 0
    }


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: {**r, "答复时间": "昨天下午"}, "row 3: unreadable time '昨天下午'"),
        (lambda r: {k: v for k, v in r.items() if k != "答复意见"}, "missing column '答复意见'"),
    ],
)
def test_a_bad_table_is_an_error_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mutate: object, message: str
) -> None:
    assert callable(mutate)
    rows = [NETBAR, mutate(BUS_STOP)]
    data = tmp_path / "bad.csv"
    fields = [f for f in FIELDS if any(f in r for r in rows) or f == "留言用户"]
    if "答复意见" not in rows[1]:
        fields.remove("答复意见")
    with data.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({"留言用户": "U1", **r})
    out = tmp_path / "report.md"
    code = cli_main(["reply", "report", "--input", str(data), "--out", str(out), "--quiet"])
    assert code == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_the_score_command_writes_one_row_per_reply(tmp_path: Path) -> None:
    data = _table(tmp_path / "a4.csv", [NETBAR, BUS_STOP])
    out = tmp_path / "scores.csv"
    assert cli_main(["reply", "score", "--input", str(data), "--out", str(out), "--quiet"]) == 0
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ["118387", "12181"]
    assert float(rows[0]["score"]) > float(rows[1]["score"])
    assert rows[0]["handling"] == "1" and rows[1]["working_days"] == "18"


def test_it_reports_over_the_real_attachment4(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "tipdm2020_c" / "attachment4_messages_with_replies.csv"
    if not src.is_file():
        pytest.skip(f"{src} is missing")
    with src.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))[:300]
    sample = _table(tmp_path / "a4_300.csv", rows)
    out = tmp_path / "r.md"
    assert cli_main(["reply", "report", "--input", str(sample), "--out", str(out), "--quiet"]) == 0
    report = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert report["rows"] == 300
    assert 20 < report["score"]["mean"] < 80  # real replies span the whole range
    assert sum(b["count"] for b in report["bands"]) == 300
    assert len(report["weakest"]) == 10
