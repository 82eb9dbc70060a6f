"""The demo questionnaire loads once, with responses and themes, and counts add up."""

from __future__ import annotations

from typing import Any

import pytest

from surveys import demo_data, services
from surveys.models import Questionnaire, State, Theme

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_city(db: Any) -> None:
    from org.demo import load

    load()


def test_the_demo_questionnaire_loads_once_with_responses_and_themes(demo_city: None) -> None:
    assert demo_data.load() == 0  # minsheng demo already ran it
    q = Questionnaire.objects.get(title=demo_data.TITLE)
    assert q.state == State.PUBLISHED and q.results_public
    results = services.results(q)
    assert results["responses"] == len(demo_data.IDEAS)
    assert services.tallies(q) == services.direct_counts(q)
    assert Theme.objects.filter(questionnaire=q, superseded=False).exists()
    assert {u.username for u in services.participants(q)} == {"citizen", "citizen2"}
