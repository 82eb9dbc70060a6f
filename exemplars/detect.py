"""Anti-刷票 detection from the stored votes, run in batches (never in the vote request).

``find_clusters`` is plain Python over rows (testable with tables of votes); ``run_detection``
reads a campaign's votes, calls it and writes a ``Flag`` per cluster for a reviewer. A flag never
changes a tally by itself: only a reviewer voids votes, with a reason (services.void_flag).

The rules, each named in the flag's reasons:

* ``device_shared`` — one device (signed cookie + user agent) used by many voter accounts;
* ``subnet_cluster`` — a run of votes for one candidate from one /24 (gaps under 10 minutes) that
  is mostly fresh accounts, or fast with machine-regular timing;
* ``burst`` — a minute in which a candidate got several times its own usual per-minute votes;
  the votes flagged are those from a network or device that sent several of them that minute;
* ``pattern`` — many accounts on one network, mostly fresh, picking the exact same set of
  candidates on one day;
* ``fresh_swarm`` — within ten minutes a candidate gets a crowd of votes nearly all from accounts
  opened in the last two days, far above its own baseline (stuffing spread over many proxies).

Each rule trades recall for false positives; the benchmark (bench/votes.py) measures both on a
synthetic mix that includes the honest look-alikes (offices behind one address, carrier NAT,
families sharing a phone, organic peaks after a campaign is shared).
"""

from __future__ import annotations

import hashlib
import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Row:
    id: int
    candidate: int
    voter: int
    at: float  # seconds since the epoch
    ip: str
    subnet: str
    device: str
    joined: float  # the voter account's creation, seconds since the epoch
    day: str = ""


@dataclass(frozen=True)
class Params:
    fresh_s: float = 48 * 3600
    device_voters: int = 4
    run_gap_s: float = 600
    run_min: int = 10
    run_fresh_share: float = 0.5
    run_fast_per_min: float = 3.0
    run_regular_cv: float = 0.5
    burst_min: int = 8
    burst_factor: float = 4.0
    burst_source_min: int = 3
    pattern_voters: int = 6
    pattern_fresh_share: float = 0.5
    swarm_window_s: float = 600
    swarm_min: int = 30
    swarm_fresh_share: float = 0.8
    swarm_factor: float = 4.0


@dataclass
class Cluster:
    kind: str
    key: str
    candidate: int | None
    votes: set[int]
    reasons: list[dict[str, Any]] = field(default_factory=list)


def _fresh(row: Row, p: Params) -> bool:
    return row.at - row.joined < p.fresh_s


def _cv(times: Sequence[float]) -> float:
    """Coefficient of variation of the gaps: ~1 for people arriving at random, ~0 for a script."""
    gaps = [b - a for a, b in itertools.pairwise(times)]
    if len(gaps) < 2:
        return 1.0
    mean = statistics.fmean(gaps)
    return statistics.pstdev(gaps) / mean if mean > 0 else 0.0


def _device_shared(rows: Sequence[Row], p: Params) -> Iterable[Cluster]:
    by_device: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_device[row.device].append(row)
    for device, group in by_device.items():
        voters = {r.voter for r in group}
        if len(voters) >= p.device_voters:
            fresh = sum(1 for r in group if _fresh(r, p))
            yield Cluster(
                "device_shared",
                f"device:{device}",
                None,
                {r.id for r in group},
                [
                    {
                        "code": "device_shared",
                        "voters": len(voters),
                        "votes": len(group),
                        "fresh": fresh,
                    }
                ],
            )


def _subnet_runs(rows: Sequence[Row], p: Params) -> Iterable[Cluster]:
    by_key: dict[tuple[int, str], list[Row]] = defaultdict(list)
    for row in rows:
        by_key[(row.candidate, row.subnet)].append(row)
    for (candidate, subnet), group in by_key.items():
        if len(group) < p.run_min:
            continue
        group.sort(key=lambda r: r.at)
        run: list[Row] = [group[0]]
        following: list[Row | None] = [*group[1:], None]
        for nxt in following:
            if nxt is not None and nxt.at - run[-1].at <= p.run_gap_s:
                run.append(nxt)
                continue
            if len(run) >= p.run_min:
                times = [r.at for r in run]
                minutes = max((times[-1] - times[0]) / 60, 1.0)
                rate = len(run) / minutes
                fresh_share = sum(1 for r in run if _fresh(r, p)) / len(run)
                cv = _cv(times)
                mostly_fresh = fresh_share >= p.run_fresh_share
                scripted = rate >= p.run_fast_per_min and cv < p.run_regular_cv
                if mostly_fresh or scripted:
                    yield Cluster(
                        "subnet_cluster",
                        f"subnet:{candidate}:{subnet}:{run[0].id}",
                        candidate,
                        {r.id for r in run},
                        [
                            {
                                "code": "subnet_cluster",
                                "votes": len(run),
                                "minutes": round(minutes, 1),
                                "fresh_pct": round(100 * fresh_share),
                                "regularity": round(cv, 2),
                            }
                        ],
                    )
            if nxt is not None:
                run = [nxt]


def _baselines(rows: Sequence[Row]) -> tuple[dict[int, float], dict[tuple[int, int], list[Row]]]:
    per_minute: dict[tuple[int, int], list[Row]] = defaultdict(list)
    for row in rows:
        per_minute[(row.candidate, int(row.at // 60))].append(row)
    counts: dict[int, list[int]] = defaultdict(list)
    for (candidate, _minute), group in per_minute.items():
        counts[candidate].append(len(group))
    return {c: statistics.median(v) for c, v in counts.items()}, per_minute


def _bursts(rows: Sequence[Row], p: Params) -> Iterable[Cluster]:
    baseline, per_minute = _baselines(rows)
    for (candidate, minute), group in per_minute.items():
        usual = baseline[candidate]
        if len(group) < max(p.burst_min, p.burst_factor * usual):
            continue
        by_subnet: dict[str, int] = defaultdict(int)
        by_device: dict[str, set[int]] = defaultdict(set)
        for row in group:
            by_subnet[row.subnet] += 1
            by_device[row.device].add(row.voter)
        sources = {
            r.id
            for r in group
            if by_subnet[r.subnet] >= p.burst_source_min or len(by_device[r.device]) >= 2
        }
        if sources:
            yield Cluster(
                "burst",
                f"burst:{candidate}:{minute}",
                candidate,
                sources,
                [
                    {
                        "code": "burst",
                        "votes": len(group),
                        "baseline": round(usual, 1),
                        "concentrated": len(sources),
                    }
                ],
            )


def _patterns(rows: Sequence[Row], p: Params) -> Iterable[Cluster]:
    picks: dict[tuple[int, str], list[Row]] = defaultdict(list)
    for row in rows:
        picks[(row.voter, row.day)].append(row)
    groups: dict[tuple[str, str, tuple[int, ...]], list[list[Row]]] = defaultdict(list)
    for (_voter, day), mine in picks.items():
        chosen = tuple(sorted({r.candidate for r in mine}))
        if len(chosen) < 2:
            continue
        subnet = mine[0].subnet
        if all(r.subnet == subnet for r in mine):
            groups[(subnet, day, chosen)].append(mine)
    for (subnet, day, chosen), voters in groups.items():
        if len(voters) < p.pattern_voters:
            continue
        fresh = sum(1 for mine in voters if _fresh(mine[0], p))
        if fresh / len(voters) < p.pattern_fresh_share:
            continue
        digest = hashlib.sha256(repr(chosen).encode()).hexdigest()[:12]
        yield Cluster(
            "pattern",
            f"pattern:{subnet}:{day}:{digest}",
            None,
            {r.id for mine in voters for r in mine},
            [
                {
                    "code": "pattern",
                    "voters": len(voters),
                    "candidates": len(chosen),
                    "fresh_pct": round(100 * fresh / len(voters)),
                }
            ],
        )


def _fresh_swarms(rows: Sequence[Row], p: Params) -> Iterable[Cluster]:
    baseline, _ = _baselines(rows)
    by_candidate: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        by_candidate[row.candidate].append(row)
    for candidate, group in by_candidate.items():
        group.sort(key=lambda r: r.at)
        start = 0
        flagged_until = -1.0
        for end in range(len(group)):
            while group[end].at - group[start].at > p.swarm_window_s:
                start += 1
            window = group[start : end + 1]
            if group[end].at <= flagged_until or len(window) < p.swarm_min:
                continue
            fresh = [r for r in window if _fresh(r, p)]
            expected = baseline[candidate] * p.swarm_window_s / 60
            if (
                len(fresh) >= p.swarm_min
                and len(fresh) / len(window) >= p.swarm_fresh_share
                and len(window) >= p.swarm_factor * expected
            ):
                # Extend to every fresh vote of this candidate within the window after it.
                limit = window[0].at + 2 * p.swarm_window_s
                members = [r for r in group[start:] if r.at <= limit and _fresh(r, p)]
                flagged_until = limit
                yield Cluster(
                    "fresh_swarm",
                    f"swarm:{candidate}:{window[0].id}",
                    candidate,
                    {r.id for r in members},
                    [
                        {
                            "code": "fresh_swarm",
                            "votes": len(members),
                            "fresh_pct": round(100 * len(fresh) / len(window)),
                            "baseline": round(baseline[candidate], 1),
                        }
                    ],
                )


RULES = (_device_shared, _subnet_runs, _bursts, _patterns, _fresh_swarms)


def find_clusters(rows: Sequence[Row], params: Params | None = None) -> list[Cluster]:
    p = params or Params()
    return [cluster for rule in RULES for cluster in rule(rows, p)]


# --- against the database --------------------------------------------------------------------------
@dataclass(frozen=True)
class DetectionSummary:
    votes_scanned: int
    flags_new: int
    flags_extended: int
    votes_flagged: int


def load_rows(campaign: Any) -> list[Row]:
    from accounts.models import User
    from exemplars.models import Vote

    joined = dict(
        User.objects.filter(
            pk__in=Vote.objects.filter(campaign=campaign).values("voter_id")
        ).values_list("pk", "date_joined")
    )
    rows = []
    for vid, cand, voter, at, ip, subnet, device, day in (
        Vote.objects.filter(campaign=campaign)
        .values_list(
            "id", "candidate_id", "voter_id", "at", "ip_hash", "subnet_hash", "device_hash", "day"
        )
        .order_by("id")
        .iterator(chunk_size=5000)
    ):
        rows.append(
            Row(
                vid,
                cand,
                voter,
                at.timestamp(),
                ip,
                subnet,
                device,
                joined[voter].timestamp(),
                str(day),
            )
        )
    return rows


def run_detection(campaign: Any, params: Params | None = None) -> DetectionSummary:
    """Scan the campaign's votes and write or extend flags; idempotent for unchanged votes."""
    from django.db import transaction

    from exemplars.models import Campaign, Flag, FlagStatus, FlagVote

    rows = load_rows(campaign)
    clusters = find_clusters(rows, params)
    new = extended = 0
    flagged: set[int] = set()
    with transaction.atomic():
        for cluster in clusters:
            flag = Flag.objects.filter(
                campaign=campaign, kind=cluster.kind, key=cluster.key
            ).first()
            if flag is not None and flag.status != FlagStatus.OPEN:
                known = set(FlagVote.objects.filter(flag=flag).values_list("vote_id", flat=True))
                fresh_ids = cluster.votes - known
                if not fresh_ids:
                    continue
                # The cluster grew after a reviewer decided: the new votes get a flag of their own.
                cluster.key = f"{cluster.key}+{max(fresh_ids)}"
                cluster.votes = fresh_ids
                flag = Flag.objects.filter(
                    campaign=campaign, kind=cluster.kind, key=cluster.key
                ).first()
            if flag is None:
                flag = Flag.objects.create(
                    campaign=campaign,
                    kind=cluster.kind,
                    key=cluster.key,
                    candidate_id=cluster.candidate,
                    reasons=cluster.reasons,
                )
                new += 1
            else:
                before = FlagVote.objects.filter(flag=flag).count()
                if before < len(cluster.votes):
                    extended += 1
                    Flag.objects.filter(pk=flag.pk).update(reasons=cluster.reasons)
            FlagVote.objects.bulk_create(
                [FlagVote(flag=flag, vote_id=v) for v in sorted(cluster.votes)],
                ignore_conflicts=True,
                batch_size=2000,
            )
            flagged |= cluster.votes
        if rows:
            Campaign.objects.filter(pk=campaign.pk).update(last_detected_id=rows[-1].id)
    return DetectionSummary(len(rows), new, extended, len(flagged))
