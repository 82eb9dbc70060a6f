"""Repeated claims (重复诉求、重复信访): a new appeal that repeats a matter already concluded for
the same citizen is recognised after intake, shown to the intake unit with the earlier outcome
and the legal basis, and answered with the lawful reply — never dropped in silence.

Recognition (``check``, run after intake commits, beside ``appeals.duplicates``):

* the same citizen: the same signed-in account, or the same contact phone (its vault blind
  index, so no phone is decrypted to compare). Appeals carry no ID number, so that is not used;
* the earlier appeal is concluded: answered (答复、回访), closed (结案) or refused (不予受理),
  among the citizen's most recent ``POOL_LIMIT``; withdrawn and merged appeals are not;
* the texts are alike: Jaccard similarity of normalised character pairs (``duplicates.similarity``,
  the same measure the duplicate check uses) from ``threshold()`` (0.30, justified in
  docs/repeats.md with real pairs). The overlap of segmented words is kept as the handler's
  evidence (the shared words) and breaks ties.

The kind of repeat decides the lawful reply (信访工作条例, 2022):

* ``after_review`` — 复核 answered: 第三十六条, the same facts and reasons are not accepted again;
* ``under_review`` — a 复查 or 复核 is open: the claim is answered within that procedure;
* ``review_open`` / ``review_expired`` — answered in writing; 复查 (第三十五条) or 复核
  (第三十六条) still open within 30 days, or that period passed;
* ``concluded`` — not a 信访 matter: the earlier answer stands; reopening (重办) if its window is open.

Decisions (each audited, each inside one transaction):

* ``do_confirm`` — an agent at the intake unit confirms: the appeal is refused (不予受理) with the
  lawful reply as the reason and the legal basis, so the citizen gets the answer by the usual text;
* ``do_accept_as_new`` — an agent says there are new facts or reasons, with a reason: the appeal is
  registered (立案) and goes through the normal loop;
* ``do_overturn`` — a leader over the intake unit overturns a confirmed repeat with a reason: the
  appeal goes back to 立案 and the citizen is told.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals import clock, duplicates, review, services
from appeals.models import (
    TEXT_LIMIT,
    Appeal,
    AppealEvent,
    Rating,
    Review,
    ReviewKind,
    State,
)
from appeals.repeat_models import RepeatFinding, RepeatKind, RepeatStatus
from audit.services import record
from minsheng.errors import Conflict, Forbidden, ServiceError
from org.calendar import CALENDAR_TZ
from org.deadlines import PETITION_STAGES, REGULATION
from org.roles import Role, has_role
from textkit.dedupe import canonical
from textkit.segment import cut

# The earlier appeal's states in which its matter counts as concluded for the citizen.
CONCLUDED_STATES = frozenset({State.REPLIED, State.CALLED_BACK, State.CLOSED, State.REJECTED})
# The states in which a repeat may be decided: before the appeal is dispatched.
DECIDABLE_STATES = frozenset({State.RECEIVED, State.REGISTERED})
POOL_LIMIT = 200
SHARED_WORDS_SHOWN = 12


def threshold() -> float:
    return float(getattr(settings, "APPEAL_REPEAT_THRESHOLD", 0.30))


# --- text --------------------------------------------------------------------------------------
def _words(text: str) -> set[str]:
    """Content words: segmented tokens of two characters or more, numbers left out."""
    return {w for w in cut(canonical(text)) if len(w) >= 2 and not w.isdigit()}


def word_overlap(a: str, b: str) -> tuple[float, list[str]]:
    """Jaccard similarity of the two texts' words, and the shared words, longest first."""
    x, y = _words(a), _words(b)
    if not x or not y:
        return 0.0, []
    shared = sorted(x & y, key=lambda w: (-len(w), w))
    return len(x & y) / len(x | y), shared


# --- who is the same citizen -------------------------------------------------------------------
def _same_citizen(appeal: Appeal) -> Q | None:
    """The condition naming the citizen's appeals: the same account or the same phone."""
    condition = Q(pk__in=[])
    if appeal.citizen_id is None and not appeal.contact_phone_hash:
        return None
    if appeal.citizen_id is not None:
        condition |= Q(citizen_id=appeal.citizen_id)
    if appeal.contact_phone_hash:
        condition |= Q(contact_phone_hash=appeal.contact_phone_hash)
    return condition


def _matched_by(appeal: Appeal, earlier: Appeal) -> str:
    if appeal.citizen_id is not None and appeal.citizen_id == earlier.citizen_id:
        return "account"
    return "phone"


@dataclass(frozen=True)
class Candidate:
    earlier: Appeal
    score: float
    word_score: float
    shared_words: list[str]
    matched_by: str


def candidates(appeal: Appeal) -> list[Candidate]:
    """Concluded appeals of the same citizen whose text is alike, best first."""
    same = _same_citizen(appeal)
    if same is None:
        return []
    pool = (
        Appeal.objects.filter(same, state__in=CONCLUDED_STATES, created__lte=appeal.created)
        .exclude(pk=appeal.pk)
        .select_related("category", "current_unit", "intake_unit")
        .order_by("-created", "-pk")[:POOL_LIMIT]
    )
    mine = duplicates.text_of(appeal)
    found: list[Candidate] = []
    for earlier in pool:
        theirs = duplicates.text_of(earlier)
        score = duplicates.similarity(mine, theirs)
        if score < threshold():
            continue
        word_score, shared = word_overlap(mine, theirs)
        found.append(
            Candidate(
                earlier,
                round(score, 4),
                round(word_score, 4),
                shared[:SHARED_WORDS_SHOWN],
                _matched_by(appeal, earlier),
            )
        )
    found.sort(key=lambda c: (-c.score, -c.word_score, -c.earlier.created.timestamp()))
    return found


# --- what the law says about it ----------------------------------------------------------------
def _day(value: dt.datetime | None) -> str:
    return value.astimezone(CALENDAR_TZ).strftime("%Y-%m-%d") if value is not None else "—"


def kind_of(earlier: Appeal, now: dt.datetime) -> tuple[str, dt.datetime | None]:
    """The kind of repeat, and the last day a review (or reopening) may still be asked for."""
    if not clock.is_petition(earlier) or earlier.state == State.REJECTED:
        deadline = services.reopen_deadline(earlier)
        return RepeatKind.CONCLUDED, deadline if deadline and now <= deadline else None
    if review.open_review(earlier) is not None:
        return RepeatKind.UNDER_REVIEW, None
    done = review.last_decided(earlier)
    if done is not None and done.kind == ReviewKind.REVIEW:
        return RepeatKind.AFTER_REVIEW, None
    kind = review.next_kind(earlier)
    if kind is None or earlier.replied_at is None:
        return RepeatKind.CONCLUDED, None
    _start, until = review.request_window(earlier, kind)
    return (RepeatKind.REVIEW_OPEN, until) if now <= until else (RepeatKind.REVIEW_EXPIRED, None)


def outcome_of(earlier: Appeal) -> str:
    """The earlier appeal's result in a few lines: state, dates, the answer, rating, reviews."""
    lines = [
        _("%(code)s（%(date)s 受理）当前状态：%(state)s。")
        % {"code": earlier.code, "date": _day(earlier.created), "state": State(earlier.state).label}
    ]
    if earlier.state == State.REJECTED:
        refused = earlier.events.filter(action="reject").order_by("-at", "-pk").first()
        if refused is not None:
            lines.append(
                _("%(date)s 不予受理，理由：%(reason)s")
                % {"date": _day(refused.at), "reason": refused.reason}
            )
    answer = earlier.replies.select_related("unit").order_by("-at", "-pk").first()
    if answer is not None:
        lines.append(
            _("%(date)s %(unit)s答复：%(text)s")
            % {
                "date": _day(answer.at),
                "unit": answer.unit.name if answer.unit else "",
                "text": answer.text,
            }
        )
    rated = earlier.callbacks.order_by("-at", "-pk").first()
    if rated is not None and rated.rating in Rating.values:
        lines.append(_("回访评价：%(rating)s。") % {"rating": Rating(rated.rating).label})
    for item in Review.objects.filter(appeal=earlier).select_related("unit"):
        if item.decided_at is None:
            lines.append(
                _("%(date)s 申请%(kind)s，%(unit)s办理中。")
                % {
                    "date": _day(item.requested_at),
                    "kind": item.get_kind_display(),
                    "unit": item.unit.name,
                }
            )
        else:
            lines.append(
                _("%(date)s %(unit)s%(kind)s意见：%(outcome)s。%(text)s")
                % {
                    "date": _day(item.decided_at),
                    "unit": item.unit.name,
                    "kind": item.get_kind_display(),
                    "outcome": item.get_outcome_display(),
                    "text": item.text,
                }
            )
    if earlier.closed_at is not None and earlier.state == State.CLOSED:
        lines.append(_("%(date)s 结案。") % {"date": _day(earlier.closed_at)})
    return "\n".join(lines)


def legal_basis_for(kind: str) -> str:
    """The articles the lawful reply rests on, with their words (信访工作条例, 2022)."""
    recheck = PETITION_STAGES["review_request"].basis
    review_request = PETITION_STAGES["recheck_request"].basis
    final = PETITION_STAGES["recheck"].basis
    texts = {
        RepeatKind.AFTER_REVIEW: _("%(reg)s第三十六条：%(final)s")
        % {"reg": REGULATION, "final": final},
        RepeatKind.UNDER_REVIEW: _("%(reg)s第三十五条、第三十六条：%(a)s%(b)s")
        % {"reg": REGULATION, "a": recheck, "b": review_request},
        RepeatKind.REVIEW_OPEN: _("%(reg)s第三十五条、第三十六条：%(a)s%(b)s")
        % {"reg": REGULATION, "a": recheck, "b": review_request},
        RepeatKind.REVIEW_EXPIRED: _(
            "%(reg)s第三十五条、第三十六条：复查、复核应自收到书面答复之日起30日内提出；"
            "逾期未提出的，原处理意见即为最终处理意见。"
        )
        % {"reg": REGULATION},
        RepeatKind.CONCLUDED: _(
            "诉求已办结并答复；同一诉求人就同一事项、以同一事实和理由再次提出的，"
            "告知其原办理结果，不再重复办理；有新的事实或理由的，按新诉求受理。"
        ),
    }
    return str(texts[RepeatKind(kind)])


def reply_draft(appeal: Appeal, earlier: Appeal, kind: str, until: dt.datetime | None) -> str:
    """The lawful reply as the handler first sees it (they may edit it before confirming)."""
    opening = _(
        "您于 %(date)s 提出的诉求（%(code)s）与您此前提出的诉求 %(earlier)s 属同一事项。"
    ) % {
        "date": _day(appeal.created),
        "code": appeal.code,
        "earlier": earlier.code,
    }
    answer = earlier.replies.order_by("-at", "-pk").first()
    told = (
        _("该事项已于 %(date)s 答复：%(text)s") % {"date": _day(answer.at), "text": answer.text}
        if answer is not None
        else _("该事项已办理完毕。")
    )
    route = {
        RepeatKind.AFTER_REVIEW: _(
            "该事项已经复核，复核意见为最终意见。根据《信访工作条例》第三十六条，"
            "对复核意见不服、仍以同一事实和理由提出的信访请求，不再受理。"
        ),
        RepeatKind.UNDER_REVIEW: _(
            "该事项的复查（复核）正在办理中，将在法定期限内书面答复您，请等待答复，本件不再另行受理。"
        ),
        RepeatKind.REVIEW_OPEN: _(
            "如对原处理意见不服，您可以在 %(until)s 前依照《信访工作条例》第三十五条、第三十六条"
            "申请复查（复核）；本件不再另行受理。"
        )
        % {"until": _day(until)},
        RepeatKind.REVIEW_EXPIRED: _(
            "申请复查（复核）的30日期限已过，原处理意见为最终处理意见；本件不再另行受理。"
        ),
        RepeatKind.CONCLUDED: (
            _("如问题仍未解决，您可以在 %(until)s 前对原诉求申请重办；本件不再另行受理。")
            % {"until": _day(until)}
            if until is not None
            else _("本件不再重复办理。")
        ),
    }[RepeatKind(kind)]
    new_facts = _("如有新的事实或理由，请补充说明，我们将按新诉求受理。")
    return "".join([str(opening), str(told), str(route), str(new_facts)])


# --- recognition after intake ------------------------------------------------------------------
def check(appeal_id: int, *, now: dt.datetime | None = None) -> RepeatFinding | None:
    """Record that a newly submitted appeal repeats a concluded one of the same citizen, once.

    Returns the finding, or None when there is nothing to record.
    """
    appeal = Appeal.objects.filter(pk=appeal_id).first()
    if appeal is None or appeal.state not in DECIDABLE_STATES:
        return None
    if RepeatFinding.objects.filter(appeal=appeal).exists():
        return None
    found = candidates(appeal)
    if not found:
        return None
    best = found[0]
    now = now or timezone.now()
    kind, until = kind_of(best.earlier, now)
    try:
        with transaction.atomic():
            finding = RepeatFinding.objects.create(
                appeal=appeal,
                earlier=best.earlier,
                score=best.score,
                word_score=best.word_score,
                shared_words=best.shared_words,
                others=[
                    {"id": c.earlier.pk, "code": c.earlier.code, "score": c.score}
                    for c in found[1:5]
                ],
                matched_by=best.matched_by,
                kind=kind,
                earlier_outcome=outcome_of(best.earlier),
                legal_basis=legal_basis_for(kind),
                reply_draft=reply_draft(appeal, best.earlier, kind, until),
                found_at=now,
            )
            data = {
                "finding": finding.pk,
                "earlier": best.earlier.pk,
                "earlier_code": best.earlier.code,
                "score": best.score,
                "kind": kind,
            }
            AppealEvent.objects.create(
                appeal=appeal,
                action="flag_repeat",
                from_state=appeal.state,
                to_state=appeal.state,
                unit=appeal.intake_unit,
                data=data,
                at=now,
            )
            record(
                None,
                "appeals.flag_repeat",
                appeal,
                after={**data, "matched_by": best.matched_by, "word_score": best.word_score},
            )
    except IntegrityError:
        return None  # a concurrent check recorded it first
    return finding


# --- decisions ---------------------------------------------------------------------------------
class RepeatConflict(Conflict):
    code = "repeat_not_decidable"


def _text(value: str, field: str, message: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ServiceError(
            message,
            code="validation_error",
            status=422,
            detail=[{"field": field, "message": message}],
        )
    if len(text) > TEXT_LIMIT:
        too_long = _("太长（至多 %(max)s 字）") % {"max": TEXT_LIMIT}
        raise ServiceError(
            f"{message}：{too_long}",
            code="validation_error",
            status=422,
            detail=[{"field": field, "message": too_long}],
        )
    return text


def may_decide(finding: RepeatFinding, actor: Any) -> bool:
    """Agents of the intake unit (or any agent when the appeal has none) decide at intake."""
    unit = finding.appeal.intake_unit
    return has_role(actor, Role.AGENT) if unit is None else has_role(actor, Role.AGENT, unit=unit)


def may_overturn(finding: RepeatFinding, actor: Any) -> bool:
    """A leader over the intake unit (a leader role there or above)."""
    unit = finding.appeal.intake_unit
    return has_role(actor, Role.LEADER) if unit is None else has_role(actor, Role.LEADER, unit=unit)


def _check_pending(finding: RepeatFinding, actor: Any) -> None:
    if not may_decide(finding, actor):
        raise Forbidden(_("只有受理单位的话务员（派单员）可以认定重复诉求。"))
    if finding.status != RepeatStatus.PENDING:
        raise RepeatConflict(
            _("该重复诉求已经认定（%(status)s），不能再次认定。")
            % {"status": RepeatStatus(finding.status).label},
            detail={"status": finding.status},
        )
    if finding.appeal.state not in DECIDABLE_STATES:
        raise RepeatConflict(
            _("诉求当前状态“%(state)s”不能再认定是否重复：只有受理或立案、尚未派遣的诉求可以认定。")
            % {"state": State(finding.appeal.state).label},
            detail={"state": finding.appeal.state, "status": finding.status},
        )


def _claim(finding: RepeatFinding, wanted: str, to: str, **changes: Any) -> None:
    """Move the finding from ``wanted`` to ``to`` only if nobody did first (conditional UPDATE)."""
    claimed = RepeatFinding.objects.filter(pk=finding.pk, status=wanted).update(
        status=to, **changes
    )
    if not claimed:
        finding.refresh_from_db()
        raise RepeatConflict(
            _("该重复诉求刚刚已被他人处理（%(status)s）。")
            % {"status": RepeatStatus(finding.status).label},
            detail={"status": finding.status},
        )
    finding.status = to
    for name, value in changes.items():
        setattr(finding, name, value)


def _decide(
    finding: RepeatFinding,
    actor: Any,
    *,
    to: str,
    changes: dict[str, Any],
    step: Callable[[], Any],
    audit: str | None,
    reason: str,
    request: HttpRequest | None,
    after: dict[str, Any] | None = None,
) -> RepeatFinding:
    """What every decision does once its checks passed, in one transaction: claim the finding
    (conditional UPDATE from its current status to ``to``), take the appeal's own step, and write
    the audit entry ``audit``. ``audit`` is None when the appeal's step already records the
    decision as an audit entry of its own: one decision, one entry."""
    wanted = finding.status
    with transaction.atomic():
        _claim(finding, wanted, to, **changes)
        step()
        if audit is not None:
            record(
                actor,
                audit,
                finding.appeal,
                before={"status": wanted},
                after={"status": to, "finding": finding.pk, **(after or {})},
                reason=reason,
                request=request,
            )
    return finding


def do_confirm(
    finding: RepeatFinding,
    actor: Any,
    *,
    reply: str = "",
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> RepeatFinding:
    """Confirm the repeat: the appeal is refused (不予受理) with the lawful reply, which is texted
    to the citizen; ``reply`` defaults to the drafted one."""
    _check_pending(finding, actor)
    text = _text(reply or finding.reply_draft, "reply", _("请填写给群众的答复"))
    now = now or timezone.now()
    return _decide(
        finding,
        actor,
        to=RepeatStatus.CONFIRMED,
        changes={
            "decided_by": actor,
            "decided_at": now,
            "reason": _("认定为重复诉求"),
            "reply_sent": text,
        },
        step=lambda: services.do_reject(
            finding.appeal,
            actor,
            reason=text,
            legal_basis=finding.legal_basis,
            now=now,
            request=request,
        ),
        audit="appeals.repeat_confirm",
        after={"earlier": finding.earlier_id, "kind": finding.kind},
        reason=text,
        request=request,
    )


def do_accept_as_new(
    finding: RepeatFinding,
    actor: Any,
    *,
    reason: str,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> RepeatFinding:
    """New facts or reasons: the appeal is accepted as new (立案) and goes through the loop."""
    _check_pending(finding, actor)
    why = _text(reason, "reason", _("按新诉求受理必须说明新的事实或理由"))
    moment = now or timezone.now()

    def register() -> None:
        appeal = finding.appeal
        if appeal.state == State.RECEIVED:
            services.do_register(appeal, actor, reason=why, now=moment, request=request)
        AppealEvent.objects.create(
            appeal=appeal,
            action="repeat_new",
            from_state=appeal.state,
            to_state=appeal.state,
            actor=actor,
            unit=appeal.intake_unit,
            reason=why,
            data={"finding": finding.pk, "earlier_code": finding.earlier.code},
            at=moment,
        )

    return _decide(
        finding,
        actor,
        to=RepeatStatus.NEW,
        changes={"decided_by": actor, "decided_at": moment, "reason": why},
        step=register,
        audit="appeals.repeat_accept_as_new",
        reason=why,
        request=request,
    )


def do_overturn(
    finding: RepeatFinding,
    actor: Any,
    *,
    reason: str,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> RepeatFinding:
    """A leader over the intake unit overturns a confirmed repeat: back to 立案, citizen told.

    Audited once, as ``appeals.overturn_repeat`` by the appeal's transition (its reason, the
    leader, 不予受理 → 立案); the finding's id is in the timeline event's data."""
    if not may_overturn(finding, actor):
        raise Forbidden(_("只有受理单位的领导可以撤销重复诉求认定。"))
    if finding.status != RepeatStatus.CONFIRMED:
        raise RepeatConflict(
            _("只能撤销已认定的重复诉求；该认定当前为“%(status)s”。")
            % {"status": RepeatStatus(finding.status).label},
            detail={"status": finding.status},
        )
    appeal = finding.appeal
    if appeal.state != State.REJECTED:
        raise RepeatConflict(
            _("诉求当前状态“%(state)s”，不是因重复而不予受理，不能撤销。")
            % {"state": State(appeal.state).label},
            detail={"state": appeal.state, "status": finding.status},
        )
    why = _text(reason, "reason", _("撤销重复认定必须说明理由"))
    now = now or timezone.now()
    return _decide(
        finding,
        actor,
        to=RepeatStatus.OVERTURNED,
        changes={"overturned_by": actor, "overturned_at": now, "overturn_reason": why},
        step=lambda: services._apply(
            appeal,
            "overturn_repeat",
            actor,
            now=now,
            changes={"closed_at": None},
            reason=why,
            data={"finding": finding.pk, "earlier_code": finding.earlier.code},
            notify="repeat_overturn",
            request=request,
        ),
        audit=None,
        reason=why,
        request=request,
    )


def finding_for(appeal: Appeal) -> RepeatFinding | None:
    return (
        RepeatFinding.objects.filter(appeal=appeal)
        .select_related("earlier", "earlier__current_unit", "decided_by", "overturned_by")
        .first()
    )
