"""The desk's pages: events, the timeline, the alert queue, tasks, gazetteer and rules edits
(audited), reports as HTML and XLSX with charts (export audited), role checks, the demo."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from django.test import Client

from audit.models import AuditEntry
from opinion.models import Alert, AlertRule, Event, GazetteerTerm, ResponseTask

Login = Callable[[Any], Client]


def test_the_event_list_filters_by_grade_and_keyword(
    alerted: Any, analyst: Any, client_for: Login
) -> None:
    client = client_for(analyst)
    event = Event.objects.get()
    page = client.get("/workbench/opinion/").content.decode()
    assert f"/workbench/opinion/events/{event.pk}/" in page
    assert (
        f"/events/{event.pk}/"
        in client.get("/workbench/opinion/?grade=较大&q=打人").content.decode()
    )
    assert (
        f"/events/{event.pk}/" not in client.get("/workbench/opinion/?grade=重大").content.decode()
    )
    assert f"/events/{event.pk}/" not in client.get("/workbench/opinion/?q=停水").content.decode()


def test_the_timeline_shows_volume_sources_and_posts(
    alerted: Any, analyst: Any, client_for: Login
) -> None:
    event = Event.objects.get()
    page = client_for(analyst).get(f"/workbench/opinion/events/{event.pk}/").content.decode()
    assert '<svg class="op-chart"' in page
    assert 'class="bar alerted"' in page  # the hour the alert rose
    assert "weibo" in page and "转为诉求" in page
    assert "打人" in page


def test_a_leader_reads_but_gets_no_buttons(alerted: Any, leader: Any, client_for: Login) -> None:
    event = Event.objects.get()
    page = client_for(leader).get(f"/workbench/opinion/events/{event.pk}/").content.decode()
    assert "转为诉求" not in page
    task = ResponseTask.objects.get()
    assert (
        "action-form"
        not in client_for(leader).get(f"/workbench/opinion/tasks/{task.pk}/").content.decode()
    )


def test_outsiders_and_citizens_are_refused_everywhere(
    alerted: Any, outsider: Any, citizen: Any, handler: Any, client_for: Login
) -> None:
    event, task = Event.objects.get(), ResponseTask.objects.get()
    paths = [
        "/workbench/opinion/",
        f"/workbench/opinion/events/{event.pk}/",
        "/workbench/opinion/alerts/",
        f"/workbench/opinion/tasks/{task.pk}/",
        "/workbench/opinion/gazetteer/",
        "/workbench/opinion/reports/daily/",
    ]
    for person in (outsider, citizen, handler):
        client = client_for(person)
        assert {client.get(p).status_code for p in paths} == {403}
    assert {Client().get(p).status_code for p in paths} == {302}


def test_acknowledging_an_alert_from_the_queue(
    alerted: Any, analyst: Any, client_for: Login
) -> None:
    alert = Alert.objects.get()
    client = client_for(analyst)
    assert "确认" in client.get("/workbench/opinion/alerts/").content.decode()
    assert client.post(f"/workbench/opinion/alerts/{alert.pk}/acknowledge/").status_code == 302
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == analyst
    again = client.post(f"/workbench/opinion/alerts/{alert.pk}/acknowledge/")
    assert again.status_code == 409
    assert AuditEntry.objects.filter(action="opinion.alert_acknowledge").count() == 1


def test_an_analyst_answers_and_closes_a_task_on_its_page(
    alerted: Any, analyst: Any, client_for: Login
) -> None:
    task = ResponseTask.objects.get()
    client = client_for(analyst)
    listing = client.get("/workbench/opinion/tasks/").content.decode()
    assert "op-countdown" in listing and "首次回应用时" in listing
    url = f"/workbench/opinion/tasks/{task.pk}/"
    refused = client.post(url + "close/", {"summary": "处理完毕"})
    assert refused.status_code == 409
    assert "请先记录至少一项处置" in refused.content.decode()
    assert client.post(url + "act/", {"kind": "explain", "text": ""}).status_code == 422
    assert client.post(url + "act/", {"kind": "explain", "text": "发布情况说明"}).status_code == 302
    assert client.post(url + "close/", {"summary": "已说明情况，涉事人员已处理"}).status_code == 302
    task.refresh_from_db()
    assert task.state == "closed" and task.closed_by == analyst
    assert (
        "已说明情况" in client.get(f"/workbench/opinion/events/{task.event_id}/").content.decode()
    )


def test_gazetteer_edits_on_the_page_are_audited(analyst: Any, client_for: Login) -> None:
    client = client_for(analyst)
    response = client.post(
        "/workbench/opinion/gazetteer/",
        {"kind": "place", "terms": "东湖区\n柳岸社区\n\n", "note": ""},
    )
    assert response.status_code == 302
    assert set(GazetteerTerm.objects.values_list("term", flat=True)) == {"东湖区", "柳岸社区"}
    term = GazetteerTerm.objects.get(term="东湖区")
    assert client.post(f"/workbench/opinion/gazetteer/{term.pk}/toggle/").status_code == 302
    term.refresh_from_db()
    assert term.active is False
    actions = list(
        AuditEntry.objects.filter(action__startswith="opinion.gazetteer").values_list(
            "action", "actor_id"
        )
    )
    assert actions.count(("opinion.gazetteer_add", analyst.pk)) == 2
    assert ("opinion.gazetteer_set_active", analyst.pk) in actions
    bad = client.post("/workbench/opinion/gazetteer/", {"kind": "weather", "terms": "雨"})
    assert bad.status_code == 422


def test_gazetteer_edits_in_the_admin_are_audited(admin: Any, client_for: Login) -> None:
    client = client_for(admin)
    response = client.post(
        "/admin/opinion/gazetteerterm/add/",
        {"term": "西山区", "kind": "place", "active": "on", "note": ""},
    )
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action="opinion.gazetteer_add", actor_id=admin.pk).exists()


def test_rules_are_validated_versioned_and_audited(analyst: Any, client_for: Login) -> None:
    import json

    from opinion.engine import Rules

    client = client_for(analyst)
    assert client.post("/workbench/opinion/rules/", {"rules": "{not json"}).status_code == 422
    wrong = client.post("/workbench/opinion/rules/", {"rules": '{"grades": {"超级": []}}'})
    assert wrong.status_code == 422 and "超级" in wrong.content.decode()
    rules = Rules().to_json()
    rules["burst"]["min_items"] = 20
    saved = client.post(
        "/workbench/opinion/rules/", {"rules": json.dumps(rules), "note": "县域流量小"}
    )
    assert saved.status_code == 302
    row = AlertRule.objects.get()
    assert row.version == 1 and row.rules["burst"]["min_items"] == 20
    assert AuditEntry.objects.filter(action="opinion.rules_save", actor_id=analyst.pk).exists()
    same = client.post("/workbench/opinion/rules/", {"rules": json.dumps(rules)})
    assert same.status_code == 409


def test_reports_render_and_export_an_xlsx_with_charts(
    alerted: Any, leader: Any, client_for: Login
) -> None:
    from openpyxl import load_workbook

    client = client_for(leader)
    for kind in ("daily", "weekly"):
        page = client.get(f"/workbench/opinion/reports/{kind}/?date=2025-10-14").content.decode()
        assert "op-chart" in page and "较大" in page
    response = client.get("/workbench/opinion/reports/weekly.xlsx?date=2025-10-14")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book["概览"]["B2"].value == 41
    assert book["声量"]._charts and book["预警"]._charts
    volume = [row[1] for row in book["声量"].iter_rows(min_row=2, values_only=True)]
    assert sum(volume) == 41 and len(volume) == 7
    entry = AuditEntry.objects.get(action="opinion.report_export")
    assert entry.actor_id == leader.pk
    assert client.get("/workbench/opinion/reports/monthly/").status_code == 404
    assert client.get("/workbench/opinion/reports/daily/?date=yesterday").status_code == 404


def test_the_demo_loads_once(analyst: Any) -> None:
    from opinion import demo_data

    assert demo_data.load() > 0
    assert demo_data.load() == 0
    assert Event.objects.filter(status__in=["open", "closed"]).count() >= 2
    assert Alert.objects.count() == 1
    task = ResponseTask.objects.get()
    assert task.actions.count() == 1 and task.state == "answered"
