"""Grade rules from JSON, escalation, and rule-file errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opinion.engine import GRADES, Engine, EngineOptions, Gazetteer, Rules, RulesError

from .helpers import item

RULES_JSON = {
    "burst": {"window_minutes": 30, "min_items": 5, "p_value": 0.01, "prior_per_hour": 1},
    "grades": {
        "一般": [{"burst": 1}],
        "较大": [{"window": 10}, {"burst": 1, "sensitive": 1}],
        "重大": [{"size": 30, "reach": 1000}],
        "特别重大": [{"size": 1000}],
    },
}


def test_rules_round_trip_through_json(tmp_path: Path) -> None:
    rules = Rules.from_json(RULES_JSON)
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules.to_json(), ensure_ascii=False), encoding="utf-8")
    again = Rules.from_file(path)
    assert again.to_json() == rules.to_json()
    assert again.burst.window_minutes == 30 and again.burst.min_items == 5
    assert again.burst.baseline_halflife_hours == Rules().burst.baseline_halflife_hours


def test_the_highest_grade_with_a_met_alternative_wins() -> None:
    rules = Rules.from_json(RULES_JSON)
    assert rules.grade({"burst": 0, "window": 3, "size": 3}) is None
    assert rules.grade({"burst": 1, "window": 6, "size": 6}) == ("一般", 1, {"burst": 1.0})
    grade = rules.grade({"burst": 1, "window": 6, "size": 6, "sensitive": 1})
    assert grade is not None and grade[:2] == ("较大", 2)
    grade = rules.grade({"burst": 0, "window": 2, "size": 40, "reach": 5000})
    assert grade is not None and grade[0] == "重大"
    # A feature that is unknown (no sentiment model) never meets a minimum.
    rules.grades["特别重大"] = [{"negative_share": 0.1}]
    grade = rules.grade({"size": 40, "reach": 5000})
    assert grade is not None and grade[0] == "重大"


def test_an_event_alerts_again_only_when_its_grade_rises() -> None:
    rules = Rules.from_json(RULES_JSON)
    gazetteer = Gazetteer(places={"江岸区"}, sensitive={"死亡"})
    engine = Engine(gazetteer=gazetteer, rules=rules, options=EngineOptions(activity_weight=0))
    items = [item("s", 0, "江岸区一工地塔吊倒塌", reach=100)]
    items += [item(f"r{i}", 0.5 * (i + 1), "", parent_id="s", reach=100) for i in range(40)]
    items.append(item("d", 30, "江岸区塔吊倒塌已致一人死亡", parent_id="s"))
    engine.process(items)
    grades = [a.grade for a in engine.alerts()]
    assert grades == ["一般", "较大", "重大"]
    assert [a.item_id for a in engine.alerts()] == ["r3", "r8", "r28"]
    assert all(a.event_id == engine.event_of("s") for a in engine.alerts())
    assert "较大" in engine.alerts()[1].reason and "窗口内新增≥10条" in engine.alerts()[1].reason
    assert engine.events()[0].grade == "重大"


def test_sensitive_terms_raise_the_grade() -> None:
    rules = Rules.from_json(RULES_JSON)
    gazetteer = Gazetteer(places={"江岸区"}, sensitive={"跳楼"})
    engine = Engine(gazetteer=gazetteer, rules=rules, options=EngineOptions(activity_weight=0))
    items = [item("s", 0, "江岸区有人跳楼")]
    items += [item(f"r{i}", i + 1, "", parent_id="s") for i in range(5)]
    engine.process(items)
    first = engine.alerts()[0]
    assert first.grade == "较大"
    assert "跳楼" in first.reason


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"grades": {"严重": [{"size": 1}]}}, "unknown grade"),
        ({"grades": {"一般": [{"likes": 1}]}}, "unknown feature 'likes'"),
        ({"grades": {"一般": [{"size": -1}]}}, "must be a number ≥ 0"),
        ({"grades": {"一般": [{}]}}, "non-empty object"),
        ({"burst": {"window_minutes": 0}}, "burst.window_minutes must be a positive number"),
        ({"burst": {"p_value": 2}}, "p_value must be below 1"),
        ({"thresholds": {}}, "unknown key(s) thresholds"),
    ],
)
def test_bad_rules_are_refused_with_the_key_named(data: dict[str, object], message: str) -> None:
    with pytest.raises(RulesError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Rules.from_json(data)


def test_a_rules_file_with_broken_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{\n "grades": {,}\n}', encoding="utf-8")
    with pytest.raises(RulesError, match="line 2"):
        Rules.from_file(path)


def test_the_default_rules_cover_every_grade() -> None:
    assert set(Rules().to_json()["grades"]) == set(GRADES)
