"""``minsheng opinion replay`` on small files, with bad lines, and without a database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from opinion.management.commands.opinion import Command

LINES = [
    '{"id": "a1", "time": "2024-05-01T08:00:00+08:00", "text": "江岸区暴雨后积水严重，车辆无法通行", "reach": 1200}',
    '{"id": "a2", "time": "2024-05-01T08:01:00+08:00", "text": "积水太深了", "parent_id": "a1"}',
    "{this is not json",
    '{"id": "a3", "text": "没有时间"}',
    '{"time": "2024-05-01T08:02:00+08:00", "text": "没有编号"}',
    '{"id": "a4", "time": "昨天", "text": "时间不对"}',
    '{"id": "a5", "time": "2024-05-01 08:03:00", "text": "江岸区积水严重，车辆无法通行，出行困难"}',
    '{"id": "a6", "time": 1714521840, "text": "汉口火车站附近仓库起火"}',
]


def replay(tmp_path: Path, name: str, content: str, *args: str) -> dict[str, object]:
    source = tmp_path / name
    source.write_text(content, encoding="utf-8")
    out = tmp_path / "report.json"
    call_command(Command(), "replay", str(source), "--out", str(out), "--quiet", *args)
    return json.loads(out.read_text(encoding="utf-8"))


def test_replay_skips_bad_lines_with_their_numbers_and_reports_the_rest(tmp_path: Path) -> None:
    # No django_db mark: any database access in the command would fail this test.
    report = replay(tmp_path, "items.jsonl", "\n".join(LINES) + "\n")
    counts = report["counts"]
    assert isinstance(counts, dict)
    assert counts["rows"] == 8 and counts["items"] == 4 and counts["bad_lines"] == 4
    bad = {b["line"]: b["reason"] for b in report["bad_lines"]}  # type: ignore[attr-defined]
    assert set(bad) == {3, 4, 5, 6}
    assert bad[3].startswith("malformed JSON")
    assert bad[4] == "missing time" and bad[5] == "missing id"
    assert "unreadable time '昨天'" in bad[6]
    events = report["events"]
    assert isinstance(events, list)
    flood = next(e for e in events if "a1" in e["item_ids"])
    assert set(flood["item_ids"]) == {"a1", "a2", "a5"}
    assert flood["first_time"] == "2024-05-01T08:00:00+08:00"
    assert flood["reach"] == 1200 and flood["representative_text"]
    assert flood["key_terms"] and "sentiment" in flood
    assert any(e["item_ids"] == ["a6"] for e in events)
    assert report["alerts"] == []


def test_replay_reads_csv_and_applies_the_jurisdiction_and_rules(tmp_path: Path) -> None:
    gazetteer = tmp_path / "j.txt"
    gazetteer.write_text("place:江岸区\nsensitive:死亡\n", encoding="utf-8")
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps({"burst": {"min_items": 3, "window_minutes": 10}}), encoding="utf-8"
    )
    rows = ["id,time,text,parent_id"]
    rows.append("s,2024-05-01 08:00:00,江岸区一处工地塔吊倒塌,")
    rows += [f"r{i},2024-05-01 08:0{i + 1}:00,,s" for i in range(4)]
    rows.append("x,2024-05-01 08:09:00,外地新闻与我们无关,")
    report = replay(
        tmp_path,
        "items.csv",
        "\n".join(rows) + "\n",
        "--jurisdiction",
        str(gazetteer),
        "--rules",
        str(rules),
    )
    events = report["events"]
    assert isinstance(events, list) and len(events) == 1
    assert events[0]["item_ids"] == ["s", "r0", "r1", "r2", "r3"]
    alerts = report["alerts"]
    assert isinstance(alerts, list) and alerts
    assert alerts[0]["grade"] == "一般" and alerts[0]["event_id"] == events[0]["id"]
    # Three items in ten minutes against a prior of 2 an hour: p ≈ 0.005, not yet; four: 0.0003.
    assert alerts[0]["time"] == "2024-05-01T08:03:00+08:00"


def test_replay_refuses_a_file_it_cannot_use(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="does not exist"):
        call_command(
            Command(), "replay", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "r.json")
        )
    bad = tmp_path / "items.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(CommandError, match="no id or time column"):
        call_command(Command(), "replay", str(bad), "--out", str(tmp_path / "r.json"))


def test_the_engine_imports_and_runs_without_django() -> None:
    code = (
        "import sys, os\n"
        "os.environ.pop('DJANGO_SETTINGS_MODULE', None)\n"
        "from datetime import datetime, timezone\n"
        "from opinion.engine import Engine, Item\n"
        "e = Engine()\n"
        "out = e.process([Item(id='a', time=datetime.now(timezone.utc), text='江岸区积水')])\n"
        "assert out[0].event_id == 'E1'\n"
        "assert 'django' not in sys.modules, 'the engine imported Django'\n"
    )
    repo = Path(__file__).resolve().parents[3]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
