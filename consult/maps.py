"""Opinion maps: statements (seeded and proposed, moderated), votes, and the cached grouping.

A participant is a signed-in citizen (``u<id>``) or, when the map allows it, an anonymous
device (``d<keyed hash of its cookie>``). One vote per participant and statement, changeable:
the unique constraint decides a race, the loser of an insert turns into an update, so two
simultaneous first votes count once.

The grouping (``consult.grouping``) is cached on the map with the vote version it read and is
recomputed on the next read after votes changed, at most once per
``CONSULT_MAP_THROTTLE_SECONDS`` (default 30 s) so a busy map is not regrouped on every view.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.services import record
from consult import grouping
from consult.common import Invalid, is_citizen, require_organiser, throttle
from consult.models import STATEMENT_LIMIT, TITLE_LIMIT, MapStatement, MapVote, OpinionMap
from minsheng.errors import Conflict, Forbidden, ServiceError

VOTES_PER_MINUTE = 60
PROPOSALS_PER_HOUR = 5
GROUPING_SEED = 20260101
POINTS_SHOWN = 1500


@transaction.atomic
def create_map(
    actor: Any,
    *,
    unit: Any,
    title: str,
    description: str,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    anonymous_allowed: bool = True,
    statements: list[str] | None = None,
) -> OpinionMap:
    require_organiser(actor, unit)
    if not title.strip():
        raise Invalid(_("请填写议题。"), detail={"field": "title"})
    if closes_at <= opens_at:
        raise Invalid(_("截止时间必须晚于开始时间。"), detail={"field": "closes_at"})
    row = OpinionMap.objects.create(
        unit=unit,
        title=title.strip()[:TITLE_LIMIT],
        description=description,
        opens_at=opens_at,
        closes_at=closes_at,
        anonymous_allowed=anonymous_allowed,
        created_by=actor,
    )
    record(actor, "consult.map.create", row, after={"title": row.title})
    for text in statements or []:
        if text.strip():
            seed_statement(actor, row, text)
    return row


def _clean_statement(text: str) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise Invalid(_("请填写观点。"), detail={"field": "text"})
    if len(text) > STATEMENT_LIMIT:
        raise Invalid(_("观点请控制在140字以内，一条只说一件事。"), detail={"field": "text"})
    return text


@transaction.atomic
def seed_statement(actor: Any, opinion_map: OpinionMap, text: str) -> MapStatement:
    require_organiser(actor, opinion_map.unit)
    row = MapStatement.objects.create(
        map=opinion_map,
        text=_clean_statement(text),
        author=actor,
        seeded=True,
        state=MapStatement.State.APPROVED,
    )
    record(actor, "consult.statement.seed", row, after={"text": row.text})
    return row


@transaction.atomic
def publish_map(actor: Any, opinion_map: OpinionMap) -> OpinionMap:
    require_organiser(actor, opinion_map.unit)
    if not opinion_map.statements.filter(state=MapStatement.State.APPROVED).exists():
        raise Invalid(_("请先添加至少一条观点。"), detail={"field": "statements"})
    if not OpinionMap.objects.filter(pk=opinion_map.pk, published_at__isnull=True).update(
        published_at=timezone.now()
    ):
        raise Conflict(_("意见地图已经发布。"))
    opinion_map.refresh_from_db()
    record(actor, "consult.map.publish", opinion_map)
    return opinion_map


def participant_key(actor: Any, device: str, opinion_map: OpinionMap) -> str:
    if is_citizen(actor):
        return f"u{actor.pk}"
    if getattr(actor, "is_authenticated", False):
        raise Forbidden(_("工作人员账号不能参与投票。"))
    if not opinion_map.anonymous_allowed:
        raise ServiceError(_("本次讨论需用手机号登录后参与。"), code="unauthorized", status=401)
    if not device:
        raise Invalid(_("请允许本站保存 Cookie 后再参与。"), detail={"field": "device"})
    return f"d{device}"


def _check_open(opinion_map: OpinionMap) -> None:
    if not opinion_map.is_open():
        raise Conflict(_("本次讨论不在开放时间内。"), code="window_closed")


def propose(actor: Any, opinion_map: OpinionMap, text: str, *, device: str = "") -> MapStatement:
    """A participant's statement waits in the moderation queue."""
    _check_open(opinion_map)
    key = participant_key(actor, device, opinion_map)
    text = _clean_statement(text)
    throttle(f"map{opinion_map.pk}:propose", key, PROPOSALS_PER_HOUR, 3600)
    with transaction.atomic():
        row = MapStatement.objects.create(
            map=opinion_map,
            text=text,
            author=actor if is_citizen(actor) else None,
            device="" if is_citizen(actor) else device,
        )
        record(actor if is_citizen(actor) else None, "consult.statement.propose", row)
    return row


@transaction.atomic
def moderate(actor: Any, statement: MapStatement, approve: bool) -> MapStatement:
    require_organiser(actor, statement.map.unit)
    target = MapStatement.State.APPROVED if approve else MapStatement.State.REJECTED
    if not MapStatement.objects.filter(pk=statement.pk, state=MapStatement.State.PENDING).update(
        state=target
    ):
        raise Conflict(_("这条观点已经审核过了。"))
    statement.refresh_from_db()
    record(actor, "consult.statement.moderate", statement, after={"state": target})
    return statement


def vote(actor: Any, statement: MapStatement, value: int, *, device: str = "") -> MapVote:
    """Agree (1), disagree (−1) or pass (0); a second vote on the same statement replaces the
    first."""
    opinion_map = statement.map
    if value not in (-1, 0, 1):
        raise Invalid(_("投票只能是同意、不同意或跳过。"), detail={"field": "value"})
    _check_open(opinion_map)
    if statement.state != MapStatement.State.APPROVED:
        raise Conflict(_("这条观点尚未通过审核。"))
    key = participant_key(actor, device, opinion_map)
    throttle(f"map{opinion_map.pk}:vote", key, VOTES_PER_MINUTE, 60)
    user = actor if is_citizen(actor) else None
    now = timezone.now()
    for _attempt in range(2):
        try:
            with transaction.atomic():
                row = (
                    MapVote.objects.select_for_update()
                    .filter(statement=statement, participant=key)
                    .first()
                )
                if row is None:
                    row = MapVote.objects.create(
                        map=opinion_map,
                        statement=statement,
                        participant=key,
                        user=user,
                        value=value,
                        updated=now,
                    )
                elif row.value != value:
                    row.value, row.updated = value, now
                    row.save(update_fields=["value", "updated"])
                else:
                    return row
                OpinionMap.objects.filter(pk=opinion_map.pk).update(
                    votes_version=F("votes_version") + 1
                )
                return row
        except IntegrityError:
            # Another request inserted this participant's vote first: update it instead.
            continue
    raise Conflict(_("投票冲突，请重试。"))


def my_votes(opinion_map: OpinionMap, key: str | None) -> dict[int, int]:
    if not key:
        return {}
    return dict(
        MapVote.objects.filter(map=opinion_map, participant=key).values_list(
            "statement_id", "value"
        )
    )


def compute(opinion_map: OpinionMap) -> dict[str, Any]:
    """Group the map's current votes (approved statements only); JSON-ready."""
    statements = list(
        opinion_map.statements.filter(state=MapStatement.State.APPROVED)
        .order_by("pk")
        .values_list("pk", "text")
    )
    column = {pk: j for j, (pk, _t) in enumerate(statements)}
    votes = list(
        MapVote.objects.filter(map=opinion_map, statement_id__in=column).values_list(
            "participant", "statement_id", "value"
        )
    )
    people = sorted({p for p, _s, _v in votes})
    row_of = {p: i for i, p in enumerate(people)}
    rows = np.fromiter((row_of[p] for p, _s, _v in votes), dtype=np.int64, count=len(votes))
    cols = np.fromiter((column[s] for _p, s, _v in votes), dtype=np.int64, count=len(votes))
    values = np.fromiter((v for _p, _s, v in votes), dtype=np.int8, count=len(votes))
    texts = {j: t for j, (_pk, t) in enumerate(statements)}
    ids = {j: pk for j, (pk, _t) in enumerate(statements)}
    totals: dict[int, dict[str, int]] = {
        ids[j]: {"agree": 0, "disagree": 0, "pass": 0} for j in texts
    }
    for _p, s, v in votes:
        totals[s]["agree" if v > 0 else "disagree" if v < 0 else "pass"] += 1
    out: dict[str, Any] = {
        "participants": len(people),
        "votes": len(votes),
        "statements": [{"id": ids[j], "text": texts[j], **totals[ids[j]]} for j in sorted(texts)],
        "groups": [],
        "consensus": [],
        "assignment": {},
        "points": [],
    }
    result = grouping.group(len(people), len(statements), rows, cols, values, seed=GROUPING_SEED)
    if result is None:
        return out

    def scored(s: grouping.StatementScore) -> dict[str, Any]:
        return {**s.to_dict(), "statement": ids[s.statement], "text": texts[s.statement]}

    out["groups"] = [
        {
            "label": g.label,
            "size": g.size,
            "centre": [round(c, 4) for c in g.centre],
            "distinctive": [scored(s) for s in g.distinctive],
        }
        for g in result.groups
    ]
    out["consensus"] = [scored(s) for s in result.consensus[:10]]
    out["silhouette"] = round(result.silhouette, 4)
    out["explained"] = [round(e, 4) for e in result.explained]
    out["assignment"] = {
        people[int(r)]: int(g) for r, g in zip(result.grouped, result.assignment, strict=True)
    }
    step = max(1, len(result.grouped) // POINTS_SHOWN)
    out["points"] = [
        [round(float(x), 3), round(float(y), 3), int(g)]
        for (x, y), g in list(zip(result.points.tolist(), result.assignment.tolist(), strict=True))[
            ::step
        ]
    ]
    return out


def result(opinion_map: OpinionMap, *, force: bool = False) -> dict[str, Any]:
    """The cached grouping, recomputed when votes changed and the throttle allows."""
    throttle_s = int(getattr(settings, "CONSULT_MAP_THROTTLE_SECONDS", 30))
    opinion_map.refresh_from_db(fields=["votes_version", "result", "result_version", "result_at"])
    stale = opinion_map.result_version != opinion_map.votes_version
    recent = opinion_map.result_at is not None and (
        timezone.now() - opinion_map.result_at
    ) < dt.timedelta(seconds=throttle_s)
    if not force and opinion_map.result and (not stale or recent):
        return opinion_map.result
    # One recomputation at a time per map; others serve the cached result meanwhile.
    lock = f"consult:map:{opinion_map.pk}:computing"
    if not cache.add(lock, 1, 120) and opinion_map.result:
        return opinion_map.result
    try:
        version = opinion_map.votes_version
        data = compute(opinion_map)
        OpinionMap.objects.filter(pk=opinion_map.pk).update(
            result=data, result_version=version, result_at=timezone.now()
        )
        opinion_map.result, opinion_map.result_version = data, version
        return data
    finally:
        cache.delete(lock)
