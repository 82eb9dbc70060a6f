"""Audit report export and verification: auditors and admins only."""

from __future__ import annotations

from tests.test_role_matrix import Expect, auditor_page

PAGES: dict[str, tuple[str, Expect]] = {
    "audit:reports": ("/workbench/audit/reports/", auditor_page),
    "audit:report_verify": ("/workbench/audit/reports/verify/", auditor_page),
}
