"""The grassroots part of the demo city: households, a visit, a party branch, a published case."""

from __future__ import annotations

from typing import Any

import pytest

from grassroots import demo_data
from grassroots.models import CaseState, Household, TypicalCase, Visit
from org import demo


@pytest.mark.django_db
def test_the_demo_has_households_a_visit_and_a_published_case_and_loads_once(
    settings: Any, tmp_path: Any
) -> None:
    settings.SMS_OUTBOX_DIR = tmp_path
    demo.load()
    assert Household.objects.filter(grid__code=demo_data.GRID).count() == len(demo_data.HOUSEHOLDS)
    visit = Visit.objects.get()
    assert visit.organisation is not None and visit.organisation.code == demo_data.BRANCH
    case = TypicalCase.objects.get()
    assert case.state == CaseState.PUBLISHED and case.lesson == demo_data.CASE_LESSON
    assert demo_data.load() == 0
    assert Visit.objects.count() == 1 and TypicalCase.objects.count() == 1
