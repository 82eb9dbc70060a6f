"""Repeated claims over the API: the finding for staff in scope, decisions with clear refusals."""

from __future__ import annotations

from appeals.models import RepeatStatus, State
from appeals.tests.repeats.conftest import PHONE

JSON = "application/json"


def test_the_dispatcher_reads_the_finding_and_another_units_handler_gets_404(
    finding, dispatcher, other_handler, client_for
):
    url = f"/api/appeals/{finding.appeal_id}/repeat"
    body = client_for(dispatcher).get(url).json()
    assert body["earlier"]["code"] == finding.earlier.code and body["status"] == "pending"
    assert body["kind"] == "concluded" and "已清理摊贩" in body["earlier_outcome"]
    assert client_for(other_handler).get(url).status_code == 404


def test_an_appeal_without_a_finding_answers_404(submit, dispatcher, client_for):
    appeal, _ = submit(contact_phone=PHONE)
    response = client_for(dispatcher).get(f"/api/appeals/{appeal.pk}/repeat")
    assert response.status_code == 404 and "重复" in response.json()["message"]


def test_confirm_then_overturn_over_the_api_with_refusals_on_the_way(
    finding, dispatcher, leader, client_for
):
    base = f"/api/appeals/{finding.appeal_id}/repeat"
    refused = client_for(leader).post(f"{base}/confirm", {}, JSON)
    assert refused.status_code == 403
    done = client_for(dispatcher).post(f"{base}/confirm", {}, JSON)
    assert done.status_code == 200 and done.json()["status"] == RepeatStatus.CONFIRMED
    again = client_for(dispatcher).post(f"{base}/confirm", {}, JSON)
    assert again.status_code == 409 and again.json()["code"] == "repeat_not_decidable"
    not_leader = client_for(dispatcher).post(f"{base}/overturn", {"reason": "新问题"}, JSON)
    assert not_leader.status_code == 403
    no_reason = client_for(leader).post(f"{base}/overturn", {"reason": ""}, JSON)
    assert no_reason.status_code == 422 and no_reason.json()["detail"][0]["field"] == "reason"
    blank = client_for(leader).post(f"{base}/overturn", {"reason": "   "}, JSON)
    assert blank.status_code == 422
    ok = client_for(leader).post(f"{base}/overturn", {"reason": "群众补充了新的事实"}, JSON)
    assert ok.status_code == 200 and ok.json()["status"] == RepeatStatus.OVERTURNED
    finding.appeal.refresh_from_db()
    assert finding.appeal.state == State.REGISTERED


def test_accept_as_new_needs_a_reason(finding, dispatcher, client_for):
    url = f"/api/appeals/{finding.appeal_id}/repeat/accept-as-new"
    assert client_for(dispatcher).post(url, {}, JSON).status_code == 422
    ok = client_for(dispatcher).post(url, {"reason": "地点换到了西门"}, JSON)
    assert ok.status_code == 200 and ok.json()["status"] == RepeatStatus.NEW
