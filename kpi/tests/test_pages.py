"""The KPI page, its exports, the API and the public transparency pages."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from audit.models import AuditEntry
from kpi import metrics, rollup
from kpi.tests.conftest import ADDRESS, NAME, PHONE, Scenario
from org import services as org_services
from org.roles import Role
from tests.personas import make_user

pytestmark = pytest.mark.django_db
NOV = "period=month&date=2025-11-15"


@pytest.fixture
def district_leader(org_tree: Any) -> Any:
    user = make_user("district_leader", "区长")
    org_services.grant_role(None, user, Role.LEADER, org_tree.district)
    return user


def _personal(text: str, scenario: Scenario) -> list[str]:
    found = [s for s in (PHONE, PHONE[-4:], NAME, ADDRESS, "东华路", "摊贩") if s in text]
    for appeal in (scenario.a, scenario.b, scenario.p):
        if appeal.code in text:
            found.append(appeal.code)
    return found


def test_a_leader_sees_the_units_ranked_with_charts_and_the_counts_behind_each_rate(
    scenario: Scenario, leader: Any, client_for: Any
) -> None:
    rollup.run()
    page = client_for(leader).get(f"/workbench/kpi/?{NOV}&sort=response_rate")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<svg") == 2  # the trend and the ranking
    assert "测试市城市管理综合执法局" in html
    assert "33.3%" in html  # 城管's response rate: 1 of 3
    assert "n=3" in html
    assert "<script" not in html


def test_drilling_into_a_unit_lists_its_sub_units(
    scenario: Scenario, leader: Any, client_for: Any
) -> None:
    rollup.run()
    html = client_for(leader).get(f"/workbench/kpi/?{NOV}&unit=test-district").content.decode()
    assert "东华街道" in html


def test_a_district_leader_sees_only_the_district_and_cannot_ask_for_another_unit(
    scenario: Scenario, district_leader: Any, client_for: Any
) -> None:
    rollup.run()
    client = client_for(district_leader)
    html = client.get(f"/workbench/kpi/?{NOV}").content.decode()
    assert "东华街道" in html
    assert "测试市城市管理综合执法局" not in html
    refused = client.get(f"/workbench/kpi/?{NOV}&unit=test-chengguan")
    assert refused.status_code == 400
    assert "test-chengguan" in refused.content.decode()
    api = client.get("/api/kpi/table?period=month&date=2025-11-15&by=category").json()
    assert api["total"]["dispatched"] == 1  # only i, sent to the street


def test_people_without_a_kpi_role_are_refused(
    scenario: Scenario, handler: Any, dispatcher: Any, client_for: Any
) -> None:
    for person in (handler, dispatcher):
        assert client_for(person).get("/workbench/kpi/").status_code == 403
        assert client_for(person).get("/api/kpi/table").status_code == 403


def test_the_csv_export_parses_matches_the_table_is_audited_and_holds_no_personal_data(
    scenario: Scenario, leader: Any, client_for: Any
) -> None:
    rollup.run()
    response = client_for(leader).get(f"/workbench/kpi/export.csv?{NOV}&by=unit")
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.csv"')
    text = response.content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    header, rows = lines[0], {line[1]: line for line in lines[1:]}
    assert header[:3] == ["分组", "编码", "受理量"]
    chengguan = dict(zip(header, rows["test-chengguan"], strict=True))
    assert chengguan["派单量"] == "5"
    assert float(chengguan["响应率"]) == pytest.approx(0.3333)
    assert lines[-1][0] == "合计"
    assert not _personal(text, scenario)
    entry = AuditEntry.objects.filter(action="kpi.export").latest("seq")
    assert entry.actor_id == leader.pk
    assert entry.after is not None and entry.after["format"] == "csv"


def test_the_xlsx_export_opens_with_openpyxl_and_keeps_rates_as_numbers(
    scenario: Scenario, analyst: Any, client_for: Any
) -> None:
    rollup.run()
    response = client_for(analyst).get(f"/workbench/kpi/export.xlsx?{NOV}&by=category")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book["KPI"]
    values = list(sheet.iter_rows(values_only=True))
    header = list(values[0])
    total = dict(zip(header, values[-1], strict=True))
    assert total["分组"] == "合计"
    assert total["满意率"] == pytest.approx(0.6)
    assert total["回访次数"] == 5
    everything = " ".join(str(v) for row in values for v in row if v is not None)
    assert not _personal(everything, scenario)
    assert AuditEntry.objects.filter(action="kpi.export", after__format="xlsx").exists()


def test_bad_filters_answer_a_clear_4xx(leader: Any, client_for: Any) -> None:
    client = client_for(leader)
    page = client.get("/workbench/kpi/?period=custom&start=2025-11-30&end=2025-11-01")
    assert page.status_code == 400
    assert "结束日期不能早于开始日期" in page.content.decode()
    assert client.get("/workbench/kpi/export.csv?by=nonsense").status_code == 400
    api = client.get("/api/kpi/table?by=nonsense")
    assert api.status_code == 422
    assert api.json()["code"] == "validation_error"
    assert api.json()["detail"][0]["field"] == "by"


def test_the_api_answers_the_same_table_as_the_page(
    scenario: Scenario, auditor: Any, client_for: Any
) -> None:
    rollup.run()
    body = client_for(auditor).get(f"/api/kpi/table?{NOV}&by=unit&sort=dispatched").json()
    expected = metrics.table(
        by="unit", start=metrics.dt.date(2025, 11, 1), end=metrics.dt.date(2025, 11, 30)
    )
    assert body["total"]["satisfaction_rate"] == pytest.approx(
        expected.total.rate("satisfaction_rate")
    )
    assert body["rows"][0]["code"] == "test-chengguan"  # most dispatches first
    assert {c["name"] for c in body["columns"]} >= {"response_rate", "reopen_rate"}


def test_the_transparency_page_shows_only_suppressed_aggregates(
    scenario: Scenario, client: Any
) -> None:
    rollup.run()
    response = client.get("/transparency/test-city/?month=2025-11")
    assert response.status_code == 200
    html = response.content.decode()
    assert "2025-11" in html
    # 物业管理 had one appeal: a count below 5 is published as "<5".
    assert '<td data-label="受理量">&lt;5</td>' in html
    assert '<td data-label="受理量">8</td>' in html  # 占道经营
    assert not _personal(html, scenario)
    assert "张" not in html
    chengguan = client.get("/transparency/test-chengguan/?month=2025-11").content.decode()
    # 城管 had 4 callbacks in November (3 positive): below 5, so no rate is published.
    assert '<td data-label="满意率">—</td>' in chengguan
    assert "75.0%" not in chengguan
    assert not _personal(chengguan, scenario)


def test_the_transparency_index_links_every_public_unit_and_unknown_units_are_404(
    org_tree: Any, client: Any
) -> None:
    html = client.get("/transparency/").content.decode()
    assert "/transparency/test-chengguan/" in html
    assert client.get("/transparency/no-such-unit/").status_code == 404
    assert client.get("/transparency/test-city/?month=11-2025").status_code == 400
