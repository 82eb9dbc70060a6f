"""Simultaneous submits: the database's unique constraint, not a prior read, decides."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from minsheng.errors import Conflict
from surveys import services
from surveys.models import Questionnaire, Response
from surveys.tests.conftest import build_questionnaire


def _at_once(count: int, work: Any) -> list[str]:
    barrier = threading.Barrier(count)
    outcomes: list[str] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(work(index))
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submits_of_one_citizen_count_once(
    organiser: Any, org_tree: Any, citizen: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row-level concurrency needs PostgreSQL (SQLite serialises every writer)")
    built = build_questionnaire(organiser, org_tree.community)

    def submit(_index: int) -> str:
        q = Questionnaire.objects.get(pk=built.q.pk)
        services.submit(q, citizen, built.answers())
        return "counted"

    assert _at_once(2, submit) == ["already_responded", "counted"]
    assert Response.objects.filter(respondent=citizen).count() == 1
    assert services.results(built.q)["responses"] == 1
    assert services.tallies(built.q) == services.direct_counts(built.q)


@pytest.mark.django_db(transaction=True)
def test_many_simultaneous_anonymous_submits_keep_counters_exact(
    organiser: Any, org_tree: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row-level concurrency needs PostgreSQL (SQLite serialises every writer)")
    built = build_questionnaire(organiser, org_tree.community)
    rounds = 8

    def submit(index: int) -> str:
        q = Questionnaire.objects.get(pk=built.q.pk)
        for n in range(rounds):
            answers = built.answers(**{built.rating.key: (index + n) % 5 + 1})
            services.submit(q, None, answers, idempotency_key=f"{index}-{n}")
        return "done"

    assert _at_once(6, submit) == ["done"] * 6
    assert Response.objects.filter(questionnaire=built.q).count() == 6 * rounds
    assert services.tallies(built.q) == services.direct_counts(built.q)
