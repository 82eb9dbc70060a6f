from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEntry
from audit.services import record, record_access

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(handler, citizen, org_tree) -> list[AuditEntry]:
    entries = [
        record(handler, "appeal.dispatch", org_tree.chengguan, reason="派往城管"),
        record(handler, "appeal.reply", org_tree.chengguan, reason="已处理完毕"),
        record(None, "system.clock.tick"),
    ]
    entries.append(record_access(handler, citizen, "phone", "电话回访"))
    return entries


def test_the_auditor_browses_the_trail_newest_first(client_for, auditor, story) -> None:
    response = client_for(auditor).get("/workbench/audit/")
    assert response.status_code == 200
    text = response.content.decode()
    positions = [
        text.index(f"<code>{a}</code>")
        for a in ("system.clock.tick", "appeal.reply", "appeal.dispatch")
    ]
    assert positions == sorted(positions)


def test_the_trail_filters_by_action_prefix_actor_and_reason(client_for, auditor, story) -> None:
    client = client_for(auditor)

    def actions(**query: str) -> set[str]:
        return {e.action for e in client.get("/workbench/audit/", query).context["page"].entries}

    assert actions(action="appeal") == {"appeal.dispatch", "appeal.reply"}
    assert actions(action="appeal.reply") == {"appeal.reply"}
    assert actions(text="处理完毕") == {"appeal.reply"}
    assert actions(actor="王城管") >= {"appeal.dispatch", "appeal.reply", "personal_data.view"}
    assert "system.clock.tick" not in actions(actor="王城管")


def test_the_trail_pages_by_sequence_number(client_for, auditor, story) -> None:
    for n in range(60):
        record(None, "bulk.step", reason=f"第{n}条")
    client = client_for(auditor)
    first = client.get("/workbench/audit/", {"action": "bulk"})
    assert first.context["page"].older is not None
    older = first.context["page"].older
    second = client.get("/workbench/audit/", {"action": "bulk", "before": older})
    seqs = [e.seq for e in second.context["page"].entries]
    assert len(seqs) == 10 and max(seqs) < older
    assert second.context["page"].older is None
    back = client.get(
        "/workbench/audit/", {"action": "bulk", "after": second.context["page"].newer}
    )
    assert [e.seq for e in back.context["page"].entries] == [
        e.seq for e in first.context["page"].entries
    ]


def test_the_trail_page_costs_the_same_few_queries_for_many_entries(
    client_for, auditor, story
) -> None:
    client = client_for(auditor)
    client.get("/workbench/audit/")
    with CaptureQueriesContext(connection) as few:
        client.get("/workbench/audit/")
    for _ in range(40):
        record(None, "bulk.step")
    with CaptureQueriesContext(connection) as many:
        client.get("/workbench/audit/")
    assert len(many) == len(few)


def test_an_entry_shows_its_changes_and_chain_hashes(client_for, auditor, story) -> None:
    entry = story[1]
    response = client_for(auditor).get(f"/workbench/audit/entries/{entry.seq}/")
    text = response.content.decode()
    assert entry.hash in text and entry.prev_hash in text
    assert "与内容一致" in text


def test_verify_now_reports_the_chain_is_intact(client_for, auditor, story) -> None:
    response = client_for(auditor).post("/workbench/audit/verify/")
    assert f"共 {story[-1].seq} 条" in response.content.decode()
    assert response.context["result"].ok


def test_the_access_log_says_who_looked_at_whose_data_and_why(
    client_for, auditor, story, citizen
) -> None:
    text = client_for(auditor).get("/workbench/audit/access/").content.decode()
    assert "电话回访" in text and "王城管" in text and f"accounts.user:{citizen.pk}" in text
    assert "<code>appeal.dispatch</code>" not in text
    assert "13800138000" not in text


@pytest.mark.parametrize("persona", ["handler", "leader", "outsider", "citizen"])
def test_only_auditors_and_admins_see_the_trail(request, client_for, story, persona) -> None:
    user = request.getfixturevalue(persona)
    for path in ("/workbench/audit/", "/workbench/audit/access/", "/workbench/audit/verify/"):
        assert client_for(user).get(path).status_code == 403


def test_an_admin_may_see_the_trail(client_for, admin, story) -> None:
    assert client_for(admin).get("/workbench/audit/").status_code == 200


def test_signed_out_visitors_are_sent_to_sign_in(client, story) -> None:
    response = client.get("/workbench/audit/")
    assert response.status_code == 302 and "/accounts/" in response["Location"]


def test_the_api_lists_entries_for_auditors_only(client_for, auditor, handler, story) -> None:
    response = client_for(auditor).get("/api/audit/entries", {"action": "appeal", "limit": 1})
    assert response.status_code == 200
    body = response.json()
    assert [item["action"] for item in body["items"]] == ["appeal.reply"]
    assert body["older"] == story[1].seq
    assert client_for(handler).get("/api/audit/entries").json()["code"] == "forbidden"


def test_the_api_verifies_the_chain(client_for, auditor, story) -> None:
    body = client_for(auditor).get("/api/audit/verify").json()
    assert body["ok"] is True and body["count"] == story[-1].seq
    assert body["head_hash"] == story[-1].hash
    bad = client_for(auditor).get("/api/audit/verify", {"anchor": "ab" * 32}).json()
    assert bad["ok"] is False and bad["problem"]["kind"] == "anchor_not_found"


def test_the_api_rejects_dates_out_of_order(client_for, auditor) -> None:
    response = client_for(auditor).get(
        "/api/audit/entries", {"since": "2026-02-01", "until": "2026-01-01"}
    )
    assert response.status_code == 422
