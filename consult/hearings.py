"""Hearings (听证会): notice, registration by category, the reproducible stratified draw,
participant list, materials at least 7 days ahead, agenda, statements, minutes, outcome.

The draw itself is plain Python in ``consult.draw``; this module fixes who may run it, when, and
that it runs once: the hearing row is claimed with a conditional UPDATE (``drawn_at IS NULL``),
so a second run — with the same or another seed — is refused with 409.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.services import record
from consult import draw as lottery
from consult.common import Invalid, is_citizen, require_organiser
from consult.models import (
    REASON_LIMIT,
    TITLE_LIMIT,
    Category,
    Hearing,
    HearingStatement,
    Material,
    Notice,
    Registration,
)
from minsheng.errors import Conflict, Forbidden, ServiceError

MATERIALS_DAYS_AHEAD = 7
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _check_schedule(opens: dt.datetime, closes: dt.datetime, starts: dt.datetime) -> None:
    if closes <= opens:
        raise Invalid(
            _("报名截止时间必须晚于报名开始时间。"), detail={"field": "registration_closes"}
        )
    if starts <= closes:
        raise Invalid(_("听证会必须在报名截止之后举行。"), detail={"field": "starts_at"})


def _check_seats(seats: dict[str, Any]) -> dict[str, int]:
    clean: dict[str, int] = {}
    for key, value in seats.items():
        if key not in Category.values:
            raise Invalid(_("未知的报名类别：%(c)s") % {"c": key}, detail={"field": "seats"})
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise Invalid(_("名额必须是整数。"), detail={"field": "seats"}) from None
        if number < 0 or number > 500:
            raise Invalid(_("每类名额应在0到500之间。"), detail={"field": "seats"})
        if number:
            clean[key] = number
    if not clean:
        raise Invalid(_("至少为一个类别设置名额。"), detail={"field": "seats"})
    return clean


@transaction.atomic
def create_hearing(
    actor: Any,
    *,
    unit: Any,
    title: str,
    matter: str,
    place: str,
    starts_at: dt.datetime,
    registration_opens: dt.datetime,
    registration_closes: dt.datetime,
    seats: dict[str, Any],
    seed_commitment: str = "",
    seed_source: str = "",
    agenda: str = "",
) -> Hearing:
    require_organiser(actor, unit)
    if not title.strip() or not matter.strip() or not place.strip():
        raise Invalid(_("请填写听证事项、内容和地点。"), detail={"field": "title"})
    _check_schedule(registration_opens, registration_closes, starts_at)
    commitment = seed_commitment.strip().lower()
    if commitment and not _HEX64.match(commitment):
        raise Invalid(
            _("种子承诺值应为64位十六进制的SHA-256摘要。"), detail={"field": "seed_commitment"}
        )
    if not commitment and not seed_source.strip():
        raise Invalid(
            _(
                "请公布抽签种子的来源：填写秘密种子的SHA-256承诺值，或说明将采用的公开数值"
                "（如报名截止后某期福利彩票开奖号码）。"
            ),
            detail={"field": "seed_source"},
        )
    hearing = Hearing.objects.create(
        unit=unit,
        title=title.strip()[:TITLE_LIMIT],
        matter=matter.strip(),
        place=place.strip()[:TITLE_LIMIT],
        starts_at=starts_at,
        registration_opens=registration_opens,
        registration_closes=registration_closes,
        seats=_check_seats(seats),
        seed_commitment=commitment,
        seed_source=seed_source.strip()[:300],
        agenda=agenda,
        created_by=actor,
    )
    record(
        actor,
        "consult.hearing.create",
        hearing,
        after={"title": hearing.title, "seats": hearing.seats, "commitment": commitment},
    )
    return hearing


@transaction.atomic
def publish_hearing(actor: Any, hearing: Hearing, now: dt.datetime | None = None) -> Hearing:
    """Publish the notice. It must come before registration opens is not required, but it must
    come before registration closes, so people can still apply."""
    require_organiser(actor, hearing.unit)
    now = now or timezone.now()
    if hearing.registration_closes <= now:
        raise Conflict(_("报名截止时间已过，不能再发布公告，请修改日程。"))
    updated = Hearing.objects.filter(pk=hearing.pk, published_at__isnull=True).update(
        published_at=now
    )
    if not updated:
        raise Conflict(_("公告已经发布。"))
    hearing.refresh_from_db()
    record(actor, "consult.hearing.publish", hearing)
    return hearing


def register(
    actor: Any,
    hearing: Hearing,
    *,
    category: str,
    name: str,
    reason: str,
    organisation: str = "",
    now: dt.datetime | None = None,
) -> Registration:
    """A signed-in citizen applies for a seat in one category, with a reason."""
    now = now or timezone.now()
    if not is_citizen(actor):
        if getattr(actor, "is_authenticated", False):
            raise Forbidden(_("请使用群众账号（手机号登录）报名。"))
        raise ServiceError(_("请先用手机号登录再报名。"), code="unauthorized", status=401)
    if hearing.published_at is None:
        raise Conflict(_("听证公告尚未发布。"))
    if not hearing.registration_open(now):
        raise Conflict(
            _("报名时间为%(start)s至%(end)s，现在不在报名期内。")
            % {
                "start": timezone.localtime(hearing.registration_opens).strftime("%Y-%m-%d %H:%M"),
                "end": timezone.localtime(hearing.registration_closes).strftime("%Y-%m-%d %H:%M"),
            },
            code="registration_closed",
        )
    if category not in hearing.seats:
        raise Invalid(_("本次听证会不设该类别。"), detail={"field": "category"})
    name, reason = (name or "").strip(), (reason or "").strip()
    if not name or len(name) > 50:
        raise Invalid(_("请填写姓名（50字以内）。"), detail={"field": "name"})
    if not reason or len(reason) > REASON_LIMIT:
        raise Invalid(_("请填写报名理由（1000字以内）。"), detail={"field": "reason"})
    try:
        with transaction.atomic():
            row = Registration.objects.create(
                hearing=hearing,
                user=actor,
                category=category,
                name=name,
                organisation=organisation.strip()[:TITLE_LIMIT],
                reason=reason,
                created=now,
            )
            record(actor, "consult.hearing.register", row, after={"category": category})
    except IntegrityError:
        raise Conflict(_("您已报名本次听证会，每人只能报名一次。"), code="duplicate") from None
    return row


def draw_applicants(hearing: Hearing) -> list[tuple[int, str]]:
    return list(hearing.registrations.order_by("pk").values_list("pk", "category"))


def run_draw(
    actor: Any, hearing: Hearing, seed: str, now: dt.datetime | None = None
) -> list[lottery.Ticket]:
    """Draw the representatives with ``seed``, once. With a published commitment the seed must
    hash to it."""
    require_organiser(actor, hearing.unit)
    now = now or timezone.now()
    seed = (seed or "").strip()
    if hearing.drawn_at is not None:
        raise Conflict(
            _("本次听证会已于%(at)s抽签，种子为“%(seed)s”，不能再次抽签。")
            % {
                "at": timezone.localtime(hearing.drawn_at).strftime("%Y-%m-%d %H:%M"),
                "seed": hearing.seed,
            },
            code="already_drawn",
        )
    if hearing.published_at is None:
        raise Conflict(_("听证公告尚未发布。"))
    if now < hearing.registration_closes:
        raise Conflict(_("报名截止后才能抽签。"), code="registration_open")
    if not seed or len(seed) > 200:
        raise Invalid(_("请输入抽签种子（200字以内）。"), detail={"field": "seed"})
    if hearing.seed_commitment and lottery.commitment(seed) != hearing.seed_commitment:
        raise Invalid(
            _("该种子的SHA-256与公告中公布的承诺值不符，请输入报名前承诺的那个种子。"),
            code="seed_mismatch",
            detail={"field": "seed"},
        )
    with transaction.atomic():
        claimed = Hearing.objects.filter(pk=hearing.pk, drawn_at__isnull=True).update(
            drawn_at=now, seed=seed, drawn_by=actor
        )
        if not claimed:
            hearing.refresh_from_db()
            raise Conflict(_("本次听证会已抽签，不能再次抽签。"), code="already_drawn")
        tickets = lottery.draw(seed, hearing.pk, draw_applicants(hearing), hearing.seats)
        rows = {r.pk: r for r in hearing.registrations.all()}
        for t in tickets:
            row = rows[t.registration_id]
            row.rank, row.score = t.rank, t.score
            row.status = Registration.Status.SELECTED if t.selected else Registration.Status.RESERVE
        Registration.objects.bulk_update(rows.values(), ["rank", "score", "status"])
        result_digest = lottery.digest(tickets)
        Hearing.objects.filter(pk=hearing.pk).update(draw_digest=result_digest)
        record(
            actor,
            "consult.hearing.draw",
            hearing,
            after={
                "seed": seed,
                "method": lottery.METHOD,
                "digest": result_digest,
                "selected": sum(t.selected for t in tickets),
                "applicants": len(tickets),
            },
        )
        transaction.on_commit(lambda: _notify_draw(hearing.pk))
    hearing.refresh_from_db()
    return tickets


def verify(hearing: Hearing) -> tuple[bool, list[lottery.Ticket]]:
    """Re-run the published draw; True when it gives the stored outcome."""
    if hearing.drawn_at is None:
        raise Conflict(_("本次听证会尚未抽签。"))
    tickets = lottery.draw(hearing.seed, hearing.pk, draw_applicants(hearing), hearing.seats)
    stored = {r.pk: (r.rank, r.status) for r in hearing.registrations.all()}
    same = (
        all(
            stored.get(t.registration_id)
            == (t.rank, Registration.Status.SELECTED if t.selected else Registration.Status.RESERVE)
            for t in tickets
        )
        and lottery.digest(tickets) == hearing.draw_digest
    )
    return same, tickets


def _notify_draw(hearing_id: int) -> None:
    hearing = Hearing.objects.get(pk=hearing_id)
    rows = [
        Notice(
            user_id=r.user_id,
            key=f"hearing:{hearing.pk}:draw",
            title=str(_("听证会抽签结果：%(t)s") % {"t": hearing.title}),
            body=str(
                _("您已入选，请按时参加。")
                if r.status == Registration.Status.SELECTED
                else _("您未入选，列为候补第%(n)s位。") % {"n": r.rank}
            ),
            url=f"/consult/hearings/{hearing.pk}/",
        )
        for r in hearing.registrations.all()
    ]
    Notice.objects.bulk_create(rows, ignore_conflicts=True)


def materials_deadline(hearing: Hearing) -> dt.datetime:
    return hearing.starts_at - dt.timedelta(days=MATERIALS_DAYS_AHEAD)


@transaction.atomic
def add_material(
    actor: Any, hearing: Hearing, title: str, text: str, now: dt.datetime | None = None
) -> Material:
    """Materials reach participants at least 7 days before the hearing; later ones are refused
    unless the hearing is moved to a later date."""
    require_organiser(actor, hearing.unit)
    now = now or timezone.now()
    if now > materials_deadline(hearing):
        raise Conflict(
            _(
                "听证材料须在听证会举行7日前送达（截止%(at)s），现已逾期；如需补充材料，请先将听证会延期。"
            )
            % {"at": timezone.localtime(materials_deadline(hearing)).strftime("%Y-%m-%d %H:%M")},
            code="materials_late",
        )
    if not title.strip() or not text.strip():
        raise Invalid(_("请填写材料名称和内容。"), detail={"field": "title"})
    row = Material.objects.create(
        hearing=hearing, title=title.strip()[:TITLE_LIMIT], text=text.strip(), delivered_at=now
    )
    record(actor, "consult.hearing.material", row, after={"title": row.title})
    users = hearing.registrations.filter(status=Registration.Status.SELECTED).values_list(
        "user_id", flat=True
    )
    transaction.on_commit(
        lambda: Notice.objects.bulk_create(
            [
                Notice(
                    user_id=u,
                    key=f"material:{row.pk}",
                    title=str(_("听证材料已送达：%(t)s") % {"t": row.title}),
                    body=hearing.title,
                    url=f"/consult/hearings/{hearing.pk}/",
                )
                for u in users
            ],
            ignore_conflicts=True,
        )
    )
    return row


@transaction.atomic
def move_hearing(actor: Any, hearing: Hearing, starts_at: dt.datetime, reason: str) -> Hearing:
    require_organiser(actor, hearing.unit)
    if not reason.strip():
        raise Invalid(_("请说明延期理由。"), detail={"field": "reason"})
    if starts_at <= hearing.registration_closes:
        raise Invalid(_("新的举行时间必须在报名截止之后。"), detail={"field": "starts_at"})
    before = {"starts_at": hearing.starts_at}
    hearing.starts_at, hearing.moved_at = starts_at, timezone.now()
    hearing.move_reason = reason.strip()[:REASON_LIMIT]
    hearing.save(update_fields=["starts_at", "moved_at", "move_reason"])
    record(
        actor,
        "consult.hearing.move",
        hearing,
        before=before,
        after={"starts_at": starts_at},
        reason=hearing.move_reason,
    )
    return hearing


@transaction.atomic
def update_record(actor: Any, hearing: Hearing, **fields: str) -> Hearing:
    """Agenda, minutes and outcome: free text the organiser keeps up to date."""
    require_organiser(actor, hearing.unit)
    allowed = {"agenda", "minutes", "outcome"}
    changed = {k: v.strip() for k, v in fields.items() if k in allowed and v is not None}
    before = {k: getattr(hearing, k) for k in changed}
    for key, value in changed.items():
        setattr(hearing, key, value)
    hearing.save(update_fields=list(changed))
    record(actor, "consult.hearing.record", hearing, before=before, after=changed)
    return hearing


@transaction.atomic
def add_statement(
    actor: Any,
    hearing: Hearing,
    *,
    speaker: str,
    text: str,
    registration: Registration | None = None,
) -> HearingStatement:
    require_organiser(actor, hearing.unit)
    if not speaker.strip() or not text.strip():
        raise Invalid(_("请填写发言人和发言要点。"), detail={"field": "text"})
    if registration is not None and registration.hearing_id != hearing.pk:
        raise Invalid(_("发言人不是本次听证会的参加人。"), detail={"field": "registration"})
    position = hearing.statements.count() + 1
    row = HearingStatement.objects.create(
        hearing=hearing,
        registration=registration,
        speaker=speaker.strip()[:100],
        text=text.strip(),
        position=position,
    )
    record(actor, "consult.hearing.statement", row, after={"speaker": row.speaker})
    return row
