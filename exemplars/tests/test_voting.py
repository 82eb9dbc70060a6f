"""The vote: counted once, refused clearly outside the window, over the limit, or too fast."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from exemplars import services
from exemplars.models import Vote, VoterPicks
from exemplars.tests.conftest import new_campaign, origin, to_voting
from minsheng.errors import Conflict, Forbidden, RateLimited, ServiceError

pytestmark = pytest.mark.django_db


def _post(client: Any, campaign_id: int, candidate_id: int, **headers: Any) -> Any:
    return client.post(
        f"/api/exemplars/campaigns/{campaign_id}/votes",
        data=json.dumps({"candidate": candidate_id}),
        content_type="application/json",
        **headers,
    )


def test_a_verified_citizen_votes_through_the_api_and_the_tally_counts_it(
    voting: Any, citizen: Any, client_for: Any
) -> None:
    campaign, candidates = voting
    response = _post(client_for(citizen), campaign.pk, candidates[0].pk)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["candidate"] == candidates[0].pk
    assert body["picks_used"] == 1 and body["picks_allowed"] == 2
    assert services.tallies(campaign)[candidates[0].pk].valid == 1


def test_a_second_vote_for_the_same_candidate_on_the_same_day_is_a_clear_409(
    voting: Any, citizen: Any, client_for: Any
) -> None:
    campaign, candidates = voting
    client = client_for(citizen)
    assert _post(client, campaign.pk, candidates[0].pk).status_code == 201
    again = _post(client, campaign.pk, candidates[0].pk)
    assert again.status_code == 409
    assert again.json()["code"] == "already_voted"
    assert "今天已经" in again.json()["message"]
    assert Vote.objects.filter(candidate=candidates[0]).count() == 1


def test_the_next_day_the_same_voter_may_vote_for_the_same_candidate_again(
    voting: Any, citizen: Any
) -> None:
    campaign, candidates = voting
    now = timezone.now()
    services.cast_vote(citizen, campaign.pk, candidates[0].pk, origin(), now=now)
    services.cast_vote(
        citizen, campaign.pk, candidates[0].pk, origin(), now=now + dt.timedelta(days=1)
    )
    assert services.tallies(campaign)[candidates[0].pk].valid == 2


def test_a_campaign_that_allows_one_vote_per_candidate_refuses_it_on_another_day(
    organiser: Any, citizen: Any
) -> None:
    campaign = new_campaign(organiser, vote_period="campaign")
    [candidate] = to_voting(organiser, campaign, [("李好人", 0)], citizen)
    now = timezone.now()
    services.cast_vote(citizen, campaign.pk, candidate.pk, origin(), now=now)
    with pytest.raises(Conflict) as caught:
        services.cast_vote(
            citizen, campaign.pk, candidate.pk, origin(), now=now + dt.timedelta(days=2)
        )
    assert caught.value.code == "already_voted"


def test_a_vote_outside_the_voting_window_is_refused(
    voting: Any, citizen: Any, client_for: Any
) -> None:
    campaign, candidates = voting
    with pytest.raises(Conflict) as caught:
        services.cast_vote(
            citizen, campaign.pk, candidates[0].pk, origin(), now=campaign.voting_closes
        )
    assert caught.value.code == "voting_closed"
    with pytest.raises(Conflict):
        services.cast_vote(
            citizen,
            campaign.pk,
            candidates[0].pk,
            origin(),
            now=campaign.voting_opens - dt.timedelta(seconds=1),
        )
    assert not Vote.objects.exists()


def test_a_vote_before_the_voting_phase_is_refused_through_the_api(
    organiser: Any, citizen: Any, client_for: Any
) -> None:
    campaign = new_campaign(organiser)
    services.advance_phase(organiser, campaign)
    response = _post(client_for(citizen), campaign.pk, 1)
    assert response.status_code == 409
    assert response.json()["code"] == "voting_closed"


def test_a_pick_over_the_category_limit_is_refused_and_nothing_is_stored(
    voting: Any, citizen: Any, client_for: Any
) -> None:
    campaign, candidates = voting
    client = client_for(citizen)
    assert _post(client, campaign.pk, candidates[0].pk).status_code == 201
    assert _post(client, campaign.pk, candidates[1].pk).status_code == 201
    third = _post(client, campaign.pk, candidates[2].pk)
    assert third.status_code == 409
    assert third.json()["code"] == "pick_limit"
    assert "最多可以支持 2 位" in third.json()["message"]
    assert not Vote.objects.filter(candidate=candidates[2]).exists()
    # The other category has its own limit.
    assert _post(client, campaign.pk, candidates[3].pk).status_code == 201
    assert VoterPicks.objects.get(voter=citizen, category=candidates[0].category).picks == 2


def test_staff_accounts_and_anonymous_callers_cannot_vote(
    voting: Any, organiser: Any, client_for: Any, client: Any
) -> None:
    campaign, candidates = voting
    staff = _post(client_for(organiser), campaign.pk, candidates[0].pk)
    assert staff.status_code == 403 and staff.json()["code"] == "not_verified"
    assert _post(client, campaign.pk, candidates[0].pk).status_code == 401


def test_an_unknown_or_declined_candidate_is_404(
    voting: Any, citizen: Any, client_for: Any
) -> None:
    campaign, _ = voting
    response = _post(client_for(citizen), campaign.pk, 987654)
    assert response.status_code == 404


def test_a_real_name_campaign_refuses_a_voter_without_a_registered_name(
    organiser: Any, citizen: Any, make_voter: Any
) -> None:
    campaign = new_campaign(organiser, require_real_name=True)
    [candidate] = to_voting(organiser, campaign, [("李好人", 0)], citizen)
    nameless = make_voter(display_name="")
    with pytest.raises(Forbidden) as caught:
        services.cast_vote(nameless, campaign.pk, candidate.pk, origin())
    assert caught.value.code == "real_name_required"
    services.cast_vote(citizen, campaign.pk, candidate.pk, origin())


def test_votes_from_one_address_beyond_the_campaigns_limit_get_429(
    organiser: Any, citizen: Any, make_voter: Any
) -> None:
    campaign = new_campaign(organiser, picks_per_category=5)
    campaign.ip_per_minute = 3
    campaign.save(update_fields=["ip_per_minute"])
    [candidate] = to_voting(organiser, campaign, [("李好人", 0)], citizen)
    now = timezone.now().replace(second=5)
    for _ in range(3):
        services.cast_vote(make_voter(), campaign.pk, candidate.pk, origin(device=""), now=now)
    with pytest.raises(RateLimited) as caught:
        services.cast_vote(make_voter(), campaign.pk, candidate.pk, origin(device=""), now=now)
    assert caught.value.retry_after == 55
    # Another address is not held back.
    services.cast_vote(make_voter(), campaign.pk, candidate.pk, origin(ip="198.51.100.9"), now=now)


def test_one_device_voting_for_many_accounts_is_held_back(
    organiser: Any, citizen: Any, make_voter: Any
) -> None:
    campaign = new_campaign(organiser)
    campaign.device_per_minute = 2
    campaign.save(update_fields=["device_per_minute"])
    [candidate] = to_voting(organiser, campaign, [("李好人", 0)], citizen)
    now = timezone.now().replace(second=1)
    for i in range(2):
        services.cast_vote(
            make_voter(), campaign.pk, candidate.pk, origin(ip=f"10.0.{i}.1"), now=now
        )
    with pytest.raises(RateLimited):
        services.cast_vote(make_voter(), campaign.pk, candidate.pk, origin(ip="10.0.9.1"), now=now)


def test_the_api_answers_429_with_retry_after(voting: Any, citizen: Any, client_for: Any) -> None:
    campaign, candidates = voting
    campaign.voter_per_minute = 1
    campaign.save(update_fields=["voter_per_minute"])
    services.forget_rules()
    client = client_for(citizen)
    assert _post(client, campaign.pk, candidates[0].pk).status_code == 201
    response = _post(client, campaign.pk, candidates[1].pk)
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1


def test_the_stored_vote_keeps_hashes_not_the_address(voting: Any, citizen: Any) -> None:
    campaign, candidates = voting
    services.cast_vote(citizen, campaign.pk, candidates[0].pk, origin(ip="203.0.113.7"))
    vote = Vote.objects.get()
    assert "203.0.113" not in f"{vote.ip_hash}{vote.subnet_hash}{vote.device_hash}"
    assert vote.ip_hash == services.keyed_hash("ip", "203.0.113.7")
    assert vote.subnet_hash == services.keyed_hash("subnet", "203.0.113.0/24")


@pytest.mark.django_db(transaction=True)
def test_a_second_vote_racing_the_first_counts_once_and_the_other_gets_409(
    organiser: Any, citizen: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("a real race needs concurrent writers: runs in the PostgreSQL pass of CI")
    campaign = new_campaign(organiser, picks_per_category=1)
    cands = to_voting(organiser, campaign, [("李好人", 0), ("王热心", 0)], citizen)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def race(candidate_id: int) -> None:
        try:
            barrier.wait()
            services.cast_vote(citizen, campaign.pk, candidate_id, origin())
            outcomes.append("ok")
        except ServiceError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    # Four racers for the same candidate, four for the other: the pick limit is 1.
    threads = [threading.Thread(target=race, args=(cands[i % 2].pk,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) - {"ok"} <= {"already_voted", "pick_limit"}
    assert Vote.objects.filter(campaign=campaign).count() == 1
    assert VoterPicks.objects.get(voter=citizen).picks == 1


@pytest.mark.django_db(transaction=True)
def test_the_one_statement_vote_refuses_twice_and_over_the_limit_without_keeping_a_pick(
    organiser: Any, citizen: Any
) -> None:
    """Outside a transaction PostgreSQL counts a vote in one statement; SQLite in two."""
    campaign = new_campaign(organiser, picks_per_category=1)
    first, second = to_voting(organiser, campaign, [("李好人", 0), ("王热心", 0)], citizen)
    cast = services.cast_vote(citizen, campaign.pk, first.pk, origin())
    assert (cast.picks_used, cast.picks_allowed) == (1, 1)
    with pytest.raises(Conflict) as twice:
        services.cast_vote(citizen, campaign.pk, first.pk, origin())
    assert twice.value.code == "already_voted"
    with pytest.raises(Conflict) as over:
        services.cast_vote(citizen, campaign.pk, second.pk, origin())
    assert over.value.code == "pick_limit"
    assert Vote.objects.filter(campaign=campaign).count() == 1
    assert VoterPicks.objects.get(voter=citizen).picks == 1
