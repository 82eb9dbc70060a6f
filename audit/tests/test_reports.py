"""Verifiable audit reports: export a slice of the trail, prove it later, catch any tampering."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

from audit import reports
from audit.models import AuditEntry
from audit.services import head, record
from minsheng.errors import ServiceError

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(org_tree: Any, handler: Any, other_handler: Any, auditor: Any) -> dict[str, Any]:
    """Some work by the 城管 handler, some by the 住建 one, a few steps on the 城管 unit."""
    unit = org_tree.chengguan
    for n in range(3):
        record(handler, "test.reply", unit, after={"n": n, "text": f"答复{n}"}, reason="=SUM(A1)")
    record(other_handler, "test.reply", org_tree.zhujian, after={"n": 9})
    record(None, "test.rename", unit, before={"name": "旧"}, after={"name": "新"})
    return {"unit": unit, "handler": handler, "auditor": auditor}


def export(auditor: Any, kind: str, value: str, fmt: str) -> bytes:
    scope = reports.resolve_scope(kind, value)
    return reports.build_report(auditor, scope, fmt=fmt).render(fmt)


def xlsx_edit(data: bytes, seq: int, column: str, value: str | None) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    sheet = wb[reports.ENTRIES_SHEET]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if row[0].value == str(seq):
            if value is None:
                sheet.delete_rows(row[0].row)
            else:
                row[header.index(column)].value = value
            break
    else:
        raise AssertionError(f"seq {seq} not in the report")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["xlsx", "html"])
def test_a_fresh_report_of_a_persons_actions_verifies(story: dict[str, Any], fmt: str) -> None:
    data = export(story["auditor"], "actor", "handler", fmt)
    result = reports.verify_report(data, f"r.{fmt}")
    assert result.ok, result.summary()
    assert result.entry_count == 3
    report = reports.read_report(data)
    assert report.meta["head_hash"] == AuditEntry.objects.get(seq=result.head_seq).hash
    assert all(len(r["hash"]) == 64 for r in report.rows)


def test_the_export_itself_is_recorded_in_the_trail(story: dict[str, Any]) -> None:
    data = export(story["auditor"], "unit", "test-chengguan", "xlsx")
    report = reports.read_report(data)
    entry = AuditEntry.objects.get(seq=int(report.meta["export_seq"]))
    assert entry.action == reports.EXPORT_ACTION
    assert entry.actor == story["auditor"]
    assert (entry.after or {})["head_seq"] == report.meta["head_seq"]
    assert head()[0] == entry.seq


def test_a_unit_report_covers_its_staff_and_the_unit_but_not_other_units(
    story: dict[str, Any],
) -> None:
    report = reports.read_report(export(story["auditor"], "unit", "test-chengguan", "html"))
    actions = sorted(r["action"] for r in report.rows)
    assert actions.count("test.reply") == 3
    assert "test.rename" in actions
    assert all(r["object_id"] != str(story["unit"].pk + 999) for r in report.rows)
    assert not any(r["after"] == '{"n":9}' for r in report.rows)


def test_an_edited_cell_in_the_xlsx_is_named_with_trail_and_report_values(
    story: dict[str, Any],
) -> None:
    data = export(story["auditor"], "actor", "handler", "xlsx")
    seq = int(reports.read_report(data).rows[1]["seq"])
    tampered = xlsx_edit(data, seq, "reason", "正常处理")
    result = reports.verify_report(tampered, "r.xlsx")
    assert not result.ok
    [diff] = result.differences
    assert (diff.seq, diff.field, diff.expected, diff.found) == (
        seq,
        "reason",
        "=SUM(A1)",
        "正常处理",
    )
    assert f"seq {seq} · reason" in result.summary()


def test_an_edited_cell_in_the_html_is_named(story: dict[str, Any]) -> None:
    data = export(story["auditor"], "object", f"org.unit:{story['unit'].pk}", "html")
    text = data.decode()
    assert "&quot;name&quot;:&quot;新&quot;" in text
    tampered = text.replace("&quot;name&quot;:&quot;新&quot;", "&quot;name&quot;:&quot;改&quot;")
    result = reports.verify_report(tampered.encode(), "r.html")
    fields = {(d.field, d.found) for d in result.differences}
    assert ("after", '{"name":"改"}') in fields


def test_an_entry_removed_from_the_report_is_detected(story: dict[str, Any]) -> None:
    data = export(story["auditor"], "actor", "handler", "xlsx")
    seq = int(reports.read_report(data).rows[0]["seq"])
    result = reports.verify_report(xlsx_edit(data, seq, "", None), "r.xlsx")
    kinds = {(d.seq, d.field) for d in result.differences}
    assert (seq, "entry") in kinds  # left out of a scope that includes it
    assert any(d.field == "rows_digest" for d in result.differences)


def test_a_rewritten_head_in_the_report_is_detected(story: dict[str, Any]) -> None:
    data = export(story["auditor"], "actor", "handler", "html")
    report = reports.read_report(data)
    old = report.meta["head_hash"]
    result = reports.verify_report(data.decode().replace(old, "f" * 64).encode(), "r.html")
    assert any(d.field == "head_hash" for d in result.differences)


def test_the_cli_exports_and_verifies_and_names_a_difference(
    story: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "r.xlsx"
    call_command("audit", "report", "--actor", "handler", "--by", "auditor", "-o", str(path))
    out = io.StringIO()
    call_command("audit", "verify-report", str(path), stdout=out)
    assert out.getvalue().startswith("OK: 3 entries")
    seq = int(reports.read_report(path.read_bytes()).rows[0]["seq"])
    path.write_bytes(xlsx_edit(path.read_bytes(), seq, "action", "test.nothing"))
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit", "verify-report", str(path), stdout=out)
    assert exit_info.value.code == 1
    assert f"seq {seq} · action" in out.getvalue()


def test_a_file_that_is_not_a_report_is_refused_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "x.html"
    path.write_text("<html><body>hello</body></html>")
    with pytest.raises(CommandError, match="审计报告"):
        call_command("audit", "verify-report", str(path))


def test_an_unknown_person_or_unit_is_refused(db: Any) -> None:
    with pytest.raises(ServiceError, match="nobody"):
        reports.resolve_scope("actor", "nobody")
    with pytest.raises(ServiceError):
        reports.resolve_scope("unit", "no-such-unit")
    with pytest.raises(ServiceError):
        reports.resolve_scope("object", "appeals.appeal")


def test_an_auditor_downloads_a_report_from_the_workbench_and_checks_it_there(
    story: dict[str, Any], client_for: Any
) -> None:
    client = client_for(story["auditor"])
    response = client.post(
        "/workbench/audit/reports/", {"kind": "actor", "value": "handler", "fmt": "xlsx"}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="audit-report-actor')
    data = response.content
    page = client.post(
        "/workbench/audit/reports/verify/",
        {"file": SimpleUploadedFile("r.xlsx", data)},
    )
    assert page.status_code == 200
    assert "核对通过" in page.content.decode()
    seq = int(reports.read_report(data).rows[0]["seq"])
    tampered = xlsx_edit(data, seq, "object_repr", "别的对象")
    page = client.post(
        "/workbench/audit/reports/verify/", {"file": SimpleUploadedFile("r.xlsx", tampered)}
    )
    html = page.content.decode()
    assert f"#{seq}" in html and "object_repr" in html and "别的对象" in html


def test_the_workbench_refuses_an_unknown_person_with_a_message(
    story: dict[str, Any], client_for: Any
) -> None:
    response = client_for(story["auditor"]).post(
        "/workbench/audit/reports/", {"kind": "actor", "value": "ghost", "fmt": "html"}
    )
    assert response.status_code == 400
    assert "ghost" in response.content.decode()


def test_a_handler_cannot_export_audit_reports(story: dict[str, Any], client_for: Any) -> None:
    response = client_for(story["handler"]).post(
        "/workbench/audit/reports/", {"kind": "actor", "value": "handler", "fmt": "xlsx"}
    )
    assert response.status_code == 403


def _settings_with(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import minsheng.settings as s; print(s.AUDIT_RETENTION_DAYS)"],
        env={**os.environ, "MINSHENG_ENV": "development", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_audit_retention_is_six_months_by_default_and_can_only_be_raised() -> None:
    default = _settings_with({"MINSHENG_AUDIT_RETENTION_DAYS": ""})
    assert default.returncode == 0, default.stderr
    assert default.stdout.strip() == "183"
    longer = _settings_with({"MINSHENG_AUDIT_RETENTION_DAYS": "400"})
    assert longer.stdout.strip() == "400"
    shorter = _settings_with({"MINSHENG_AUDIT_RETENTION_DAYS": "30"})
    assert shorter.returncode != 0
    assert "ConfigError" in shorter.stderr and "at least 183 days" in shorter.stderr


def test_a_row_cut_out_of_the_html_is_named_as_left_out(story: dict[str, Any]) -> None:
    text = export(story["auditor"], "actor", "handler", "html").decode()
    seq = int(reports.read_report(text.encode()).rows[-1]["seq"])
    start = text.index(f'<tr data-seq="{seq}">')
    end = text.index("</tr>", start) + len("</tr>")
    result = reports.verify_report((text[:start] + text[end:]).encode(), "r.html")
    assert [(d.seq, d.field) for d in result.differences if d.field == "entry"] == [(seq, "entry")]
    assert result.entry_count == 2
