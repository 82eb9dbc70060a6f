"""Two dispatchers at once on PostgreSQL: the conditional UPDATE lets exactly one win."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from appeals import services
from appeals.models import Appeal, Dispatch, State


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_dispatch_an_appeal_only_once(appeal, dispatcher, org_tree):
    if connection.vendor != "postgresql":
        pytest.skip("row-level concurrency needs PostgreSQL (SQLite serialises every writer)")
    services.do_register(appeal, dispatcher)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def dispatch_to(unit: Any) -> None:
        try:
            copy = Appeal.objects.select_related("intake_unit").get(pk=appeal.pk)
            barrier.wait(timeout=10)
            services.do_dispatch(copy, unit, dispatcher)
            outcomes.append("won")
        except services.InvalidTransition:
            outcomes.append("lost")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=dispatch_to, args=(unit,))
        for unit in (org_tree.chengguan, org_tree.zhujian)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["lost", "won"]
    assert Dispatch.objects.filter(appeal=appeal).count() == 1
    assert Appeal.objects.get(pk=appeal.pk).state == State.DISPATCHED
