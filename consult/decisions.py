"""Decisions that report back (意见采纳情况).

A decision links the consultations it drew on — questionnaires (surveys app), drafts, hearings,
opinion maps. Linking copies their opinions as adoption items: a questionnaire's free-text
themes, a draft's comment themes, a hearing's recorded statements, an opinion map's consensus
and group-distinctive statements. Each item is marked adopted / partly adopted / not adopted;
anything but "adopted" needs a reason. Publishing the feedback page notifies everyone who took
part (in-app, and by SMS where a number is on file) after the commit.

Adoption rate of a unit (the KPI): over the items of its published decisions,
``(adopted + partly adopted) / items``, with full adoption reported beside it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.services import record
from consult import maps
from consult.common import Invalid, require_organiser
from consult.models import (
    TITLE_LIMIT,
    Adoption,
    AdoptionItem,
    Decision,
    DecisionLink,
    Draft,
    Hearing,
    MapVote,
    OpinionMap,
    Source,
)
from minsheng.errors import Conflict, NotFound

log = logging.getLogger("minsheng.consult")


@transaction.atomic
def create_decision(
    actor: Any, *, unit: Any, title: str, text: str, decided_on: dt.date
) -> Decision:
    require_organiser(actor, unit)
    if not title.strip() or not text.strip():
        raise Invalid(_("请填写决策名称和内容。"), detail={"field": "title"})
    row = Decision.objects.create(
        unit=unit,
        title=title.strip()[:TITLE_LIMIT],
        text=text.strip(),
        decided_on=decided_on,
        created_by=actor,
    )
    record(actor, "consult.decision.create", row, after={"title": row.title})
    return row


@dataclass(frozen=True)
class Opinion:
    ref: str
    text: str
    context: str
    count: int


def _questionnaire_opinions(ref_id: int) -> tuple[str, list[Opinion]]:
    from surveys import services as surveys
    from surveys.models import Kind, Questionnaire

    q = Questionnaire.objects.filter(pk=ref_id).first()
    if q is None:
        raise NotFound(_("问卷不存在。"))
    out: list[Opinion] = []
    for number, question in enumerate(
        q.questions.order_by("section__position", "position", "pk"), start=1
    ):
        if question.kind != Kind.TEXT:
            continue
        for theme in surveys.themes(question):
            out.append(
                Opinion(
                    f"survey_theme:{theme.pk}",
                    theme.label[:500],
                    f"{number}. {question.text}"[:300],
                    theme.count,
                )
            )
    return q.title, out


def _draft_opinions(ref_id: int) -> tuple[str, list[Opinion]]:
    draft = Draft.objects.filter(pk=ref_id).first()
    if draft is None:
        raise NotFound(_("征求意见稿不存在。"))
    out = [
        Opinion(
            f"comment_theme:{t.pk}",
            t.label[:500],
            (t.article.heading if t.article else "")[:300],
            t.count,
        )
        for t in draft.themes.select_related("article")
    ]
    return draft.title, out


def _hearing_opinions(ref_id: int) -> tuple[str, list[Opinion]]:
    hearing = Hearing.objects.filter(pk=ref_id).first()
    if hearing is None:
        raise NotFound(_("听证会不存在。"))
    out = [
        Opinion(f"hearing_statement:{s.pk}", s.text[:500], s.speaker[:300], 1)
        for s in hearing.statements.all()
    ]
    return hearing.title, out


def _map_opinions(ref_id: int) -> tuple[str, list[Opinion]]:
    opinion_map = OpinionMap.objects.filter(pk=ref_id).first()
    if opinion_map is None:
        raise NotFound(_("意见地图不存在。"))
    data = maps.result(opinion_map, force=True)
    out: list[Opinion] = []
    seen: set[int] = set()
    for s in data["consensus"]:
        seen.add(s["statement"])
        out.append(
            Opinion(f"map_statement:{s['statement']}", s["text"], str(_("各组共识")), s["agree"])
        )
    for g in data["groups"]:
        for s in g["distinctive"]:
            if s["statement"] in seen:
                continue
            seen.add(s["statement"])
            out.append(
                Opinion(
                    f"map_statement:{s['statement']}",
                    s["text"],
                    str(_("%(g)s组的主张") % {"g": g["label"]}),
                    s["agree"],
                )
            )
    return opinion_map.title, out


OPINIONS = {
    Source.QUESTIONNAIRE: _questionnaire_opinions,
    Source.DRAFT: _draft_opinions,
    Source.HEARING: _hearing_opinions,
    Source.OPINION_MAP: _map_opinions,
}


@transaction.atomic
def link(actor: Any, decision: Decision, kind: str, ref_id: int) -> DecisionLink:
    """Link a consultation and copy its current opinions as items (again: adds new ones)."""
    require_organiser(actor, decision.unit)
    if kind not in OPINIONS:
        raise Invalid(_("未知的来源类型。"), detail={"field": "kind"})
    title, opinions = OPINIONS[Source(kind)](ref_id)
    row, _created = DecisionLink.objects.get_or_create(
        decision=decision, kind=kind, ref_id=ref_id, defaults={"title": title[:TITLE_LIMIT]}
    )
    start = decision.items.count()
    existing = set(decision.items.values_list("ref", flat=True))
    fresh = [o for o in opinions if o.ref not in existing]
    AdoptionItem.objects.bulk_create(
        AdoptionItem(
            decision=decision,
            link=row,
            ref=o.ref,
            text=o.text,
            context=o.context,
            count=o.count,
            position=start + i,
        )
        for i, o in enumerate(fresh)
    )
    record(
        actor,
        "consult.decision.link",
        decision,
        after={"kind": kind, "ref": ref_id, "items": len(fresh)},
    )
    return row


@transaction.atomic
def mark(actor: Any, item: AdoptionItem, status: str, reason: str = "") -> AdoptionItem:
    require_organiser(actor, item.decision.unit)
    if status not in (Adoption.ADOPTED, Adoption.PARTLY, Adoption.NOT_ADOPTED):
        raise Invalid(_("采纳情况只能是采纳、部分采纳或未采纳。"), detail={"field": "status"})
    reason = (reason or "").strip()
    if status != Adoption.ADOPTED and not reason:
        raise Invalid(_("部分采纳或未采纳的意见须说明理由。"), detail={"field": "reason"})
    before = {"status": item.status, "reason": item.reason}
    item.status, item.reason = status, reason
    item.save(update_fields=["status", "reason"])
    record(
        actor,
        "consult.decision.mark",
        item,
        before=before,
        after={"status": status, "reason": reason},
    )
    return item


def participants(decision: Decision) -> set[int]:
    """User ids of everyone who took part in the decision's consultations while signed in."""
    users: set[int] = set()
    for link_row in decision.links.all():
        if link_row.kind == Source.QUESTIONNAIRE:
            from surveys import services as surveys
            from surveys.models import Questionnaire

            q = Questionnaire.objects.filter(pk=link_row.ref_id).first()
            if q is not None:
                users.update(surveys.participants(q).values_list("pk", flat=True))
        elif link_row.kind == Source.DRAFT:
            users.update(
                Draft.objects.filter(
                    pk=link_row.ref_id, comments__author__isnull=False
                ).values_list("comments__author", flat=True)
            )
        elif link_row.kind == Source.HEARING:
            users.update(
                Hearing.objects.filter(pk=link_row.ref_id).values_list(
                    "registrations__user", flat=True
                )
            )
        elif link_row.kind == Source.OPINION_MAP:
            users.update(
                MapVote.objects.filter(map_id=link_row.ref_id, user__isnull=False).values_list(
                    "user", flat=True
                )
            )
    users.discard(None)  # type: ignore[arg-type]
    return users


@transaction.atomic
def publish(actor: Any, decision: Decision) -> Decision:
    require_organiser(actor, decision.unit)
    if not decision.links.exists():
        raise Invalid(_("请先关联至少一项意见征集活动。"), detail={"field": "links"})
    pending = decision.items.filter(status=Adoption.PENDING).count()
    if pending:
        raise Invalid(
            _("还有%(n)s条意见未标明采纳情况。") % {"n": pending},
            code="items_pending",
            detail={"pending": pending},
        )
    if not Decision.objects.filter(pk=decision.pk, published_at__isnull=True).update(
        published_at=timezone.now()
    ):
        raise Conflict(_("采纳情况已经公布。"))
    decision.refresh_from_db()
    record(actor, "consult.decision.publish", decision)
    decision_id = decision.pk
    _queue_notify(decision_id)
    return decision


def _queue_notify(decision_id: int) -> None:
    """Through the outbox, inside the publishing transaction: a process killed after the commit
    loses no notice."""
    from consult.tasks import notify_decision
    from minsheng.outbox import delay_on_commit

    delay_on_commit(notify_decision, decision_id)


@dataclass(frozen=True)
class Rate:
    unit_id: int
    unit: str
    decisions: int
    items: int
    adopted: int
    partly: int
    not_adopted: int

    @property
    def rate(self) -> float | None:
        return (self.adopted + self.partly) / self.items if self.items else None

    @property
    def full_rate(self) -> float | None:
        return self.adopted / self.items if self.items else None


def adoption_rates(units: Iterable[int] | None = None) -> list[Rate]:
    """The KPI per unit over published decisions, best rate first."""
    qs = AdoptionItem.objects.filter(decision__published_at__isnull=False)
    if units is not None:
        qs = qs.filter(decision__unit_id__in=list(units))
    rows = (
        qs.values("decision__unit_id", "decision__unit__name")
        .annotate(
            decisions=Count("decision", distinct=True),
            items=Count("pk"),
            adopted=Count("pk", filter=Q(status=Adoption.ADOPTED)),
            partly=Count("pk", filter=Q(status=Adoption.PARTLY)),
            not_adopted=Count("pk", filter=Q(status=Adoption.NOT_ADOPTED)),
        )
        .order_by("decision__unit_id")
    )
    out = [
        Rate(
            r["decision__unit_id"],
            r["decision__unit__name"],
            r["decisions"],
            r["items"],
            r["adopted"],
            r["partly"],
            r["not_adopted"],
        )
        for r in rows
    ]
    return sorted(out, key=lambda r: (-(r.rate or 0.0), r.unit_id))


def user_model() -> Any:
    return get_user_model()
