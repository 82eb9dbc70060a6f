"""Synthetic voting for the benchmark: voters with sessions for the HTTP load, and a replay of
ballot stuffing mixed into honest voting, with the ground truth kept to score the detector.

Nothing here is used by the running platform; ``minsheng exemplars bench-setup`` and
``minsheng exemplars attack-replay`` call it against a throwaway database (bench/votes.py).

The honest crowd is built to contain what a detector is most likely to mistake for stuffing:
offices voting for a colleague from one address, carrier-grade NAT putting thousands of phones
behind a few /24s, families sharing one phone, people who opened an account to vote, and an
organic surge after a candidate's story is shared. The attacks are the usual kinds: a burst from
a few addresses of fresh accounts on a script, a phone farm (one device, many accounts, rotating
proxies), a swarm of fresh accounts over residential proxies picking the same pair, and a slow
drip of fresh accounts spread over the day (built to look honest: expected to be missed).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from exemplars import services
from exemplars.models import Campaign, Candidate, CandidateStatus, Category, Phase
from vault.crypto import blind_index

UAS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) MicroMessenger/8.0.47",
    "Mozilla/5.0 (Linux; Android 14; V2309A) MicroMessenger/8.0.45",
    "Mozilla/5.0 (Linux; Android 13; 22081212C) MicroMessenger/8.0.44",
    "Mozilla/5.0 (Linux; Android 12; HarmonyOS; ALN-AL00) MicroMessenger/8.0.46",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; PJZ110) Chrome/121.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/122.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) Safari/605.1.15",
]


def _create_citizens(prefix: str, joined: list[dt.datetime]) -> list[User]:
    """Verified citizens in bulk (bulk_create skips save(), so the blind index is set here)."""
    users = []
    for i, when in enumerate(joined):
        phone = f"19{random.Random(f'{prefix}{i}').randrange(10**9):09d}"
        users.append(
            User(
                username=f"{prefix}{i}",
                kind=User.Kind.CITIZEN,
                display_name=f"群众{i}",
                phone=phone,
                phone_hash=blind_index(phone, "phone"),
                password="!",  # noqa: S106 - unusable: these accounts sign in only through sessions made here
                date_joined=when,
            )
        )
    User.objects.bulk_create(users, batch_size=2000)
    return list(User.objects.filter(username__startswith=prefix).order_by("pk"))


def _campaign(
    title: str,
    opens: dt.datetime,
    closes: dt.datetime,
    categories: int,
    per_category: int,
    **rules: Any,
) -> tuple[Campaign, list[Candidate]]:
    """A campaign already in its voting phase with accepted candidates (set up in bulk)."""
    organiser = User.objects.filter(is_superuser=True).order_by(
        "pk"
    ).first() or User.objects.create(
        username=f"bench-organiser-{secrets.token_hex(3)}", kind=User.Kind.STAFF
    )
    with transaction.atomic():
        campaign = Campaign.objects.create(
            title=title,
            kind="身边好人",
            organiser=organiser,
            phase=Phase.VOTING,
            voting_opens=opens,
            voting_closes=closes,
            **rules,
        )
        candidates = []
        for c in range(categories):
            category = Category.objects.create(campaign=campaign, name=f"类别{c + 1}", order=c)
            for k in range(per_category):
                candidates.append(
                    Candidate.objects.create(
                        campaign=campaign,
                        category=category,
                        name=f"候选人{c + 1}-{k + 1}",
                        affiliation="测试社区",
                        story="基准测试用的候选人。",
                        nominator=organiser,
                        status=CandidateStatus.ACCEPTED,
                        review_reason="基准测试",
                    )
                )
    return campaign, candidates


# --- HTTP load: voters with sessions ---------------------------------------------------------------
def bench_setup(voters: int, categories: int = 2, per_category: int = 5) -> dict[str, Any]:
    """A voting campaign, ``voters`` citizens and a signed-in session for each."""
    now = timezone.now()
    campaign, candidates = _campaign(
        f"基准测试 {now:%Y-%m-%d %H:%M:%S}",
        now - dt.timedelta(hours=1),
        now + dt.timedelta(days=2),
        categories,
        per_category,
        picks_per_category=per_category,
        # The load comes from few client processes; the limits here must not be what is measured.
        voter_per_minute=10_000,
        ip_per_minute=1_000_000,
        device_per_minute=1_000_000,
    )
    prefix = f"bv{secrets.token_hex(3)}-"
    users = _create_citizens(prefix, [now - dt.timedelta(days=90)] * voters)
    backend = "django.contrib.auth.backends.ModelBackend"
    store = SessionStore()
    expires = now + dt.timedelta(days=1)
    rows = [
        Session(
            session_key=secrets.token_hex(16),
            session_data=store.encode(
                {
                    SESSION_KEY: str(user.pk),
                    BACKEND_SESSION_KEY: backend,
                    HASH_SESSION_KEY: user.get_session_auth_hash(),
                }
            ),
            expire_date=expires,
        )
        for user in users
    ]
    Session.objects.bulk_create(rows, batch_size=2000)
    sessions = [row.session_key for row in rows]
    return {
        "campaign": campaign.pk,
        "candidates": [c.pk for c in candidates],
        "sessions": sessions,
        "voters": [u.pk for u in users],
    }


# --- the attack replay ------------------------------------------------------------------------------
@dataclass
class Voter:
    key: str
    joined: dt.datetime
    group: str  # honest:<kind> or attack:<kind>


@dataclass(order=True)
class Event:
    at: dt.datetime
    voter: str = field(compare=False)
    candidate: int = field(compare=False)  # index into the candidate list
    ip: str = field(compare=False)
    device: str = field(compare=False)
    ua: str = field(compare=False)


@dataclass
class Scenario:
    voters: dict[str, Voter]
    events: list[Event]


def _ip(rng: random.Random, subnet: str | None = None) -> str:
    if subnet is None:
        subnet = f"{rng.choice([36, 39, 58, 59, 60, 61, 101, 106, 111, 112, 113, 114, 117, 120, 121, 122, 123, 124, 125, 171, 175, 180, 182, 183, 202, 210, 211, 218, 219, 220, 221, 222, 223])}.{rng.randrange(256)}.{rng.randrange(256)}"
    return f"{subnet}.{rng.randrange(1, 255)}"


def build_scenario(
    start: dt.datetime, seed: int = 7, honest: int = 3000, scale: float = 1.0
) -> Scenario:
    """One simulated voting day: honest crowd plus four attacks; candidates 0–11 (two categories)."""
    rng = random.Random(seed)
    voters: dict[str, Voter] = {}
    events: list[Event] = []
    day = dt.timedelta(days=1)
    popularity = [1 / (k + 1) for k in range(6)]
    cgnat = [f"117.136.{rng.randrange(256)}" for _ in range(30)]

    def honest_voter(kind: str, fresh_share: float, at: dt.datetime) -> Voter:
        key = f"h{len(voters)}"
        if rng.random() < fresh_share:
            joined = at - dt.timedelta(hours=rng.uniform(0.05, 40))
        else:
            joined = at - dt.timedelta(days=rng.uniform(30, 600))
        voter = Voter(key, joined, f"honest:{kind}")
        voters[key] = voter
        return voter

    def session(
        voter: Voter, at: dt.datetime, ip: str, device: str, ua: str, picks: list[int]
    ) -> None:
        t = at
        for cand in picks:
            events.append(Event(t, voter.key, cand, ip, device, ua))
            t += dt.timedelta(seconds=rng.uniform(4, 60))

    def choose(focus: int | None = None) -> list[int]:
        picks: list[int] = []
        for cat in (0, 1):
            n = rng.choice([1, 1, 2, 3])
            mine: list[int] = []
            while len(mine) < n:
                k = rng.choices(range(6), weights=popularity)[0]
                if cat * 6 + k not in mine:
                    mine.append(cat * 6 + k)
            picks.extend(mine)
        if focus is not None and focus not in picks:
            picks.insert(0, focus)
        return picks

    def daytime() -> dt.datetime:
        # Evenings are busiest; nights nearly empty.
        hour = rng.choices(
            range(24),
            weights=[1, 1, 1, 1, 1, 2, 4, 6, 6, 5, 5, 6, 8, 6, 5, 5, 6, 7, 9, 12, 14, 12, 8, 3],
        )[0]
        return start + dt.timedelta(hours=hour, seconds=rng.uniform(0, 3600))

    n_honest = int(honest * scale)
    families: list[list[Any]] = []  # [ip, device, agent, members, size]
    for _ in range(n_honest):
        at = daytime()
        voter = honest_voter("crowd", 0.25, at)
        ua = rng.choice(UAS)
        roll = rng.random()
        if roll < 0.5:
            ip = _ip(rng, rng.choice(cgnat))
            voter.group = "honest:cgnat"
        else:
            ip = _ip(rng)
        device = secrets.token_hex(8)
        if roll > 0.93:
            device = ""  # an app or script without the page's cookie
        elif 0.85 < roll <= 0.93:
            # A family sharing one phone: two or three accounts on one device and address.
            open_families = [f for f in families if f[3] < f[4]]
            if open_families and rng.random() < 0.6:
                family = rng.choice(open_families)
                ip, device, ua = family[0], family[1], family[2]
                family[3] += 1
            else:
                families.append([ip, device, ua, 1, rng.choice([2, 3])])
            voter.group = "honest:family"
        session(voter, at, ip, device, ua, choose())
    # Offices: colleagues vote for one of their own over lunch, from the office's one address.
    for office in range(4):
        ip = _ip(rng)
        colleague = rng.randrange(12)
        lunch = start + dt.timedelta(hours=12, minutes=rng.uniform(0, 30))
        for _ in range(int(15 * scale) or 1):
            at = lunch + dt.timedelta(minutes=rng.uniform(0, 60))
            voter = honest_voter(f"office{office}", 0.1, at)
            voter.group = "honest:office"
            session(voter, at, ip, secrets.token_hex(8), rng.choice(UAS), choose(colleague))
    # An organic surge: a candidate's story is shared at 20:00; many new accounts, many networks.
    surge = start + dt.timedelta(hours=20)
    for _ in range(int(300 * scale)):
        at = surge + dt.timedelta(minutes=rng.expovariate(1 / 12))
        voter = honest_voter("surge", 0.45, at)
        voter.group = "honest:surge"
        ip = _ip(rng, rng.choice(cgnat)) if rng.random() < 0.5 else _ip(rng)
        session(voter, at, ip, secrets.token_hex(8), rng.choice(UAS), [3])

    def attacker(kind: str, at: dt.datetime, hours_old: float = 6) -> Voter:
        key = f"a{len(voters)}"
        voter = Voter(key, at - dt.timedelta(hours=rng.uniform(0.1, hours_old)), f"attack:{kind}")
        voters[key] = voter
        return voter

    # A: a burst from four addresses in one /24, a script every ~1.2 s, no cookie.
    subnet = f"{rng.randrange(1, 223)}.{rng.randrange(256)}.{rng.randrange(256)}"
    ips = [_ip(rng, subnet) for _ in range(4)]
    t = start + dt.timedelta(hours=15)
    for i in range(int(250 * scale)):
        t += dt.timedelta(seconds=1.2 + rng.uniform(-0.1, 0.1))
        events.append(Event(t, attacker("burst", t).key, 4, ips[i % 4], "", UAS[6]))
    # B: a phone farm: one device, many accounts, each through another proxy address.
    farm = secrets.token_hex(8)
    t = start + dt.timedelta(hours=10)
    for _ in range(int(60 * scale)):
        t += dt.timedelta(seconds=rng.uniform(20, 40))
        events.append(Event(t, attacker("farm", t).key, 5, _ip(rng), farm, UAS[1]))
    # C: a swarm over residential proxies: fresh accounts, the same pair, within 15 minutes.
    t0 = start + dt.timedelta(hours=22)
    for _ in range(int(200 * scale)):
        at = t0 + dt.timedelta(minutes=rng.uniform(0, 15))
        voter = attacker("swarm", at, hours_old=30)
        ip, ua = _ip(rng), rng.choice(UAS)
        events.append(Event(at, voter.key, 2, ip, "", ua))
        events.append(Event(at + dt.timedelta(seconds=rng.uniform(2, 6)), voter.key, 8, ip, "", ua))
    # D: a slow drip of fresh accounts over the whole day, each from its own address.
    for _ in range(int(80 * scale)):
        at = start + dt.timedelta(seconds=rng.uniform(0, 86000))
        voter = attacker("drip", at, hours_old=30)
        events.append(Event(at, voter.key, 4, _ip(rng), secrets.token_hex(8), rng.choice(UAS)))
    events = [e for e in events if e.at < start + day]
    events.sort()
    return Scenario(voters, events)


def attack_replay(seed: int = 7, honest: int = 3000, scale: float = 1.0) -> dict[str, Any]:
    """Replay the scenario through ``services.cast_vote`` on simulated time, detect, score."""
    from exemplars.detect import run_detection
    from exemplars.models import FlagVote

    start = (timezone.now() - dt.timedelta(days=3)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    scenario = build_scenario(start, seed=seed, honest=honest, scale=scale)
    campaign, candidates = _campaign(
        f"刷票演练 {timezone.now():%Y-%m-%d %H:%M:%S}",
        start,
        start + dt.timedelta(days=2),
        2,
        6,
        picks_per_category=3,
    )
    keys = list(scenario.voters)
    prefix = f"ar{secrets.token_hex(3)}-"
    users = _create_citizens(prefix, [scenario.voters[k].joined for k in keys])
    user_of = dict(zip(keys, users, strict=True))
    truth: dict[int, str] = {}
    refused: Counter[str] = Counter()
    sent: Counter[str] = Counter()
    for event in scenario.events:
        group = scenario.voters[event.voter].group
        kind = group.split(":")[0]
        sent[group] += 1
        try:
            cast = services.cast_vote(
                user_of[event.voter],
                campaign.pk,
                candidates[event.candidate].pk,
                services.Origin(ip=event.ip, device_id=event.device, user_agent=event.ua),
                now=event.at,
            )
        except services.ServiceError as exc:
            refused[f"{kind}:{exc.code}"] += 1
            continue
        truth[cast.vote_id] = group
    summary = run_detection(campaign)
    flagged = set(
        FlagVote.objects.filter(flag__campaign=campaign).values_list("vote_id", flat=True)
    )
    per_group: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for vote_id, group in truth.items():
        per_group[group][0] += 1
        per_group[group][1] += vote_id in flagged
    stuffed = sum(v[0] for g, v in per_group.items() if g.startswith("attack"))
    stuffed_flagged = sum(v[1] for g, v in per_group.items() if g.startswith("attack"))
    honest_n = sum(v[0] for g, v in per_group.items() if g.startswith("honest"))
    honest_flagged = sum(v[1] for g, v in per_group.items() if g.startswith("honest"))
    return {
        "campaign": campaign.pk,
        "seed": seed,
        "votes_sent": sum(sent.values()),
        "votes_accepted": len(truth),
        "refused_at_the_door": dict(refused),
        "stuffed_accepted": stuffed,
        "stuffed_flagged": stuffed_flagged,
        "honest_accepted": honest_n,
        "honest_flagged": honest_flagged,
        "recall": round(stuffed_flagged / stuffed, 4) if stuffed else None,
        "false_positive_rate": round(honest_flagged / honest_n, 4) if honest_n else None,
        "flags": summary.flags_new,
        "by_group": {
            g: {"accepted": v[0], "flagged": v[1], "share": round(v[1] / v[0], 4) if v[0] else None}
            for g, v in sorted(per_group.items())
        },
    }
