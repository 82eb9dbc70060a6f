"""Anti-刷票: the detector's rules on tables of votes; flags, voiding with a reason, tallies."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from exemplars import detect, services
from exemplars.detect import Row, find_clusters
from exemplars.models import Flag, FlagStatus, Vote
from exemplars.tests.conftest import origin
from minsheng.errors import Conflict, Forbidden, ServiceError

DAY = 1_780_000_000.0
OLD = DAY - 90 * 86400


def rows_honest(n: int = 200) -> list[Row]:
    """People arriving at random over a day, each on their own network and phone."""
    import random

    rng = random.Random(1)
    out = []
    for i in range(n):
        at = DAY + rng.uniform(0, 86400)
        out.append(Row(i, rng.randrange(6), i, at, f"ip{i}", f"net{i}", f"dev{i}", OLD, "d"))
    return out


def kinds(rows: list[Row]) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for cluster in find_clusters(rows):
        found.setdefault(cluster.kind, set()).update(cluster.votes)
    return found


def test_honest_votes_arriving_at_random_raise_no_flag() -> None:
    assert kinds(rows_honest()) == {}


def test_one_device_behind_many_accounts_is_flagged() -> None:
    rows = rows_honest()
    farm = [
        Row(1000 + i, 1, 1000 + i, DAY + 300 * i, f"p{i}", f"pn{i}", "farm", DAY - 3600, "d")
        for i in range(5)
    ]
    assert kinds(rows + farm)["device_shared"] == {r.id for r in farm}


def test_three_accounts_sharing_a_family_phone_are_not_flagged() -> None:
    family = [
        Row(2000 + i, 2, 2000 + i, DAY + 60 * i, "home", "homenet", "phone", OLD, "d")
        for i in range(3)
    ]
    assert "device_shared" not in kinds(rows_honest() + family)


def test_a_scripted_run_of_fresh_accounts_from_one_subnet_is_flagged_as_cluster_and_burst() -> None:
    burst = [
        Row(
            3000 + i,
            4,
            3000 + i,
            DAY + 36000 + 1.2 * i,
            f"a{i % 4}",
            "badnet",
            f"d{i % 4}x",
            DAY + 30000,
            "d",
        )
        for i in range(60)
    ]
    found = kinds(rows_honest() + burst)
    assert found["subnet_cluster"] == {r.id for r in burst}
    assert {r.id for r in burst} <= found["burst"] | found["subnet_cluster"]
    assert found["burst"] <= {r.id for r in burst}


def test_an_office_voting_for_a_colleague_over_lunch_is_not_flagged() -> None:
    office = [
        Row(4000 + i, 3, 4000 + i, DAY + 43200 + 240 * i, "office", "officenet", f"od{i}", OLD, "d")
        for i in range(15)
    ]
    assert kinds(rows_honest() + office) == {}


def test_fresh_accounts_on_one_network_picking_the_same_set_are_a_pattern() -> None:
    same = []
    for v in range(8):
        for k, cand in enumerate((1, 4)):
            same.append(
                Row(
                    5000 + 2 * v + k,
                    cand,
                    5000 + v,
                    DAY + 3600 * v + k,
                    f"n{v}",
                    "campus",
                    f"s{v}",
                    DAY - 600,
                    "d",
                )
            )
    assert kinds(rows_honest() + same)["pattern"] == {r.id for r in same}


def test_a_swarm_of_fresh_accounts_over_many_networks_is_flagged() -> None:
    swarm = [
        Row(
            6000 + i,
            5,
            6000 + i,
            DAY + 70000 + 15 * i,
            f"x{i}",
            f"xn{i}",
            f"xd{i}",
            DAY + 60000,
            "d",
        )
        for i in range(40)
    ]
    assert kinds(rows_honest() + swarm)["fresh_swarm"] == {r.id for r in swarm}


pytestmark = pytest.mark.django_db


def _stuff(campaign: Any, candidate: Any, make_voter: Any, n: int = 6) -> list[int]:
    """n fresh accounts voting from one phone (signed cookie) through different addresses."""
    now = timezone.now()
    ids = []
    for i in range(n):
        voter = make_voter()
        cast = services.cast_vote(
            voter, campaign.pk, candidate.pk, origin(ip=f"198.51.{i}.7", device="farm"), now=now
        )
        ids.append(cast.vote_id)
    return ids


def test_the_detector_flags_stored_votes_and_a_rerun_adds_nothing(
    voting: Any, make_voter: Any
) -> None:
    campaign, candidates = voting
    ids = _stuff(campaign, candidates[0], make_voter)
    summary = detect.run_detection(campaign)
    assert summary.flags_new >= 1 and summary.votes_flagged == len(ids)
    flag = Flag.objects.get(campaign=campaign, kind="device_shared")
    assert set(flag.votes.values_list("id", flat=True)) == set(ids)
    assert flag.reasons[0]["voters"] == 6
    again = detect.run_detection(campaign)
    assert (
        again.flags_new == 0 and Flag.objects.filter(campaign=campaign).count() == summary.flags_new
    )


def test_a_flag_changes_no_tally_until_a_reviewer_voids_it_with_a_reason(
    voting: Any, make_voter: Any, organiser: Any
) -> None:
    campaign, candidates = voting
    ids = _stuff(campaign, candidates[0], make_voter)
    detect.run_detection(campaign)
    assert services.tallies(campaign)[candidates[0].pk].valid == len(ids)
    flag = Flag.objects.get(campaign=campaign, kind="device_shared")
    with pytest.raises(ServiceError) as caught:
        services.void_flag(organiser, flag, "")
    assert caught.value.status == 422
    voided = services.void_flag(organiser, flag, "同一手机 6 个新账号轮换 IP 投票，核实为刷票")
    assert voided == len(ids)
    tally = services.tallies(campaign)[candidates[0].pk]
    assert (tally.valid, tally.voided) == (0, len(ids))
    vote = Vote.objects.get(pk=ids[0])
    assert vote.voided_by == organiser and "刷票" in vote.void_reason
    entry = AuditEntry.objects.filter(action="exemplars.void").latest("seq")
    assert entry.reason.startswith("同一手机")
    assert (entry.after or {})["votes_voided"] == len(ids)
    with pytest.raises(Conflict):
        services.void_flag(organiser, Flag.objects.get(pk=flag.pk), "再作废一次")


def test_a_reviewer_may_find_flagged_votes_genuine_and_they_keep_counting(
    voting: Any, make_voter: Any, auditor: Any
) -> None:
    campaign, candidates = voting
    ids = _stuff(campaign, candidates[1], make_voter, n=4)
    detect.run_detection(campaign)
    flag = Flag.objects.get(campaign=campaign, kind="device_shared")
    services.dismiss_flag(auditor, flag, "经电话核实为同一养老院的老人借用护工手机投票")
    assert Flag.objects.get(pk=flag.pk).status == FlagStatus.DISMISSED
    assert services.tallies(campaign)[candidates[1].pk].valid == len(ids)
    assert AuditEntry.objects.filter(action="exemplars.flag_dismiss").exists()


def test_people_without_the_right_cannot_void_votes(
    voting: Any, make_voter: Any, handler: Any, citizen: Any
) -> None:
    campaign, candidates = voting
    _stuff(campaign, candidates[0], make_voter)
    detect.run_detection(campaign)
    flag = Flag.objects.get(campaign=campaign, kind="device_shared")
    for person in (handler, citizen):
        with pytest.raises(Forbidden):
            services.void_flag(person, flag, "没有权限的人")
    assert not Vote.objects.filter(voided_at__isnull=False).exists()


def test_votes_joining_a_cluster_after_review_get_a_new_flag(
    voting: Any, make_voter: Any, organiser: Any
) -> None:
    campaign, candidates = voting
    _stuff(campaign, candidates[0], make_voter)
    detect.run_detection(campaign)
    flag = Flag.objects.get(campaign=campaign, kind="device_shared")
    services.void_flag(organiser, flag, "刷票")
    later = make_voter()
    cast = services.cast_vote(
        later,
        campaign.pk,
        candidates[1].pk,
        origin(ip="198.51.99.7", device="farm"),
        now=timezone.now() + dt.timedelta(minutes=2),
    )
    detect.run_detection(campaign)
    follow_up = Flag.objects.filter(
        campaign=campaign, kind="device_shared", status=FlagStatus.OPEN
    ).get()
    assert list(follow_up.votes.values_list("id", flat=True)) == [cast.vote_id]


def test_the_periodic_task_runs_the_detector_over_voting_campaigns(
    voting: Any, make_voter: Any
) -> None:
    from exemplars.tasks import detect_all

    campaign, candidates = voting
    ids = _stuff(campaign, candidates[0], make_voter)
    assert detect_all() == len(ids)
