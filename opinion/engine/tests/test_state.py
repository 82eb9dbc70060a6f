"""An engine resumed from its state behaves exactly like one that never stopped."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from opinion.engine import Engine, EngineOptions, Gazetteer, Item, Outcome, Rules

from .helpers import item

TOPICS = [
    "江岸区暴雨后积水严重，车辆无法通行",
    "汉口火车站附近仓库起火，浓烟滚滚",
    "某小区电梯多次困人，物业迟迟不修，业主投诉无门",
    "地铁二号线早高峰故障停运，乘客滞留站台",
    "学校食堂饭菜变质，家长要求彻查",
]
COMMENTS = ["太可怕了", "真的假的", "有关部门管管吧", "求真相", "转发微博", "", "支持！"]


def stream(seed: int = 7, n: int = 900) -> list[Item]:
    rng = random.Random(seed)
    items: list[Item] = []
    minute = 0.0
    for i in range(n):
        # Quiet stretches, bursts and long gaps so that events close and reopen.
        minute += rng.choice([0.2, 0.5, 1, 3, 10, 60, 600]) if i % 97 else 2000
        topic = TOPICS[rng.randrange(len(TOPICS))]
        roll = rng.random()
        if items and roll < 0.45:
            parent = items[rng.randrange(max(0, len(items) - 50), len(items))].id
            text = rng.choice(COMMENTS)
            items.append(item(f"i{i}", minute, text, parent_id=parent, reach=rng.randrange(50)))
        elif roll < 0.8:
            items.append(item(f"i{i}", minute, f"{topic}，{rng.choice(COMMENTS)}{i % 7}"))
        else:
            items.append(item(f"i{i}", minute, f"#暴雨# {rng.choice(COMMENTS)}{topic[:6]}"))
    return items


Fingerprint = tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]


def fingerprint(engine: Engine, outcomes: list[Outcome]) -> Fingerprint:
    return (
        [o.__dict__ | {"alerts": [a.to_json() for a in o.alerts]} for o in outcomes],
        [e.to_json() for e in engine.events(include_merged=True)],
        [a.to_json() for a in engine.alerts()],
    )


def make(state: dict[str, object] | None = None) -> Engine:
    rules = Rules.from_json(
        {"burst": {"min_items": 8, "window_minutes": 30}, "keyword_burst": {"min_items": 6}}
    )
    gazetteer = Gazetteer(places={"江岸区", "汉口"}, topics={"地铁", "电梯", "食堂", "暴雨"})
    options = EngineOptions(close_after_hours=12, dedupe_window_hours=6, batch_size=64)
    if state is None:
        return Engine(gazetteer=gazetteer, rules=rules, options=options)
    return Engine.from_state(state, gazetteer=gazetteer, rules=rules)


@pytest.mark.parametrize("cuts", [[450], [1, 300, 301, 777], list(range(100, 900, 100))])
def test_an_engine_resumed_from_state_gives_the_same_results(cuts: list[int]) -> None:
    items = stream()
    whole = make()
    expected = fingerprint(whole, whole.process(items))
    assert expected[2], "the stream should raise alerts"
    assert any(e["merged_into"] for e in expected[1]) or len(expected[1]) > 5

    engine = make()
    outcomes: list[Outcome] = []
    start = 0
    for cut in [*cuts, len(items)]:
        outcomes += engine.process(items[start:cut])
        start = cut
        # Through JSON, as the desk stores it.
        engine = make(json.loads(json.dumps(engine.state_dict(), ensure_ascii=False)))
    assert fingerprint(engine, outcomes) == expected


def test_a_state_of_another_version_is_refused() -> None:
    state = Engine().state_dict()
    state["version"] = 99
    with pytest.raises(ValueError, match="version"):
        Engine.from_state(state)
