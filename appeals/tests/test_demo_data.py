"""The appeals part of the demo city: every stage present, templates per category, idempotent."""

from __future__ import annotations

import pytest

from appeals import demo_data
from appeals.models import Appeal, ReplyTemplate, State
from org import demo


@pytest.mark.django_db
def test_the_demo_city_has_appeals_in_every_stage_and_a_second_load_writes_nothing(
    settings, tmp_path
):
    settings.SMS_OUTBOX_DIR = tmp_path
    demo.load()
    demo_appeals = Appeal.objects.filter(external_ref__startswith="demo-")
    assert demo_appeals.count() == len(demo_data.DEMO)
    states = set(demo_appeals.values_list("state", flat=True))
    assert {State.RECEIVED, State.DISPATCHED, State.REPLIED, State.CLOSED, State.REOPENED} <= states
    flagged = demo_appeals.get(external_ref="demo-02")
    assert flagged.duplicate_of is not None and flagged.duplicate_of.external_ref == "demo-01"
    assert ReplyTemplate.objects.filter(category__isnull=False).count() >= 10
    assert demo_data.load() == 0
    assert Appeal.objects.filter(external_ref__startswith="demo-").count() == len(demo_data.DEMO)
