"""Misconduct reports: intake, who may see them, handling steps, tracking, and the two-person
unsealing of a named reporter's identity.

Visibility is the whole point here. A report is seen only by discipline inspectors (the auditor
role) at a unit strictly above the reported unit (or at the top unit when the top unit itself is
reported), never by the reported person, and never by anyone holding any role at the reported unit
itself (an inspector there is a colleague of the accused). Everyone else gets the same answer as
for a report that does not exist: ``NotFound``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from audit.services import record
from integrity.models import (
    CONTENT_LIMIT,
    Event,
    Kind,
    Report,
    SealedIdentity,
    State,
    Unsealing,
)
from minsheng.errors import Conflict, NotFound, ServiceError
from org.models import Unit
from org.roles import Role, grants_of
from vault.crypto import blind_index
from vault.validators import normalise_mobile

# No 0/O or 1/I: codes and secrets are read out over the phone.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
SECRET_LENGTH = 10

# Days allowed for each step, counted from when the report entered it. Defaults, loosely after
# 纪检监察机关处理检举控告工作规则 (2020); override with MINSHENG_INTEGRITY_DAYS.
DEFAULT_DAYS: dict[str, int] = {
    State.RECEIVED: 15,  # 登记 / 受理
    State.VERIFYING: 30,  # 初核
    State.FILED: 90,  # 立案审查 → 处理结果
    State.CONCLUDED: 15,  # 了结 → 反馈
    State.DECIDED: 15,  # 处理结果 → 反馈
}


def step_days(state: str) -> int:
    configured: dict[str, int] = getattr(settings, "MINSHENG_INTEGRITY_DAYS", {}) or {}
    return int(configured.get(state, DEFAULT_DAYS.get(state, 15)))


@dataclass(frozen=True)
class Step:
    label: str | Promise
    sources: tuple[str, ...]
    target: str
    needs_note: bool


STEPS: dict[str, Step] = {
    "register": Step(_("登记受理"), (State.RECEIVED,), State.VERIFYING, False),
    "file": Step(_("立案"), (State.VERIFYING,), State.FILED, True),
    "conclude": Step(_("了结"), (State.VERIFYING,), State.CONCLUDED, True),
    "decide": Step(_("处理结果"), (State.FILED,), State.DECIDED, True),
    "feedback": Step(_("反馈举报人"), (State.CONCLUDED, State.DECIDED), State.CLOSED, True),
}


def _now(now: dt.datetime | None = None) -> dt.datetime:
    return now or timezone.now()


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def secret_hash(secret: str) -> str:
    return blind_index(secret.strip().upper(), "integrity.secret")


def _log(report: Report | None, actor: Any, action: str, note: str = "") -> Event:
    """Write to our own log and chain an opaque pointer to it into the shared audit trail.

    The shared trail is read by every auditor and admin, so its entry names no actor (a signed-in
    reporter or a reported person trying to look would otherwise be named), no report, and no
    note: only "integrity.sealed" and the id and digest of the row here, so the chain still vouches
    that the row was written and when.
    """
    event = Event.objects.create(
        report=report,
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        note=note[:1000],
        created_at=_now(),
    )
    digest = hashlib.sha256(
        f"{event.pk}|{event.report_id}|{event.actor_id}|{action}|{note}".encode()
    ).hexdigest()
    record(None, "integrity.sealed", event, after={"digest": digest})
    return event


# --- who may see ---------------------------------------------------------------------------------
def _inspector_grants(user: Any) -> list[tuple[int, str]]:
    return [(g.unit_id, g.unit_path) for g in grants_of(user) if g.role == Role.AUDITOR.value]


def is_inspector(user: Any) -> bool:
    return bool(_inspector_grants(user))


def visible_to(user: Any) -> QuerySet[Report]:
    """Reports this user may see as a discipline inspector; none for anybody else."""
    grants = _inspector_grants(user)
    if not grants:
        return Report.objects.none()
    condition = Q()
    for unit_id, path in grants:
        below = Q(target_unit__path__startswith=path) & ~Q(target_unit_id=unit_id)
        top = Q(target_unit_id=unit_id, target_unit__parent__isnull=True)
        condition |= below | top
    own_units = {g.unit_id for g in grants_of(user)}
    return (
        Report.objects.filter(condition)
        .exclude(target_person_id=user.pk)
        .exclude(target_unit_id__in=own_units)
    )


def _refusal_kind(report: Report, user: Any) -> str:
    """How to flag a refused look for the inspectors: the accused, their unit, or someone else."""
    if report.target_person_id == user.pk:
        return "refused.reported_person"
    unit_path = Unit.objects.values_list("path", flat=True).get(pk=report.target_unit_id)
    # A role at the reported unit or inside it: the accused (when the citizen could not name an
    # account) or a colleague.
    if any(g.unit_path.startswith(unit_path) for g in grants_of(user)):
        return "refused.reported_unit"
    return "refused"


def get_visible(user: Any, report_id: int) -> Report:
    """The report if the user may see it; otherwise NotFound, and a refused look is logged."""
    report = visible_to(user).filter(pk=report_id).select_related("target_unit").first()
    if report is not None:
        return report
    existing = Report.objects.filter(pk=report_id).first()
    if existing is not None and getattr(user, "pk", None):
        _log(existing, user, _refusal_kind(existing, user))
    raise NotFound(_("找不到该举报。"))


# --- intake --------------------------------------------------------------------------------------
@dataclass
class Submission:
    kind: str
    target_unit_id: int | None
    content: str
    target_name: str = ""
    target_person_id: int | None = None
    named: bool = False
    name: str = ""
    phone: str = ""
    id_number: str = ""


def _invalid(field: str, message: str | Promise) -> ServiceError:
    return ServiceError(
        message,
        code="validation_error",
        status=422,
        detail=[{"field": field, "message": str(message)}],
    )


def _check(sub: Submission) -> tuple[Unit, str]:
    content = (sub.content or "").strip()
    if not content:
        raise _invalid("content", _("请写明举报内容：谁、在什么时间、做了什么。"))
    if len(content) > CONTENT_LIMIT:
        raise _invalid("content", _("举报内容太长，请控制在 5000 字以内。"))
    if sub.kind not in Kind.values:
        raise _invalid("kind", _("请选择问题类别。"))
    unit = (
        Unit.objects.active().filter(pk=sub.target_unit_id).first() if sub.target_unit_id else None
    )
    if unit is None:
        raise _invalid("target_unit", _("请选择被举报人所在单位。"))
    if sub.named:
        if not sub.name.strip():
            raise _invalid("name", _("实名举报请填写姓名。"))
        if not sub.phone.strip():
            raise _invalid("phone", _("实名举报请填写手机号，便于核实和反馈。"))
        try:
            sub.phone = normalise_mobile(sub.phone)
        except Exception as exc:
            raise _invalid("phone", _("手机号格式不对，请填写 11 位手机号。")) from exc
    return unit, content


def submit(actor: Any, sub: Submission) -> tuple[Report, str]:
    """Take a report in. Returns it and its tracking secret (shown once, only its hash is kept)."""
    unit, content = _check(sub)
    secret = _random(SECRET_LENGTH)
    now = _now()
    with transaction.atomic():
        code = "JB-" + _random(CODE_LENGTH)
        while Report.objects.filter(code=code).exists():
            code = "JB-" + _random(CODE_LENGTH)
        report = Report.objects.create(
            code=code,
            secret_hash=secret_hash(secret),
            kind=sub.kind,
            target_unit=unit,
            target_person_id=sub.target_person_id,
            target_name=sub.target_name.strip()[:100],
            content=content,
            named=sub.named,
            created_at=now,
            due_at=now + dt.timedelta(days=step_days(State.RECEIVED)),
        )
        if sub.named:
            SealedIdentity.objects.create(
                report=report,
                name=sub.name.strip()[:100],
                phone=sub.phone,
                id_number=sub.id_number.strip()[:32],
                reporter=actor if getattr(actor, "pk", None) else None,
            )
        # The actor is left out on purpose: even our own log must not tie an anonymous report
        # to the account that happened to be signed in.
        _log(report, None, "submitted")
    return report, secret


# --- tracking by code and secret -----------------------------------------------------------------
def track(code: str, secret: str) -> Report:
    code = (code or "").strip().upper()
    report = Report.objects.filter(code=code).first() if code else None
    if (
        report is None
        or not secret
        or not hmac.compare_digest(report.secret_hash, secret_hash(secret))
    ):
        # One answer for a forged code and a wrong secret: neither says whether the code exists.
        _log(report, None, "track.refused", note=code[:24])
        raise NotFound(_("受理编号或查询密码不对，请核对后重试。"))
    return report


def forged_tracking_count(days: int = 30) -> int:
    """Refused look-ups with a code that matches no report, recently: guessing shows up here."""
    since = _now() - dt.timedelta(days=days)
    return Event.objects.filter(
        report__isnull=True, action="track.refused", created_at__gte=since
    ).count()


# --- handling ------------------------------------------------------------------------------------
def allowed_steps(report: Report) -> list[str]:
    return [name for name, step in STEPS.items() if report.state in step.sources]


def take_step(actor: Any, report_id: int, action: str, note: str = "") -> Report:
    report = get_visible(actor, report_id)
    step = STEPS.get(action)
    if step is None:
        raise _invalid("action", _("没有这个办理环节。"))
    if report.state not in step.sources:
        raise Conflict(
            _("当前状态为“%(state)s”，不能执行“%(step)s”。")
            % {"state": report.get_state_display(), "step": step.label},
            code="invalid_transition",
        )
    note = (note or "").strip()
    if step.needs_note and not note:
        raise _invalid("note", _("请填写这一步的意见或结果。"))
    now = _now()
    with transaction.atomic():
        report.state = step.target
        if step.target == State.CLOSED:
            report.feedback = note
            report.feedback_at = now
            report.due_at = now
        else:
            if action in {"decide", "conclude"}:
                report.outcome = note
            report.due_at = now + dt.timedelta(days=step_days(step.target))
        report.save(update_fields=["state", "feedback", "feedback_at", "due_at", "outcome"])
        _log(report, actor, f"step.{action}", note)
    return report


# --- sealed identity -----------------------------------------------------------------------------
def identity_of(report: Report) -> SealedIdentity | None:
    return SealedIdentity.objects.filter(report=report).first()


def unsealings(report: Report) -> list[Unsealing]:
    identity = identity_of(report)
    if identity is None:
        return []
    return list(
        Unsealing.objects.filter(identity=identity).select_related("first", "second").order_by("pk")
    )


def approve_unseal(actor: Any, report_id: int, reason: str) -> Unsealing:
    """First approval opens a request; a second, different inspector's approval opens it."""
    report = get_visible(actor, report_id)
    reason = (reason or "").strip()
    if not reason:
        raise _invalid("reason", _("启封举报人身份必须写明理由。"))
    identity = identity_of(report)
    if identity is None:
        raise Conflict(_("这是匿名举报，没有可启封的身份信息。"), code="anonymous_report")
    now = _now()
    with transaction.atomic():
        pending = (
            Unsealing.objects.select_for_update()
            .filter(identity=identity, second__isnull=True)
            .first()
        )
        if pending is None:
            unsealing = Unsealing.objects.create(
                identity=identity, first=actor, first_reason=reason, first_at=now
            )
            _log(report, actor, "unseal.requested", reason)
            return unsealing
        if pending.first_id == actor.pk:
            # Logged, then refused outside the transaction so the log row commits: the other
            # inspectors should see that someone tried to open an identity alone.
            _log(report, actor, "unseal.refused_same_auditor", reason)
        else:
            pending.second = actor
            pending.second_reason = reason
            pending.second_at = now
            pending.save(update_fields=["second", "second_reason", "second_at"])
            _log(report, actor, "unseal.approved", reason)
            return pending
    raise Conflict(_("您已经批准过，启封需要另一位纪检监察人员批准。"), code="same_auditor")


def revealed_identity(actor: Any, report_id: int) -> SealedIdentity | None:
    """The reporter's identity, for the two inspectors who approved its opening; else None."""
    report = get_visible(actor, report_id)
    identity = identity_of(report)
    if identity is None:
        return None
    opened = Unsealing.objects.filter(identity=identity, second__isnull=False).filter(
        Q(first=actor) | Q(second=actor)
    )
    if not opened.exists():
        return None
    with transaction.atomic():
        _log(report, actor, "identity.viewed")
    return identity


EVENT_LABELS: dict[str, str | Promise] = {
    "submitted": _("收到举报"),
    "refused": _("无权查看，已拒绝"),
    "refused.reported_person": _("被举报人试图查看，已拒绝"),
    "refused.reported_unit": _("被举报单位人员试图查看，已拒绝"),
    "track.refused": _("查询编号或密码错误，已拒绝"),
    "step.register": _("登记受理"),
    "step.file": _("立案"),
    "step.conclude": _("了结"),
    "step.decide": _("处理结果"),
    "step.feedback": _("反馈举报人"),
    "unseal.requested": _("申请启封身份（第一次批准）"),
    "unseal.approved": _("第二人批准，身份启封"),
    "unseal.refused_same_auditor": _("同一人重复批准，已拒绝"),
    "identity.viewed": _("查看举报人身份"),
}


def events(report: Report) -> list[Event]:
    rows = list(Event.objects.filter(report=report).select_related("actor"))
    for row in rows:
        row.label = str(EVENT_LABELS.get(row.action, row.action))  # type: ignore[attr-defined]
    return rows
