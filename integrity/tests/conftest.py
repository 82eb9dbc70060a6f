"""Fixtures for misconduct reports: the accused, a colleague, a second inspector, a report."""

from __future__ import annotations

from typing import Any

import pytest

from integrity import services
from integrity.models import Kind, Report
from org.roles import Role
from tests.personas import OrgTree, _staff

CONTENT = "城管执法局某科长收受摊贩红包，2026年3月多次发生"


@pytest.fixture
def reported(org_tree: OrgTree) -> Any:
    """The reported person: a handler at the city management bureau."""
    return _staff("reported", "马被举", Role.HANDLER, org_tree.chengguan)


@pytest.fixture
def colleague(org_tree: OrgTree) -> Any:
    """A colleague of the reported person in the same unit."""
    return _staff("colleague", "牛同事", Role.HANDLER, org_tree.chengguan)


@pytest.fixture
def unit_inspector(org_tree: OrgTree) -> Any:
    """An inspector posted at the reported unit itself: a colleague too, so never shown it."""
    return _staff("unit_inspector", "杨驻局纪检", Role.AUDITOR, org_tree.chengguan)


@pytest.fixture
def auditor2(org_tree: OrgTree) -> Any:
    return _staff("auditor2", "钟纪检", Role.AUDITOR, org_tree.city)


def make_report(org_tree: OrgTree, reported: Any, *, named: bool = False) -> tuple[Report, str]:
    sub = services.Submission(
        kind=Kind.CORRUPTION,
        target_unit_id=org_tree.chengguan.pk,
        target_person_id=reported.pk,
        target_name="马被举",
        content=CONTENT,
        named=named,
        name="举报人甲" if named else "",
        phone="13900139000" if named else "",
        id_number="110101199001011234" if named else "",
    )
    return services.submit(None, sub)


@pytest.fixture
def report(org_tree: OrgTree, reported: Any) -> tuple[Report, str]:
    return make_report(org_tree, reported)


@pytest.fixture
def named_report(org_tree: OrgTree, reported: Any) -> tuple[Report, str]:
    return make_report(org_tree, reported, named=True)
