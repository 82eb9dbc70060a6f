"""Group commit of votes (exemplars/batcher.py) on PostgreSQL: same rules, same exact counts.

Votes are cast from many threads at once, as a serving process's request threads would, so
they meet in the same batches; the outcome must be what one vote at a time gives: each pair
counted once, never more picks per category than allowed, every refusal with its reason, and
the stored rows exactly the accepted votes.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from exemplars import batcher, services
from exemplars.models import Vote, VoterPicks
from exemplars.tests.conftest import origin
from minsheng.errors import Conflict

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("group commit runs on PostgreSQL only (SQLite has one writer anyway)")


@pytest.fixture
def group() -> Iterator[batcher.VoteBatcher]:
    started = batcher.start()
    yield started
    batcher.stop()


def _cast_all(campaign_id: int, attempts: list[tuple[Any, int]]) -> list[str]:
    """Cast every (voter, candidate) from its own thread, all released together."""
    gate = threading.Barrier(len(attempts))
    outcomes: list[str] = [""] * len(attempts)

    def one(index: int, voter: Any, candidate: int, campaign_id: int) -> None:
        gate.wait()
        try:
            services.cast_vote(
                voter, campaign_id, candidate, origin(ip=f"198.51.100.{index}", device=f"d{index}")
            )
            outcomes[index] = "ok"
        except Conflict as exc:
            outcomes[index] = exc.code
        finally:
            connection.close()

    threads = [
        threading.Thread(target=one, args=(i, voter, cand, campaign_id))
        for i, (voter, cand) in enumerate(attempts)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_votes_written_in_one_batch_keep_the_limits_and_count_each_pair_once(
    voting: Any, make_voter: Any, group: batcher.VoteBatcher
) -> None:
    campaign, candidates = voting  # two picks in 助人为乐 (three candidates there), one 见义勇为
    first, second, third, brave = candidates
    voters = [make_voter() for _ in range(4)]
    attempts: list[tuple[Any, int]] = []
    for voter in voters:
        # Three in a category that allows two, the same pair three times, one in the other.
        attempts += [(voter, first.pk), (voter, second.pk), (voter, third.pk)]
        attempts += [(voter, first.pk), (voter, first.pk), (voter, brave.pk)]
    outcomes = _cast_all(campaign.pk, attempts)
    tally = Counter(outcomes)
    # Per voter: two picks of 助人为乐 and 见义勇为 counted; the rest refused with a reason.
    assert tally["ok"] == 3 * len(voters)
    assert tally["ok"] + tally["already_voted"] + tally["pick_limit"] == len(attempts)
    assert tally["pick_limit"] >= len(voters)
    stored = Vote.objects.filter(campaign=campaign)
    assert stored.count() == tally["ok"]
    for voter in voters:
        mine = stored.filter(voter=voter)
        assert mine.filter(category=first.category).count() == 2
        assert mine.filter(candidate=brave).count() == 1
        picks = VoterPicks.objects.get(voter=voter, category=first.category)
        assert picks.picks == 2
    assert stored.values("voter", "candidate", "day").distinct().count() == stored.count()


def test_without_the_batcher_started_the_vote_is_written_on_its_own(
    voting: Any, make_voter: Any
) -> None:
    assert batcher.batcher() is None
    campaign, candidates = voting
    voter = make_voter()
    cast = services.cast_vote(voter, campaign.pk, candidates[0].pk, origin())
    assert Vote.objects.filter(pk=cast.vote_id).exists()
