"""The citizen pages, the inspectors' pages and the API, end to end through the test client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from integrity.models import Event, Report, State
from tests.personas import OrgTree

from .conftest import CONTENT

pytestmark = pytest.mark.django_db


def test_a_citizen_reports_anonymously_on_the_page_and_gets_a_code_and_secret(
    org_tree: OrgTree,
) -> None:
    client = Client()
    answer = client.post(
        "/integrity/",
        {"kind": "abuse", "target_unit": org_tree.chengguan.pk, "content": CONTENT, "named": "0"},
    )
    assert answer.status_code == 200
    report = Report.objects.get()
    assert report.code in answer.content.decode()
    assert report.named is False


def test_a_page_report_without_content_is_refused_with_a_message(org_tree: OrgTree) -> None:
    answer = Client().post(
        "/integrity/", {"kind": "abuse", "target_unit": org_tree.chengguan.pk, "named": "0"}
    )
    assert answer.status_code == 422
    assert "请写明举报内容" in answer.content.decode()
    assert not Report.objects.exists()


def test_an_api_report_without_content_answers_422(org_tree: OrgTree) -> None:
    answer = Client().post(
        "/api/integrity/reports",
        {"kind": "neglect", "target_unit": org_tree.chengguan.pk, "content": " "},
        content_type="application/json",
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "validation_error"


def test_the_reporter_follows_the_report_by_code_and_secret_on_the_api_and_page(
    report: tuple[Report, str], auditor: Any, client_for: Any
) -> None:
    r, secret = report
    inspector = client_for(auditor)
    for action, note in (
        ("register", ""),
        ("conclude", "线索不实，予以了结"),
        ("feedback", "经核查，反映问题不属实"),
    ):
        answer = inspector.post(
            f"/api/integrity/reports/{r.pk}/steps",
            {"action": action, "note": note},
            content_type="application/json",
        )
        assert answer.status_code == 200, answer.content
    tracked = Client().post(
        "/api/integrity/track", {"code": r.code, "secret": secret}, content_type="application/json"
    )
    assert tracked.status_code == 200
    body = tracked.json()
    assert body["state"] == State.CLOSED and body["feedback"] == "经核查，反映问题不属实"
    assert CONTENT not in json.dumps(body, ensure_ascii=False)
    page = Client().post("/integrity/track/", {"code": r.code, "secret": secret})
    assert "经核查，反映问题不属实" in page.content.decode()


def test_a_forged_tracking_code_answers_404_and_is_logged(report: tuple[Report, str]) -> None:
    _r, secret = report
    answer = Client().post(
        "/api/integrity/track",
        {"code": "JB-NOTREAL9", "secret": secret},
        content_type="application/json",
    )
    assert answer.status_code == 404
    assert Client().post("/integrity/track/", {"code": "JB-X", "secret": "Y"}).status_code == 404
    assert Event.objects.filter(action="track.refused").count() == 2


def test_the_queue_counts_look_ups_with_forged_codes(
    report: tuple[Report, str], auditor: Any, client_for: Any
) -> None:
    Client().post("/integrity/track/", {"code": "JB-GUESSED1", "secret": "ABCDEFGHJK"})
    page = client_for(auditor).get("/workbench/integrity/").content.decode()
    assert "近 30 天有 1 次用不存在的受理编号查询" in page


def test_two_auditors_unseal_over_the_api_and_the_same_one_twice_gets_409(
    named_report: tuple[Report, str], auditor: Any, auditor2: Any, admin: Any, client_for: Any
) -> None:
    r, _secret = named_report
    url = f"/api/integrity/reports/{r.pk}/unseal"
    first = client_for(auditor)
    assert first.post(url, {"reason": ""}, content_type="application/json").status_code == 422
    answer = first.post(url, {"reason": "核实举报细节"}, content_type="application/json")
    assert answer.status_code == 200 and answer.json()["identity"] is None
    again = first.post(url, {"reason": "再批一次"}, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "same_auditor"
    outsider = client_for(admin).post(url, {"reason": "管理员"}, content_type="application/json")
    assert outsider.status_code == 404
    second = client_for(auditor2).post(url, {"reason": "同意"}, content_type="application/json")
    assert second.json()["identity"]["name"] == "举报人甲"
    page = first.get(f"/workbench/integrity/{r.pk}/")
    assert "举报人甲" in page.content.decode()


def test_the_inspector_handles_a_case_on_the_workbench_page(
    report: tuple[Report, str], auditor: Any, client_for: Any
) -> None:
    r, _secret = report
    client = client_for(auditor)
    assert r.code in client.get("/workbench/integrity/").content.decode()
    client.post(f"/workbench/integrity/{r.pk}/step/", {"action": "register"})
    answer = client.post(f"/workbench/integrity/{r.pk}/step/", {"action": "file"}, follow=True)
    assert "请填写这一步的意见或结果" in answer.content.decode()
    client.post(f"/workbench/integrity/{r.pk}/step/", {"action": "file", "note": "立案审查"})
    r.refresh_from_db()
    assert r.state == State.FILED
    export = client.get("/workbench/integrity/export.csv").content.decode()
    assert r.code in export and CONTENT not in export


def test_the_reported_persons_look_by_id_is_refused_with_404_and_shown_to_inspectors(
    report: tuple[Report, str], reported: Any, auditor: Any, client_for: Any
) -> None:
    r, _secret = report
    client = client_for(reported)
    assert client.get(f"/api/integrity/reports/{r.pk}").status_code == 404
    assert client.get(f"/workbench/integrity/{r.pk}/").status_code == 404
    case = client_for(auditor).get(f"/workbench/integrity/{r.pk}/").content.decode()
    assert case.count("被举报人试图查看，已拒绝") == 2
