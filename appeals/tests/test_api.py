"""The JSON API: intake with Idempotency-Key, tracking, the queue, the steps and their errors."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from appeals.models import Appeal, State

pytestmark = pytest.mark.django_db

BODY = {
    "text": "小区门口人行道被占道经营的摊位堵死，老人只能走机动车道。",
    "category": "test-street-vending",
    "address": "东华路 8 号",
    "lat": 39.915123,
    "lng": 116.404321,
    "contact_name": "王女士",
    "contact_phone": "+86 139-0013-9001",
}


def _post(client: Client, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(path, body, content_type="application/json", headers=headers)


def test_an_anonymous_citizen_submits_and_tracks_without_personal_data(client, category_tree):
    created = _post(client, "/api/appeals/", BODY)
    assert created.status_code == 201, created.content
    out = created.json()
    assert out["code"].startswith("MS-") and out["state"] == "received"
    appeal = Appeal.objects.get(code=out["code"])
    assert appeal.contact_phone == "13900139001" and appeal.channel == "web"
    tracked = client.get(f"/api/appeals/track/{out['code']}", {"secret": out["secret"]})
    assert tracked.status_code == 200
    text = tracked.content.decode()
    assert "13900139001" not in text and "王女士" not in text and "东华路" not in text
    assert tracked.json()["timeline"][0]["action"] == "submit"
    wrong = client.get(f"/api/appeals/track/{out['code']}", {"secret": "WRONGWRONG"})
    assert wrong.status_code == 404


def test_a_retry_with_the_same_idempotency_key_returns_the_same_appeal(client, category_tree):
    first = _post(client, "/api/appeals/", BODY, **{"Idempotency-Key": "k-123"})
    again = _post(client, "/api/appeals/", BODY, **{"Idempotency-Key": "k-123"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Appeal.objects.count() == 1
    changed = _post(
        client, "/api/appeals/", {**BODY, "text": "别的内容"}, **{"Idempotency-Key": "k-123"}
    )
    assert changed.status_code == 409
    assert changed.json()["code"] == "idempotency_conflict"
    assert Appeal.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "no-such-category"}, "category"),
        ({"text": "长" * 5001}, "text"),
        ({"contact_phone": "12345"}, "contact_phone"),
        ({"text": "   "}, "text"),
    ],
)
def test_bad_intake_is_a_422_naming_the_field_and_writes_nothing(
    client, category_tree, change, field
):
    response = _post(client, "/api/appeals/", {**BODY, **change})
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in [item["field"] for item in body["detail"]]
    if field == "category":
        assert "no-such-category" in body["message"]
    assert Appeal.objects.count() == 0


def test_the_loop_runs_over_the_api_and_a_step_out_of_order_is_a_409(
    client, client_for, dispatcher, handler, other_handler, org_tree, category_tree
):
    out = _post(client, "/api/appeals/", BODY).json()
    appeal_id = out["id"]
    agent, unit_handler = client_for(dispatcher), client_for(handler)
    early = _post(agent, f"/api/appeals/{appeal_id}/dispatch", {"unit": "test-chengguan"})
    assert early.status_code == 409
    assert early.json()["code"] == "invalid_transition"
    assert early.json()["detail"]["allowed"] == ["register", "reject", "merge", "withdraw"]
    assert _post(agent, f"/api/appeals/{appeal_id}/register", {}).status_code == 200
    suggestion = {"unit": org_tree.chengguan.pk, "confidence": 0.82}
    sent = _post(
        agent,
        f"/api/appeals/{appeal_id}/dispatch",
        {"unit": "test-chengguan", "suggestions": [suggestion]},
    )
    assert sent.status_code == 200, sent.content
    case = sent.json()
    assert case["dispatches"][0]["suggestions"][0]["confidence"] == 0.82
    assert case["dispatches"][0]["default_unit"]["code"] == "test-chengguan"
    assert case["contact_phone"] == "139****9001"
    # The other unit's handler: 404 on reading, 403 on acting.
    outsider = client_for(other_handler)
    assert outsider.get(f"/api/appeals/{appeal_id}").status_code == 404
    assert _post(outsider, f"/api/appeals/{appeal_id}/sign", {}).status_code == 403
    assert unit_handler.get(f"/api/appeals/{appeal_id}").status_code == 200
    for step, body in [("sign", {}), ("handle", {}), ("reply", {"text": "已清理占道摊位。"})]:
        answer = _post(unit_handler, f"/api/appeals/{appeal_id}/{step}", body)
        assert answer.status_code == 200, (step, answer.content)
    rated = _post(
        client,
        f"/api/appeals/track/{out['code']}/rate",
        {"secret": out["secret"], "rating": "unsatisfied", "comment": "摊位还在"},
    )
    assert rated.status_code == 200 and rated.json()["state"] == State.REOPENED
    _post(unit_handler, f"/api/appeals/{appeal_id}/reply", {"text": "已安排每日巡查。"})
    _post(agent, f"/api/appeals/{appeal_id}/callback", {"rating": "satisfied"})
    closed = _post(agent, f"/api/appeals/{appeal_id}/close", {})
    assert closed.json()["state"] == State.CLOSED
    assert [e["action"] for e in closed.json()["events"]][-3:] == ["reply", "callback", "close"]


def test_the_queue_filters_by_state_unit_category_and_overdue(
    client, client_for, dispatcher, handler, category_tree, org_tree
):
    for _ in range(3):
        _post(client, "/api/appeals/", BODY)
    agent = client_for(dispatcher)
    first = Appeal.objects.order_by("pk").first()
    assert first is not None
    _post(agent, f"/api/appeals/{first.pk}/register", {})
    _post(agent, f"/api/appeals/{first.pk}/dispatch", {"unit": "test-chengguan"})
    page = agent.get("/api/appeals/", {"state": "received", "limit": 1}).json()
    assert page["count"] == 2 and len(page["items"]) == 1
    mine = client_for(handler).get("/api/appeals/", {"unit": org_tree.chengguan.pk}).json()
    assert [row["id"] for row in mine["items"]] == [first.pk]
    assert agent.get("/api/appeals/", {"category": "test-street-vending"}).json()["count"] == 3
    assert agent.get("/api/appeals/", {"overdue": True}).json()["count"] == 0
    assert agent.get("/api/appeals/", {"category": "nope"}).status_code == 422


def test_a_citizen_withdraws_over_the_api_with_the_secret(client, category_tree):
    out = _post(client, "/api/appeals/", BODY).json()
    refused = _post(client, f"/api/appeals/track/{out['code']}/withdraw", {"secret": "NOPE"})
    assert refused.status_code == 404
    done = _post(client, f"/api/appeals/track/{out['code']}/withdraw", {"secret": out["secret"]})
    assert done.status_code == 200 and done.json()["state"] == State.WITHDRAWN


def test_a_submission_names_its_grid_by_code_and_an_unknown_grid_is_refused(
    client: Client, category_tree: Any, org_tree: Any, dispatcher: Any
) -> None:
    bad = _post(client, "/api/appeals/", {**BODY, "grid": "no-such-grid"})
    assert bad.status_code == 422
    assert bad.json()["detail"]["field"] == "grid"
    assert "no-such-grid" in bad.json()["message"]
    assert not Appeal.objects.exists()
    good = _post(client, "/api/appeals/", {**BODY, "grid": org_tree.grid.code})
    assert good.status_code == 201
    staff = Client()
    staff.force_login(dispatcher)
    case = staff.get(f"/api/appeals/{good.json()['id']}").json()
    assert case["grid"] == org_tree.grid.code
    assert case["duplicate_of"] is None and case["photos"] == [] and case["reviews"] == []
