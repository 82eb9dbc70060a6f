"""The staff queue API (GET /api/appeals/) with keywords and the search filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from appeals import services
from appeals.models import Appeal
from org.calendar import CALENDAR_TZ

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(submit: Any, dispatcher: Any, org_tree: Any, category_tree: Any) -> list[Appeal]:
    noise, _ = submit(text="广场舞音响噪音太大，影响休息。", title="广场舞噪音")
    lamp, _ = submit(text="小区路灯不亮，停车很难。", category=category_tree.property_management)
    stall, _ = submit(text="夜市摊贩占道，噪音扰民。")
    services.do_register(noise, dispatcher)
    services.do_dispatch(noise, org_tree.chengguan, dispatcher)
    Appeal.objects.filter(pk=lamp.pk).update(
        grid=org_tree.grid, created=dt.datetime(2025, 5, 20, 9, tzinfo=CALENDAR_TZ)
    )
    return [noise, lamp, stall]


def _ids(answer: Any) -> list[int]:
    assert answer.status_code == 200, answer.content
    return [row["id"] for row in answer.json()["items"]]


def test_the_queue_finds_appeals_by_keyword_newest_first(
    client_for: Any, dispatcher: Any, three: list[Appeal]
) -> None:
    noise, lamp, stall = three
    agent = client_for(dispatcher)
    assert _ids(agent.get("/api/appeals/", {"q": "噪音"})) == [stall.pk, noise.pk]
    assert _ids(agent.get("/api/appeals/", {"q": "路灯 停车"})) == [lamp.pk]
    assert agent.get("/api/appeals/", {"q": "噪音"}).json()["count"] == 2


def test_the_queue_combines_keywords_with_unit_category_grid_and_dates(
    client_for: Any, dispatcher: Any, handler: Any, three: list[Appeal], org_tree: Any
) -> None:
    noise, lamp, stall = three
    agent = client_for(dispatcher)
    get = agent.get
    assert _ids(get("/api/appeals/", {"q": "噪音", "unit": "test-chengguan"})) == [noise.pk]
    assert _ids(get("/api/appeals/", {"q": "噪音", "state": "received"})) == [stall.pk]
    assert _ids(get("/api/appeals/", {"category": "test-housing"})) == [lamp.pk]
    assert _ids(get("/api/appeals/", {"grid": "test-grid-1"})) == [lamp.pk]
    window = {"date_from": "2025-05-20", "date_to": "2025-05-20"}
    assert _ids(get("/api/appeals/", window)) == [lamp.pk]
    assert _ids(client_for(handler).get("/api/appeals/", {"q": "噪音"})) == [noise.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"unit": "nowhere"}, "unit"),
        ({"category": "nothing"}, "category"),
        ({"grid": "no-grid"}, "grid"),
        ({"date_from": "2025-02-30"}, "date_from"),
        ({"date_from": "2025-06-01", "date_to": "2025-05-01"}, "date_to"),
        ({"q": "水"}, "q"),
        ({"q": "噪" * 201}, "q"),
    ],
)
def test_bad_queue_filters_answer_422_with_a_message(
    client_for: Any, dispatcher: Any, three: list[Appeal], params: dict[str, str], field: str
) -> None:
    answer = client_for(dispatcher).get("/api/appeals/", params)
    assert answer.status_code == 422, answer.content
    body = answer.json()
    assert body["code"] == "validation_error" and body["message"]
    assert field in answer.content.decode()


def test_hostile_keywords_in_the_queue_never_cause_a_server_error(
    client_for: Any, dispatcher: Any, three: list[Appeal]
) -> None:
    agent = client_for(dispatcher)
    for q in ['"', '噪音" OR 1=1', "噪音' & '路灯", "NEAR(噪音 路灯)", "*", "噪音 -- ;"]:
        answer = agent.get("/api/appeals/", {"q": q})
        assert answer.status_code in (200, 422), (q, answer.content)


def test_the_queue_count_is_exact_up_to_the_limit_and_says_so_beyond_it(
    client_for: Any, dispatcher: Any, three: list[Appeal], monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = client_for(dispatcher)
    answer = agent.get("/api/appeals/").json()
    assert (answer["count"], answer["count_exact"]) == (3, True)
    monkeypatch.setattr("search.appeals.COUNT_LIMIT", 2)
    answer = agent.get("/api/appeals/", {"limit": 1}).json()
    assert (answer["count"], answer["count_exact"]) == (2, False)
    assert agent.get("/api/appeals/", {"q": "路灯"}).json()["count_exact"] is True
