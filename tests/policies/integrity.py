"""Misconduct reports: the report and tracking pages are public; everything else answers 200 only
to a discipline inspector (the auditor persona, at the top unit) and 404 to everybody else,
anonymous included — never 302, 401 or 403, which would hint that something is there."""

from __future__ import annotations

from tests.test_role_matrix import Expect, public


def inspector(found: int) -> Expect:
    return lambda who: {found} if who == "auditor" else {404}


def not_found(who: str) -> set[int]:
    return {404}


PAGES: dict[str, tuple[str, Expect]] = {
    "integrity:report": ("/integrity/", public()),
    "integrity:track": ("/integrity/track/", public()),
    "integrity_wb:queue": ("/workbench/integrity/", inspector(200)),
    "integrity_wb:export": ("/workbench/integrity/export.csv", inspector(200)),
    "integrity_wb:case": ("/workbench/integrity/999999/", not_found),
    "integrity_wb:step": ("/workbench/integrity/999999/step/", not_found),
    "integrity_wb:unseal": ("/workbench/integrity/999999/unseal/", not_found),
}

API: dict[str, tuple[str | None, Expect]] = {
    "api:integrity_submit": (None, public(201)),  # POST only
    "api:integrity_track": (None, public(404)),  # POST only
    "api:integrity_queue": ("/api/integrity/reports", inspector(200)),
    "api:integrity_detail": ("/api/integrity/reports/999999", not_found),
    "api:integrity_step": (None, not_found),  # POST only
    "api:integrity_unseal": (None, not_found),  # POST only
}
