"""The JSON API: a cadre's app logs a visit and raises an appeal; refusals carry a code."""

from __future__ import annotations

from typing import Any

import pytest

from appeals.models import Appeal, Channel
from grassroots.models import Household, Visit

pytestmark = pytest.mark.django_db


def test_a_cadre_logs_a_visit_and_raises_an_appeal_through_the_api(
    cadre: Any, households: list[Household], client_for: Any
) -> None:
    client = client_for(cadre)
    made = client.post(
        "/api/grassroots/visits",
        {"household": households[0].pk, "met": "本人", "found": "楼道灯坏了"},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    visit_id = made.json()["id"]
    raised = client.post(
        f"/api/grassroots/visits/{visit_id}/appeal", {}, content_type="application/json"
    )
    assert raised.status_code == 201
    appeal = Appeal.objects.get(code=raised.json()["appeal"])
    assert appeal.channel == Channel.VISIT and "楼道灯坏了" in appeal.text
    twice = client.post(
        f"/api/grassroots/visits/{visit_id}/appeal", {}, content_type="application/json"
    )
    assert twice.status_code == 409 and twice.json()["code"] == "already_raised"
    coverage = client.get("/api/grassroots/coverage?days=30").json()
    assert coverage == [{"grid": "东华社区第一网格", "households": 3, "visited": 1, "percent": 33}]


def test_the_api_refuses_a_household_outside_the_grid_with_a_code(
    cadre: Any, stranger_household: Household, client_for: Any
) -> None:
    response = client_for(cadre).post(
        "/api/grassroots/visits",
        {"household": stranger_household.pk, "met": "户主", "found": "无"},
        content_type="application/json",
    )
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "outside_grid" and "不在您负责的网格内" in body["message"]
    assert not Visit.objects.exists()


def test_a_handler_cannot_log_visits(
    handler: Any, households: list[Household], client_for: Any
) -> None:
    response = client_for(handler).post(
        "/api/grassroots/visits",
        {"household": households[0].pk, "met": "x", "found": "y"},
        content_type="application/json",
    )
    assert response.status_code == 403
