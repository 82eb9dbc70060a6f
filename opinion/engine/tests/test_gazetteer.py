"""Gazetteer files and relevance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opinion.engine import Engine, Gazetteer, GazetteerError

from .helpers import item


def test_a_text_file_with_kind_prefixes_loads(tmp_path: Path) -> None:
    path = tmp_path / "j.txt"
    path.write_text(
        "# 本区\nplace:江岸区\n地名：汉口\nunit:江岸区城管局\ntopic:积水\nsensitive:跳楼\n",
        encoding="utf-8",
    )
    g = Gazetteer.from_file(path)
    assert g.places == {"江岸区", "汉口"} and g.units == {"江岸区城管局"}
    assert g.topics == {"积水"} and g.sensitive == {"跳楼"}


def test_a_json_file_loads_and_round_trips(tmp_path: Path) -> None:
    data = {"places": ["江岸区"], "units": ["区卫健委"], "topics": [], "sensitive": ["爆炸"]}
    path = tmp_path / "j.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert Gazetteer.from_file(path).to_json() == data


def test_a_line_without_a_kind_is_refused_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "j.txt"
    path.write_text("place:江岸区\n江汉区\n", encoding="utf-8")
    with pytest.raises(GazetteerError, match="line 2"):
        Gazetteer.from_file(path)


def test_matches_are_found_in_traditional_and_full_width_text() -> None:
    g = Gazetteer(places={"江岸区"}, units={"ABC物业"}, sensitive={"跳楼"})
    assert g.matches("江岸區有人跳樓，ａｂｃ物業不管") == [
        ("place", "江岸区"),
        ("sensitive", "跳楼"),
        ("unit", "ABC物业"),
    ]


def test_only_items_naming_the_jurisdiction_are_relevant_and_get_events() -> None:
    g = Gazetteer(places={"江岸区"}, topics={"地铁"}, sensitive={"跳楼"})
    engine = Engine(gazetteer=g)
    out = engine.process(
        [
            item("a", 0, "江岸区积水严重"),
            item("b", 1, "外省某地有人跳楼"),  # sensitive alone is not ours
            item("c", 2, "地铁二号线停运"),
            item("d", 3, "真的吗", parent_id="a"),  # a reply to an item of ours is ours
        ]
    )
    assert [o.relevant for o in out] == [True, False, True, True]
    assert out[1].event_id is None
    assert out[3].event_id == out[0].event_id


def test_without_a_gazetteer_every_item_is_relevant() -> None:
    out = Engine().process([item("a", 0, "外省某地有人跳楼"), item("b", 1, "天气不错")])
    assert all(o.relevant for o in out)


def test_a_gazetteer_with_only_sensitive_terms_scopes_nothing() -> None:
    engine = Engine(gazetteer=Gazetteer(sensitive={"跳楼"}))
    out = engine.process([item("a", 0, "天气不错")])
    assert out[0].relevant
