"""Audit report export and verification: auditors and admins. Accountability views: leaders
(their units), auditors and admins."""

from __future__ import annotations

from tests.test_role_matrix import Expect, auditor_page

ACCOUNTABILITY_READERS = {"leader", "auditor", "admin"}


def accountability_page(who: str) -> set[int]:
    if who == "anonymous":
        return {302}
    return {200} if who in ACCOUNTABILITY_READERS else {403}


PAGES: dict[str, tuple[str, Expect]] = {
    "audit:reports": ("/workbench/audit/reports/", auditor_page),
    "audit:report_verify": ("/workbench/audit/reports/verify/", auditor_page),
    "audit:accountability": ("/workbench/audit/accountability/?by=handler", accountability_page),
    "audit:accountability_records": (
        "/workbench/audit/accountability/records/?metric=reopenings",
        accountability_page,
    ),
}
