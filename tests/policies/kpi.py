"""KPI pages, exports and API: leaders, analysts, auditors and admins; transparency: everyone."""

from __future__ import annotations

from tests.test_role_matrix import Expect, public

KPI_READERS = {"leader", "analyst", "auditor", "admin"}


def kpi_page(who: str) -> set[int]:
    if who == "anonymous":
        return {302}
    return {200} if who in KPI_READERS else {403}


def kpi_api(who: str) -> set[int]:
    if who == "anonymous":
        return {401}
    return {200} if who in KPI_READERS else {403}


PAGES: dict[str, tuple[str, Expect]] = {
    "kpi:dashboard": ("/workbench/kpi/", kpi_page),
    "kpi:export_csv": ("/workbench/kpi/export.csv?by=category", kpi_page),
    "kpi:export_xlsx": ("/workbench/kpi/export.xlsx?period=quarter", kpi_page),
    "transparency:index": ("/transparency/", public()),
    "transparency:unit": ("/transparency/test-city/", public()),
}

API: dict[str, tuple[str | None, Expect]] = {
    "api:kpi_table": ("/api/kpi/table?by=unit&period=week", kpi_api),
}
