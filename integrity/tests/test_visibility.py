"""The visibility proof: every persona, the reported person and a colleague in the reported unit,
against every integrity page, API operation and export — and every other page of the site.

Only the discipline inspector above the reported unit (the ``auditor`` persona, at the top unit)
gets 200 on the inspectors' pages; everyone else gets 404, never 403, 401 or a login redirect,
and no answer to them — on any page of the whole site, the appeals queue, the audit trail and the
KPI pages included — carries the report's code, content, the accused's name or the reporter's.
The table in docs/integrity.md is this test's ``MATRIX``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEntry
from integrity.models import Report
from tests.personas import OrgTree
from tests.test_role_matrix import API, PAGES, PERSONAS

from .conftest import CONTENT, make_report

WHO = [*PERSONAS, "reported", "colleague"]
INSPECTOR = "auditor"

# (label, method, path template, payload, status for the inspector, status for everyone else)
# "{id}" is the report's id, "{code}"/"{secret}" its tracking code and secret.
Row = tuple[str, str, str, dict[str, Any] | None, int, int]
MATRIX: list[Row] = [
    ("page 举报表单", "GET", "/integrity/", None, 200, 200),
    (
        "page 进展查询（编号+密码）",
        "POST",
        "/integrity/track/",
        {"code": "{code}", "secret": "{secret}"},
        200,
        200,
    ),
    (
        "page 进展查询（伪造编号）",
        "POST",
        "/integrity/track/",
        {"code": "JB-FORGED99", "secret": "{secret}"},
        404,
        404,
    ),
    ("page 纪检队列", "GET", "/workbench/integrity/", None, 200, 404),
    ("export 登记表 CSV", "GET", "/workbench/integrity/export.csv", None, 200, 404),
    ("page 案件", "GET", "/workbench/integrity/{id}/", None, 200, 404),
    ("page 办理一步", "POST", "/workbench/integrity/{id}/step/", {"action": "register"}, 302, 404),
    ("page 批准启封", "POST", "/workbench/integrity/{id}/unseal/", {"reason": "核实"}, 302, 404),
    (
        "API 提交举报",
        "POST",
        "/api/integrity/reports",
        {"kind": "conduct", "target_unit": "{unit}", "content": "另一件举报"},
        201,
        201,
    ),
    (
        "API 进展查询",
        "POST",
        "/api/integrity/track",
        {"code": "{code}", "secret": "{secret}"},
        200,
        200,
    ),
    ("API 纪检队列", "GET", "/api/integrity/reports", None, 200, 404),
    ("API 案件", "GET", "/api/integrity/reports/{id}", None, 200, 404),
    (
        "API 办理一步",
        "POST",
        "/api/integrity/reports/{id}/steps",
        {"action": "file", "note": "立案"},
        200,
        404,
    ),
    # The inspector approved on the page just above: a second approval by the same person is 409.
    (
        "API 批准启封（同一人再批）",
        "POST",
        "/api/integrity/reports/{id}/unseal",
        {"reason": "核实"},
        409,
        404,
    ),
]


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, str):
        filled = value.format(**names)
        return int(filled) if value == "{unit}" else filled
    return value


@pytest.fixture
def world(request: pytest.FixtureRequest, org_tree: OrgTree) -> dict[str, Any]:
    """Every persona, plus the accused and a colleague, and a named report against the accused."""
    users = {name: request.getfixturevalue(name) for name in WHO if name != "anonymous"}
    report, secret = make_report(org_tree, users["reported"], named=True)
    return {"users": users, "report": report, "secret": secret, "unit": org_tree.chengguan.pk}


def _client(world: dict[str, Any], who: str) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(world["users"][who])
    return client


def _secrets_of(report: Report) -> list[str]:
    # Not the accused's name: it is their own display name, on every page they open and in the
    # trail of their account's creation. What must not show is anything tying it to a report.
    return [report.code, CONTENT, "举报人甲", "13900139000"]


def _call(client: Client, method: str, path: str, payload: dict[str, Any] | None) -> Any:
    if method == "GET":
        return client.get(path)
    if path.startswith("/api/"):
        return client.post(path, payload or {}, content_type="application/json")
    return client.post(path, payload or {})


@pytest.mark.django_db
@pytest.mark.parametrize("who", WHO)
def test_only_the_supervising_inspector_reaches_the_report_and_everyone_else_gets_404(
    world: dict[str, Any], who: str
) -> None:
    report: Report = world["report"]
    names = {
        "id": str(report.pk),
        "code": report.code,
        "secret": world["secret"],
        "unit": str(world["unit"]),
    }
    client = _client(world, who)
    wrong = []
    for label, method, path, payload, inspector, others in MATRIX:
        answer = _call(client, method, path.format(**names), _fill(payload, names))
        expected = inspector if who == INSPECTOR else others
        if answer.status_code != expected:
            wrong.append(f"{label} as {who}: {answer.status_code}, expected {expected}")
        body = answer.content.decode("utf-8", "replace")
        if who != INSPECTOR:
            # The tracking answer repeats the code the caller typed; nothing else may show.
            hidden = _secrets_of(report)[0 if "track" not in path else 1 :]
            leaked = [text for text in hidden if text in body]
            if leaked:
                wrong.append(f"{label} as {who} shows {leaked}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db
@pytest.mark.parametrize("who", WHO)
def test_no_other_page_or_api_of_the_site_shows_the_report_to_anyone(
    world: dict[str, Any], who: str
) -> None:
    """Every declared page and GET API (appeals queue, audit trail, access log, KPI, search …)."""
    report: Report = world["report"]
    reported = _client(world, "reported")
    assert reported.get(f"/api/integrity/reports/{report.pk}").status_code == 404
    # The inspectors work the case, so the trail holds steps, an unsealing and a refused look.
    inspector = _client(world, INSPECTOR)
    inspector.post(
        f"/api/integrity/reports/{report.pk}/steps",
        {"action": "register"},
        content_type="application/json",
    )
    inspector.post(
        f"/api/integrity/reports/{report.pk}/unseal",
        {"reason": "核实"},
        content_type="application/json",
    )
    seqs = list(AuditEntry.objects.filter(action="integrity.sealed").values_list("seq", flat=True))
    assert seqs
    client = _client(world, who)
    hidden = _secrets_of(report)
    wrong = []
    paths = [p for name, (p, _e) in PAGES.items() if not name.startswith("integrity")]
    paths += [p for name, (p, _e) in API.items() if p and not name.startswith("api:integrity")]
    paths += [f"/workbench/audit/entries/{seq}/" for seq in seqs]
    paths += ["/api/audit/entries", "/workbench/audit/?action=integrity.sealed"]
    for template in paths:
        path = template.format(seq=seqs[-1])
        body = client.get(path).content.decode("utf-8", "replace")
        leaked = [text for text in hidden if text in body]
        if leaked:
            wrong.append(f"{path} as {who} shows {leaked}")
    assert not wrong, "\n".join(wrong)
