"""State changes of exemplar campaigns: each checks, changes and writes the audit entry.

The vote (``cast_vote``) is the hot path and is kept lean on purpose: the campaign's rules come
from a per-process cache (refreshed every few seconds and dropped by every service here that
changes them), the rate limits are cache counters, and the vote is one INSERT … ON CONFLICT DO
NOTHING plus one locked per-category counter in the same transaction. In a serving process on
PostgreSQL the votes of concurrent requests share that statement and its commit
(``exemplars/batcher.py``, group commit); each request is answered after the commit. A single vote is not
written to the audit trail — the vote row is its own record and is never changed except by a
voiding, which is audited. The anti-fraud analysis runs later from the stored rows (detect.py).
"""

from __future__ import annotations

import functools
import ipaddress
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from appeals.photos import clean_image, read_upload
from audit.services import record
from exemplars.models import (
    NEXT_PHASE,
    ONCE_DAY,
    Campaign,
    Candidate,
    CandidatePhoto,
    CandidateStatus,
    Category,
    Flag,
    FlagStatus,
    NominatorKind,
    Objection,
    ObjectionStatus,
    Phase,
    Vote,
    VotePeriod,
    VoterPicks,
)
from minsheng.counters import hit_counters
from minsheng.errors import Conflict, Forbidden, NotFound, RateLimited, ServiceError
from org.roles import Role, has_role

MAX_PHOTOS = 6
RULES_TTL_S = 5.0
DEVICE_COOKIE = "ms_device"
DEVICE_SALT = "exemplars.device"


def _invalid(field: str, message: Any) -> ServiceError:
    return ServiceError(
        message,
        code="validation_error",
        status=422,
        detail=[{"field": field, "message": str(message)}],
    )


def _need_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise _invalid("reason", _("请写明理由（至少 2 个字）"))
    return reason


def may_organise(user: Any, campaign: Campaign | None = None) -> bool:
    unit = campaign.unit if campaign is not None else None
    return has_role(user, Role.ORGANISER, Role.ADMIN, unit=unit)


def may_review_votes(user: Any, campaign: Campaign) -> bool:
    """Organisers review flags; auditors (纪检监察) may too, as the check on the organiser."""
    return may_organise(user, campaign) or has_role(user, Role.AUDITOR, unit=campaign.unit)


def _require_organiser(user: Any, campaign: Campaign | None = None) -> None:
    if not may_organise(user, campaign):
        raise Forbidden(_("只有活动组织者可以执行此操作。"))


# --- campaigns ------------------------------------------------------------------------------------
def create_campaign(
    actor: Any,
    *,
    title: str,
    kind: str,
    voting_opens: datetime,
    voting_closes: datetime,
    categories: list[str],
    unit: Any = None,
    description: str = "",
    owner_label: str = "",
    vote_period: str = VotePeriod.DAY,
    picks_per_category: int = 3,
    require_real_name: bool = False,
    honours_per_category: int = 3,
) -> Campaign:
    _require_organiser(actor)
    if voting_closes <= voting_opens:
        raise _invalid("voting_closes", _("投票截止时间应晚于开始时间"))
    names = [c.strip() for c in categories if c.strip()]
    if not names:
        raise _invalid("categories", _("至少设置一个评选类别"))
    if len(set(names)) != len(names):
        raise _invalid("categories", _("评选类别不能重名"))
    if picks_per_category < 1:
        raise _invalid("picks_per_category", _("每个类别至少可选 1 人"))
    if unit is None:
        from org.roles import units_for

        unit = units_for(actor, Role.ORGANISER).order_by("path").first()
    with transaction.atomic():
        campaign = Campaign.objects.create(
            title=title.strip(),
            kind=kind.strip(),
            description=description.strip(),
            owner_label=owner_label.strip(),
            unit=unit,
            organiser=actor,
            voting_opens=voting_opens,
            voting_closes=voting_closes,
            vote_period=vote_period,
            picks_per_category=picks_per_category,
            require_real_name=require_real_name,
            honours_per_category=honours_per_category,
        )
        for order, name in enumerate(names):
            Category.objects.create(campaign=campaign, name=name, order=order)
        record(
            actor,
            "exemplars.campaign_create",
            campaign,
            after={"title": campaign.title, "categories": names, "vote_period": vote_period},
        )
    return campaign


def advance_phase(actor: Any, campaign: Campaign) -> Campaign:
    """Move the campaign to its next phase (the table ``NEXT_PHASE``); results have their own."""
    _require_organiser(actor, campaign)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        target = NEXT_PHASE.get(locked.phase)
        if target is None or target == Phase.RESULTS:
            raise Conflict(_("当前阶段不能直接进入下一阶段。"), code="bad_phase")
        if (
            target == Phase.PUBLICITY
            and locked.candidates.filter(status=CandidateStatus.NOMINATED).exists()
        ):
            raise Conflict(_("还有推荐未审核，审核完毕才能公示。"), code="review_pending")
        if (
            target == Phase.VOTING
            and Objection.objects.filter(
                candidate__campaign=locked, status=ObjectionStatus.OPEN
            ).exists()
        ):
            raise Conflict(_("还有异议未核实，核实完毕才能开始投票。"), code="objections_pending")
        before = locked.phase
        locked.phase = target
        now = timezone.now()
        update = ["phase"]
        if target == Phase.REVIEWING:
            locked.nomination_closes = now
            update.append("nomination_closes")
        if target == Phase.VOTING:
            locked.publicity_closes = now
            update.append("publicity_closes")
        locked.save(update_fields=update)
        record(actor, "exemplars.phase", locked, before={"phase": before}, after={"phase": target})
    forget_rules(locked.pk)
    return locked


# --- nominations and review -----------------------------------------------------------------------
@dataclass
class NominationIn:
    category_id: int
    name: str
    affiliation: str
    story: str
    evidence: str = ""
    phone: str = ""
    nominator_kind: str = NominatorKind.CITIZEN
    nominator_label: str = ""


def nominate(actor: Any, campaign: Campaign, data: NominationIn, photos: list[Any]) -> Candidate:
    """A signed-in person nominates someone while nominations are open; photos are cleaned."""
    if not getattr(actor, "is_authenticated", False):
        raise ServiceError(_("请先登录。"), code="unauthorized", status=401)
    if campaign.phase != Phase.NOMINATING:
        raise Conflict(_("本次评选现在不接受推荐。"), code="nominations_closed")
    category = campaign.categories.filter(pk=data.category_id).first()
    if category is None:
        raise _invalid("category", _("请选择本次评选的一个类别"))
    if data.nominator_kind != NominatorKind.CITIZEN and not data.nominator_label.strip():
        raise _invalid("nominator_label", _("单位或组织推荐，请填写推荐单位或组织的名称"))
    if len(photos) > MAX_PHOTOS:
        raise _invalid("photos", _("至多上传 %(n)s 张照片") % {"n": MAX_PHOTOS})
    # Decode and re-encode every photo before writing anything: a bad photo refuses the whole
    # nomination and leaves no file behind.
    cleaned = [clean_image(read_upload(p)) for p in photos]
    stored: list[CandidatePhoto] = []
    try:
        with transaction.atomic():
            candidate = Candidate.objects.create(
                campaign=campaign,
                category=category,
                name=data.name.strip(),
                affiliation=data.affiliation.strip(),
                phone=data.phone.strip(),
                story=data.story.strip(),
                evidence=data.evidence.strip(),
                nominator=actor,
                nominator_kind=data.nominator_kind,
                nominator_label=data.nominator_label.strip(),
            )
            for encoded, content_type, ext, width, height in cleaned:
                photo = CandidatePhoto(
                    candidate=candidate,
                    content_type=content_type,
                    size=len(encoded),
                    width=width,
                    height=height,
                )
                photo.image.save(f"photo.{ext}", ContentFile(encoded), save=False)
                stored.append(photo)
                photo.save()
            record(
                actor,
                "exemplars.nominate",
                candidate,
                after={
                    "campaign": campaign.pk,
                    "category": category.pk,
                    "name": candidate.name,
                    "photos": len(stored),
                    "nominator_kind": candidate.nominator_kind,
                },
            )
    except BaseException:
        for photo in stored:
            photo.image.storage.delete(str(photo.image.name))
        raise
    return candidate


def review(actor: Any, candidate: Candidate, *, accept: bool, reason: str) -> Candidate:
    """Accept or decline a nomination; the reason is published on the candidate's page."""
    campaign = candidate.campaign
    _require_organiser(actor, campaign)
    reason = _need_reason(reason)
    if campaign.phase not in (Phase.NOMINATING, Phase.REVIEWING):
        raise Conflict(_("资格审核阶段已经结束。"), code="bad_phase")
    with transaction.atomic():
        locked = Candidate.objects.select_for_update().get(pk=candidate.pk)
        if locked.status != CandidateStatus.NOMINATED:
            raise Conflict(_("这条推荐已经审核过了。"), code="already_reviewed")
        locked.status = CandidateStatus.ACCEPTED if accept else CandidateStatus.DECLINED
        locked.review_reason = reason
        locked.reviewed_by = actor
        locked.reviewed_at = timezone.now()
        locked.save(update_fields=["status", "review_reason", "reviewed_by", "reviewed_at"])
        record(
            actor,
            "exemplars.review",
            locked,
            before={"status": CandidateStatus.NOMINATED},
            after={"status": locked.status},
            reason=reason,
        )
    forget_rules(campaign.pk)
    return locked


def lodge_objection(actor: Any, candidate: Candidate, text: str) -> Objection:
    if not getattr(actor, "is_authenticated", False):
        raise ServiceError(_("请先登录。"), code="unauthorized", status=401)
    if candidate.campaign.phase != Phase.PUBLICITY:
        raise Conflict(_("只有公示期间可以提出异议。"), code="bad_phase")
    if candidate.status != CandidateStatus.ACCEPTED:
        raise Conflict(_("这位候选人不在公示名单中。"), code="bad_state")
    text = (text or "").strip()
    if len(text) < 10:
        raise _invalid("text", _("请具体说明异议（至少 10 个字）"))
    with transaction.atomic():
        objection = Objection.objects.create(candidate=candidate, author=actor, text=text)
        record(actor, "exemplars.objection", objection, after={"candidate": candidate.pk})
    return objection


def answer_objection(actor: Any, objection: Objection, *, upheld: bool, answer: str) -> Objection:
    """Answer with a published reason; an upheld objection withdraws the candidate."""
    candidate = objection.candidate
    _require_organiser(actor, candidate.campaign)
    answer = _need_reason(answer)
    with transaction.atomic():
        locked = Objection.objects.select_for_update().get(pk=objection.pk)
        if locked.status != ObjectionStatus.OPEN:
            raise Conflict(_("这条异议已经答复过了。"), code="already_answered")
        locked.status = ObjectionStatus.UPHELD if upheld else ObjectionStatus.DISMISSED
        locked.answer = answer
        locked.answered_by = actor
        locked.answered_at = timezone.now()
        locked.save(update_fields=["status", "answer", "answered_by", "answered_at"])
        record(
            actor,
            "exemplars.objection_answer",
            locked,
            after={"status": locked.status},
            reason=answer,
        )
        if upheld:
            Candidate.objects.filter(pk=candidate.pk).update(
                status=CandidateStatus.WITHDRAWN, review_reason=answer
            )
            record(
                actor,
                "exemplars.withdraw",
                candidate,
                before={"status": candidate.status},
                after={"status": CandidateStatus.WITHDRAWN},
                reason=answer,
            )
    forget_rules(candidate.campaign_id)
    return locked


# --- the vote -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rules:
    """What the vote path needs of a campaign, cached per process for RULES_TTL_S."""

    id: int
    key: str
    phase: str
    opens: datetime
    closes: datetime
    period: str
    picks: int
    real_name: bool
    voter_per_minute: int
    ip_per_minute: int
    device_per_minute: int
    candidates: dict[int, int]  # accepted candidate id → category id
    loaded: float


_rules: dict[int, Rules] = {}
_rules_lock = threading.Lock()


def forget_rules(campaign_id: int | None = None) -> None:
    with _rules_lock:
        if campaign_id is None:
            _rules.clear()
        else:
            _rules.pop(campaign_id, None)


def rules_for(campaign_id: int) -> Rules:
    cached = _rules.get(campaign_id)
    if cached is not None and time.monotonic() - cached.loaded < RULES_TTL_S:
        return cached
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound(_("没有这项评选活动。"))
    candidates = dict(
        Candidate.objects.accepted()
        .filter(campaign_id=campaign_id)
        .values_list("id", "category_id")
    )
    rules = Rules(
        id=campaign.pk,
        key=campaign.key.hex,
        phase=campaign.phase,
        opens=campaign.voting_opens,
        closes=campaign.voting_closes,
        period=campaign.vote_period,
        picks=campaign.picks_per_category,
        real_name=campaign.require_real_name,
        voter_per_minute=campaign.voter_per_minute,
        ip_per_minute=campaign.ip_per_minute,
        device_per_minute=campaign.device_per_minute,
        candidates=candidates,
        loaded=time.monotonic(),
    )
    with _rules_lock:
        _rules[campaign_id] = rules
    return rules


def keyed_hash(kind: str, value: str) -> str:
    """A 16-hex keyed hash: groups equal values without keeping the address or device id."""
    return salted_hmac(f"exemplars.{kind}", value).hexdigest()[:16]


def subnet_of(ip: str) -> str:
    """The /24 of an IPv4 address, the /48 of an IPv6 one: where one household or office sits."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


@dataclass(frozen=True)
class Origin:
    """Where a vote came from: the peer address and the device (signed cookie + user agent)."""

    ip: str
    device_id: str
    user_agent: str

    @classmethod
    def of(cls, request: HttpRequest) -> Origin:
        from accounts.services import client_ip

        device = request.get_signed_cookie(DEVICE_COOKIE, default="", salt=DEVICE_SALT)
        return cls(
            ip=client_ip(request),
            device_id=str(device or ""),
            user_agent=str(request.META.get("HTTP_USER_AGENT", ""))[:300],
        )

    def hashes(self) -> tuple[str, str, str]:
        # Without the page's cookie (a script, an app) the device is the agent at that address,
        # so a cookieless script cannot be one "device" per vote by dropping the cookie.
        device = self.device_id or f"{self.user_agent}@{self.ip}"
        return (
            keyed_hash("ip", self.ip),
            keyed_hash("subnet", subnet_of(self.ip)),
            keyed_hash("device", f"{device}|{self.user_agent}"),
        )


def _check_rate(rules: Rules, voter_id: int, hashes: tuple[str, str, str], now: datetime) -> None:
    minute = int(now.timestamp()) // 60
    ip_hash, _subnet, device_hash = hashes
    prefix = f"ev:{rules.key}:{minute}"
    voter_n, ip_n, device_n = hit_counters(
        [f"{prefix}:v:{voter_id}", f"{prefix}:i:{ip_hash}", f"{prefix}:d:{device_hash}"], 70
    )
    retry = 60 - int(now.timestamp()) % 60
    if voter_n > rules.voter_per_minute:
        raise RateLimited(_("您投票太频繁了，请一分钟后再试。"), retry_after=retry)
    if ip_n > rules.ip_per_minute:
        raise RateLimited(_("您所在网络的投票太频繁了，请稍后再试。"), retry_after=retry)
    if device_n > rules.device_per_minute:
        raise RateLimited(_("这台设备的投票太频繁了，请稍后再试。"), retry_after=retry)


def vote_day(rules: Rules, now: datetime) -> date:
    if rules.period == VotePeriod.CAMPAIGN:
        return ONCE_DAY
    return timezone.localdate(now)


@dataclass(frozen=True)
class Cast:
    vote_id: int
    candidate_id: int
    day: date
    picks_used: int
    picks_allowed: int


def _tables() -> tuple[str, str]:
    q = connection.ops.quote_name
    return q(Vote._meta.db_table), q(VoterPicks._meta.db_table)


_VOTE_COLUMNS = (
    "campaign_id, candidate_id, category_id, voter_id, day, at, "
    "ip_hash, subnet_hash, device_hash, void_reason"
)


@functools.cache
def _sql(vendor: str) -> tuple[str, str]:
    """The vote statements for this database (table names from the models, never input)."""
    vote, picks = _tables()
    # The row lock of the picks upsert serialises one voter's picks in a category, so two picks
    # racing at the limit cannot both pass it.
    upsert_picks = (
        f"ON CONFLICT (voter_id, category_id, day) DO UPDATE SET picks = {picks}.picks + 1 "
        f"WHERE {picks}.picks < %s RETURNING picks"
    )
    if vendor == "postgresql":
        # One statement, one round trip, its own transaction: the pick is taken only while the
        # pair is not yet voted for and under the limit, and the vote row only with a pick.
        one = (
            f"WITH p AS (INSERT INTO {picks} (voter_id, category_id, day, picks) "  # noqa: S608
            f"SELECT %s, %s, %s, 1 WHERE NOT EXISTS (SELECT 1 FROM {vote} "
            "WHERE voter_id = %s AND candidate_id = %s AND day = %s) "
            f"{upsert_picks}), "
            f"v AS (INSERT INTO {vote} ({_VOTE_COLUMNS}) "
            "SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, '' FROM p "
            "ON CONFLICT (voter_id, candidate_id, day) DO NOTHING RETURNING id) "
            "SELECT (SELECT picks FROM p), (SELECT id FROM v)"
        )
        undo = f"UPDATE {picks} SET picks = picks - 1 WHERE voter_id = %s AND category_id = %s AND day = %s"  # noqa: S608
        return one, undo
    insert_vote = (
        f"INSERT INTO {vote} ({_VOTE_COLUMNS}) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, '') "
        "ON CONFLICT (voter_id, candidate_id, day) DO NOTHING RETURNING id"
    )
    take_pick = (
        f"INSERT INTO {picks} (voter_id, category_id, day, picks) VALUES (%s, %s, %s, 1) "  # noqa: S608
        f"{upsert_picks}"
    )
    return insert_vote, take_pick


class _OverLimit(Exception):
    pass


def cast_vote(
    voter: Any, campaign_id: int, candidate_id: int, origin: Origin, *, now: datetime | None = None
) -> Cast:
    """Count one vote, or raise: 401/403 (who), 404 (what), 409 (when, twice, limit), 429."""
    if not getattr(voter, "is_authenticated", False):
        raise ServiceError(_("请先用手机号登录再投票。"), code="unauthorized", status=401)
    if getattr(voter, "kind", None) != Role.CITIZEN or not getattr(voter, "phone_hash", ""):
        raise Forbidden(_("只有经手机号验证的群众账号可以投票。"), code="not_verified")
    rules = rules_for(campaign_id)
    moment = now or timezone.now()
    if rules.phase != Phase.VOTING or not rules.opens <= moment < rules.closes:
        raise Conflict(_("现在不在投票时间内。"), code="voting_closed")
    category_id = rules.candidates.get(candidate_id)
    if category_id is None:
        raise NotFound(_("本次评选没有这位候选人。"))
    if rules.real_name and not (getattr(voter, "display_name", "") or "").strip():
        raise Forbidden(_("本次评选要求实名投票，请先登记真实姓名。"), code="real_name_required")
    hashes = origin.hashes()
    _check_rate(rules, voter.pk, hashes, moment)
    day = vote_day(rules, moment)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        from exemplars import batcher

        group = batcher.batcher()
        if group is not None:
            done = group.submit(
                batcher.Pending(
                    rules.id, rules.picks, voter.pk, candidate_id, category_id, day, moment, hashes
                )
            )
            if done.error is not None:
                raise done.error
            if done.refused is not None:
                raise _already(rules) if done.refused == "already" else _over_limit(rules)
            assert done.vote_id is not None and done.picks is not None
            vote_id, used = done.vote_id, done.picks
        else:
            vote_id, used = _cast_pg(
                rules, voter.pk, candidate_id, category_id, day, moment, hashes
            )
    else:
        vote_id, used = _cast_two_statements(
            rules, voter.pk, candidate_id, category_id, day, moment, hashes
        )
    return Cast(vote_id, candidate_id, day, used, rules.picks)


def _already(rules: Rules) -> Conflict:
    return Conflict(
        _("您今天已经给这位候选人投过票了，明天再来吧。")
        if rules.period == VotePeriod.DAY
        else _("您已经给这位候选人投过票了。"),
        code="already_voted",
    )


def _over_limit(rules: Rules) -> Conflict:
    return Conflict(
        _("这个类别您最多可以支持 %(n)s 位候选人。") % {"n": rules.picks},
        code="pick_limit",
        detail={"picks_allowed": rules.picks},
    )


def _cast_pg(
    rules: Rules,
    voter_id: int,
    candidate_id: int,
    category_id: int,
    day: date,
    moment: datetime,
    hashes: tuple[str, str, str],
) -> tuple[int, int]:
    """PostgreSQL, outside any transaction: one statement is the whole vote (see ``_sql``)."""
    one, undo = _sql("postgresql")
    with connection.cursor() as cursor:
        cursor.execute(
            one,
            [
                *(voter_id, category_id, day, voter_id, candidate_id, day, rules.picks),
                *(rules.id, candidate_id, category_id, voter_id, day, moment, *hashes),
            ],
        )
        used, vote_id = cursor.fetchone() or (None, None)
        if vote_id is not None:
            return int(vote_id), int(used or 0)
        if used is not None:
            # The same pair raced itself: its twin committed the vote first, and this request
            # took a pick the conflict then left unused; give it back.
            cursor.execute(undo, [voter_id, category_id, day])
            raise _already(rules)
        cursor.execute(
            f"SELECT 1 FROM {_tables()[0]} WHERE voter_id = %s AND candidate_id = %s AND day = %s",  # noqa: S608
            [voter_id, candidate_id, day],
        )
        raise _already(rules) if cursor.fetchone() else _over_limit(rules)


def _cast_two_statements(
    rules: Rules,
    voter_id: int,
    candidate_id: int,
    category_id: int,
    day: date,
    moment: datetime,
    hashes: tuple[str, str, str],
) -> tuple[int, int]:
    """SQLite (no data-modifying WITH), or inside a caller's transaction: vote, then pick;
    an over-limit pick rolls the vote back."""
    insert_vote, take_pick = _sql(connection.vendor if connection.vendor == "sqlite" else "other")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                insert_vote,
                [rules.id, candidate_id, category_id, voter_id, day, moment, *hashes],
            )
            row = cursor.fetchone()
            if row is None:
                raise _already(rules)
            cursor.execute(take_pick, [voter_id, category_id, day, rules.picks])
            picks = cursor.fetchone()
            if picks is None:
                raise _OverLimit
    except _OverLimit:
        raise _over_limit(rules) from None
    return int(row[0]), int(picks[0])


def my_votes_today(voter: Any, campaign: Campaign, now: datetime | None = None) -> set[int]:
    """Candidates this voter has already voted for in the current period."""
    if not getattr(voter, "is_authenticated", False):
        return set()
    day = ONCE_DAY if campaign.vote_period == VotePeriod.CAMPAIGN else timezone.localdate(now)
    return set(
        Vote.objects.filter(campaign=campaign, voter=voter, day=day).values_list(
            "candidate_id", flat=True
        )
    )


# --- tallies, flags and voiding ---------------------------------------------------------------------
@dataclass(frozen=True)
class Tally:
    candidate_id: int
    valid: int
    voided: int


def tallies(campaign: Campaign) -> dict[int, Tally]:
    """Valid (not voided) and voided votes per candidate, counted by the database."""
    rows = (
        Vote.objects.filter(campaign=campaign)
        .values("candidate_id")
        .annotate(
            valid=Count("id", filter=Q(voided_at__isnull=True)),
            voided=Count("id", filter=Q(voided_at__isnull=False)),
        )
    )
    return {r["candidate_id"]: Tally(r["candidate_id"], r["valid"], r["voided"]) for r in rows}


def void_flag(actor: Any, flag: Flag, reason: str) -> int:
    """Void the flag's votes that still count; returns how many. Reason required, audited."""
    campaign = flag.campaign
    if not may_review_votes(actor, campaign):
        raise Forbidden(_("只有活动组织者或纪检监察人员可以复核投票。"))
    reason = _need_reason(reason)
    if campaign.phase == Phase.RESULTS:
        raise Conflict(_("结果已经公布，不能再作废投票。"), code="bad_phase")
    with transaction.atomic():
        locked = Flag.objects.select_for_update().get(pk=flag.pk)
        if locked.status != FlagStatus.OPEN:
            raise Conflict(_("这条标记已经复核过了。"), code="already_reviewed")
        now = timezone.now()
        ids = list(
            Vote.objects.filter(flags=locked, voided_at__isnull=True).values_list("id", flat=True)
        )
        Vote.objects.filter(id__in=ids).update(voided_at=now, void_reason=reason, voided_by=actor)
        locked.status, locked.review_reason = FlagStatus.VOIDED, reason
        locked.reviewed_by, locked.reviewed_at = actor, now
        locked.save(update_fields=["status", "review_reason", "reviewed_by", "reviewed_at"])
        record(
            actor,
            "exemplars.void",
            locked,
            after={"status": FlagStatus.VOIDED, "votes_voided": len(ids), "kind": locked.kind},
            reason=reason,
        )
    return len(ids)


def dismiss_flag(actor: Any, flag: Flag, reason: str) -> Flag:
    """The reviewer found the votes genuine: they keep counting; the reason is audited."""
    if not may_review_votes(actor, flag.campaign):
        raise Forbidden(_("只有活动组织者或纪检监察人员可以复核投票。"))
    reason = _need_reason(reason)
    with transaction.atomic():
        locked = Flag.objects.select_for_update().get(pk=flag.pk)
        if locked.status != FlagStatus.OPEN:
            raise Conflict(_("这条标记已经复核过了。"), code="already_reviewed")
        locked.status, locked.review_reason = FlagStatus.DISMISSED, reason
        locked.reviewed_by, locked.reviewed_at = actor, timezone.now()
        locked.save(update_fields=["status", "review_reason", "reviewed_by", "reviewed_at"])
        record(
            actor, "exemplars.flag_dismiss", locked, after={"status": locked.status}, reason=reason
        )
    return locked


def publish_results(actor: Any, campaign: Campaign) -> Campaign:
    """Freeze the tallies, rank per category and put the top ones on the honour roll."""
    _require_organiser(actor, campaign)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.phase != Phase.COUNTING:
            raise Conflict(_("投票结束、计票复核之后才能公布结果。"), code="bad_phase")
        if locked.flags.filter(status=FlagStatus.OPEN).exists():
            raise Conflict(_("还有可疑投票未复核，复核完毕才能公布结果。"), code="flags_pending")
        counts = tallies(locked)
        honoured: list[int] = []
        for category in locked.categories.all():
            ranked = sorted(
                Candidate.objects.accepted().filter(category=category),
                key=lambda c: (-(counts[c.pk].valid if c.pk in counts else 0), c.pk),
            )
            for rank, candidate in enumerate(ranked, start=1):
                tally = counts.get(candidate.pk, Tally(candidate.pk, 0, 0))
                candidate.final_votes, candidate.final_voided = tally.valid, tally.voided
                candidate.rank = rank
                candidate.honoured = rank <= locked.honours_per_category and tally.valid > 0
                candidate.save(update_fields=["final_votes", "final_voided", "rank", "honoured"])
                if candidate.honoured:
                    honoured.append(candidate.pk)
        locked.phase = Phase.RESULTS
        locked.results_published_at = timezone.now()
        locked.save(update_fields=["phase", "results_published_at"])
        record(
            actor,
            "exemplars.results",
            locked,
            before={"phase": Phase.COUNTING},
            after={"phase": Phase.RESULTS, "honoured": honoured},
        )
    forget_rules(locked.pk)
    return locked


def visible_campaigns(user: Any) -> QuerySet[Campaign]:
    """Workbench list: the campaigns the user may open — those of the units (and units below)
    where they organise, administer or inspect (auditors review votes), and those without a
    unit for anyone holding one of those roles. The same reach as ``may_review_votes``."""
    from org.roles import units_for

    roles = (Role.ORGANISER, Role.ADMIN, Role.AUDITOR)
    reach = Q()
    for role in roles:
        reach |= Q(unit__in=units_for(user, role.value))
    if has_role(user, *roles):
        reach |= Q(unit__isnull=True)
    return Campaign.objects.select_related("unit").filter(reach)
