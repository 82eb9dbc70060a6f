"""The optional textkit models: sentiment feeds negative_share, route feeds the category."""

from __future__ import annotations

import pytest

from opinion.engine import Engine, EngineOptions, Rules
from textkit.route import RouteModel
from textkit.sentiment import SentimentModel

from .helpers import item

NEGATIVE = [
    "太气人了，物业不管",
    "恶心，垃圾堆了一个月",
    "愤怒！又停水了",
    "害怕，楼要塌了",
    "太差劲了，没人管",
]
POSITIVE = [
    "谢谢社区，及时解决了",
    "点赞，效率很高",
    "开心，路修好了",
    "感谢城管帮忙",
    "满意，服务很好",
]


@pytest.fixture(scope="module")
def sentiment() -> SentimentModel:
    return SentimentModel.train(NEGATIVE * 4 + POSITIVE * 4, ["angry"] * 20 + ["happy"] * 20)


@pytest.fixture(scope="module")
def route() -> RouteModel:
    water = ["停水了", "自来水发黄", "水压太低", "水管爆了", "没有热水"]
    roads = ["路面塌陷", "红绿灯坏了", "道路积水", "井盖丢失", "路灯不亮"]
    return RouteModel.train(water * 4 + roads * 4, ["供水"] * 20 + ["道路"] * 20)


def test_a_negative_event_is_graded_up_by_its_negative_share(sentiment: SentimentModel) -> None:
    rules = Rules.from_json(
        {
            "burst": {"min_items": 5, "window_minutes": 30},
            "grades": {"一般": [{"burst": 1}], "较大": [{"burst": 1, "negative_share": 0.6}]},
            "min_judged": 5,
        }
    )
    engine = Engine(rules=rules, sentiment=sentiment, options=EngineOptions(activity_weight=0))
    items = [item("s", 0, "又停水了，太气人了，物业不管")]
    items += [item(f"r{i}", i + 1, NEGATIVE[i % 5], parent_id="s") for i in range(8)]
    out = engine.process(items)
    assert out[0].sentiment == "negative"
    assert [a.grade for a in engine.alerts()] == ["较大"]
    assert "负面占比" in engine.alerts()[0].reason
    assert engine.events()[0].sentiment.get("negative", 0) >= 7


def test_a_positive_event_stays_at_the_lower_grade(sentiment: SentimentModel) -> None:
    rules = Rules.from_json(
        {
            "burst": {"min_items": 5, "window_minutes": 30},
            "grades": {"一般": [{"burst": 1}], "较大": [{"burst": 1, "negative_share": 0.6}]},
            "min_judged": 5,
        }
    )
    engine = Engine(rules=rules, sentiment=sentiment, options=EngineOptions(activity_weight=0))
    items = [item("s", 0, "谢谢社区，路修好了")]
    items += [item(f"r{i}", i + 1, POSITIVE[i % 5], parent_id="s") for i in range(8)]
    engine.process(items)
    assert [a.grade for a in engine.alerts()] == ["一般"]


def test_the_route_model_gives_items_and_events_a_category(route: RouteModel) -> None:
    engine = Engine(route=route, options=EngineOptions(activity_weight=0))
    out = engine.process(
        [item("a", 0, "小区又停水了，自来水发黄"), item("b", 1, "路面塌陷，井盖丢失")]
    )
    assert [o.category for o in out] == ["供水", "道路"]
    assert {e.category for e in engine.events()} == {"供水", "道路"}
