"""Every change the 舆情 desk makes: alerts acknowledged, response tasks opened on the clock,
actions recorded, tasks closed, posts turned into appeals, gazetteer and rule edits.

Each ``do_*`` function checks the actor's role, the state and the input (403, 409, 422 as
``minsheng.errors``), changes the rows with a conditional UPDATE where two people could race,
writes the audit entry in the same transaction and queues notifications after the commit.

The response clock (docs/opinion.md, 处置时限): an alert of grade 重大 or 特别重大 owes
authoritative information within ``FIRST_HOURS_MAJOR`` (5) hours and a full response within
``FULL_HOURS_MAJOR`` (24); any other grade a response within ``FULL_HOURS_OTHER`` (48). Hours
are calendar hours: opinion does not wait for office hours.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from audit.services import record
from minsheng.errors import Conflict, Forbidden, ServiceError
from opinion.models import (
    Alert,
    AlertRule,
    Event,
    GazetteerTerm,
    Item,
    ResponseAction,
    ResponseTask,
    grade_rank,
)
from org.models import Unit
from org.roles import Role, has_role

FIRST_HOURS_MAJOR = 5
FULL_HOURS_MAJOR = 24
FULL_HOURS_OTHER = 48
TEXT_LIMIT = 5000
TERM_LIMIT = 64


def _invalid(field: str, message: str | Promise) -> ServiceError:
    return ServiceError(
        _("请求数据有误：%(field)s：%(message)s") % {"field": field, "message": message},
        code="validation_error",
        status=422,
        detail=[{"field": field, "message": str(message)}],
    )


def _now(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return timezone.now()
    if timezone.is_naive(now):
        raise ValueError("aware datetimes only")
    return now


def _require_analyst(actor: Any) -> None:
    if not has_role(actor, Role.ANALYST):
        raise Forbidden(_("只有舆情分析员可以执行此操作。"))


def _require_editor(actor: Any) -> None:
    # The gazetteer and the rules are the analysts' tools; the system administrator may fix them.
    if not has_role(actor, Role.ANALYST, Role.ADMIN):
        raise Forbidden(_("只有舆情分析员或系统管理员可以修改词表和规则。"))


# --- the response clock -----------------------------------------------------------------------
def deadlines(grade: str, start: dt.datetime) -> tuple[dt.datetime | None, dt.datetime]:
    """(authoritative information due, full response due) for an alert of ``grade``."""
    if grade in ("重大", "特别重大"):
        return (
            start + dt.timedelta(hours=FIRST_HOURS_MAJOR),
            start + dt.timedelta(hours=FULL_HOURS_MAJOR),
        )
    return None, start + dt.timedelta(hours=FULL_HOURS_OTHER)


def analyst_on_duty() -> Any:
    """The analyst who takes the next task: among active holders of the analyst role, the one
    with the fewest unfinished tasks (then the longest-standing account), so work spreads."""
    users = (
        get_user_model()
        .objects.filter(is_active=True, role_assignments__role=Role.ANALYST)
        .distinct()
        .annotate(
            load=Count(
                "opinion_tasks",
                filter=~Q(opinion_tasks__state=ResponseTask.State.CLOSED),
                distinct=True,
            )
        )
        .order_by("load", "pk")
    )
    return users.first()


def unit_for_event(event: Event) -> Unit | None:
    """The unit that answers for an event: the route model's category → its responsible unit;
    else a unit the posts name (a gazetteer unit term equal to a unit's name or short name)."""
    from appeals.suggest import unit_for_label

    if event.category:
        unit = unit_for_label(event.category)
        if unit is not None:
            return unit
    for term in event.unit_terms:
        unit = (
            Unit.objects.active()
            .filter(Q(name=term) | Q(short_name=term))
            .order_by("depth", "pk")
            .first()
        )
        if unit is not None:
            return unit
    return None


def open_task_for_alert(
    alert: Alert, *, now: dt.datetime | None = None
) -> tuple[ResponseTask, bool]:
    """Open the response task an alert calls for, or tighten the event's unfinished one.

    One unfinished task per event: a later, higher alert on the same event raises the task's
    grade and moves its deadlines earlier when the new clock ends sooner (never later). Returns
    (task, created). The clock starts when the desk stored the alert (``alert.stored_at``).
    """
    now = _now(now)
    start = alert.stored_at
    due_first, due_full = deadlines(alert.grade, start)
    with transaction.atomic():
        task = (
            ResponseTask.objects.select_for_update()
            .filter(event_id=alert.event_id)
            .active()
            .order_by("-opened_at")
            .first()
        )
        if task is not None:
            if grade_rank(alert.grade) <= grade_rank(task.grade):
                return task, False
            before = {
                "grade": task.grade,
                "due_first": task.due_first,
                "due_full": task.due_full,
            }
            task.grade = alert.grade
            if due_first is not None and task.first_response_at is None:
                task.due_first = min(task.due_first or due_first, due_first)
            task.due_full = min(task.due_full, due_full)
            task.save(update_fields=["grade", "due_first", "due_full"])
            record(
                None,
                "opinion.task_upgrade",
                task,
                before=before,
                after={
                    "grade": task.grade,
                    "due_first": task.due_first,
                    "due_full": task.due_full,
                    "alert": alert.pk,
                },
            )
            return task, False
        event = alert.event
        task = ResponseTask.objects.create(
            event=event,
            alert=alert,
            grade=alert.grade,
            analyst=analyst_on_duty(),
            unit=unit_for_event(event),
            opened_at=start,
            due_first=due_first,
            due_full=due_full,
        )
        record(
            None,
            "opinion.task_open",
            task,
            after={
                "alert": alert.pk,
                "event": event.pk,
                "grade": task.grade,
                "analyst": task.analyst_id,
                "unit": task.unit_id,
                "due_first": task.due_first,
                "due_full": task.due_full,
            },
        )
    return task, True


# --- alerts -----------------------------------------------------------------------------------
def do_acknowledge_alert(
    alert: Alert,
    actor: Any,
    *,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Alert:
    _require_analyst(actor)
    now = _now(now)
    with transaction.atomic():
        claimed = Alert.objects.filter(pk=alert.pk, status=Alert.Status.NEW).update(
            status=Alert.Status.ACKNOWLEDGED, acknowledged_by=actor, acknowledged_at=now
        )
        if not claimed:
            raise Conflict(_("该预警已被确认或关闭。"), code="invalid_transition")
        record(
            actor,
            "opinion.alert_acknowledge",
            alert,
            before={"status": Alert.Status.NEW},
            after={"status": Alert.Status.ACKNOWLEDGED},
            request=request,
        )
    alert.refresh_from_db()
    return alert


# --- responses --------------------------------------------------------------------------------
def _check_text(field: str, text: str, *, required: bool = True) -> str:
    text = (text or "").strip()
    if required and not text:
        raise _invalid(field, _("不能为空"))
    if len(text) > TEXT_LIMIT:
        raise _invalid(field, _("太长（至多 %(max)s 字）") % {"max": TEXT_LIMIT})
    return text


def do_record_action(
    task: ResponseTask,
    actor: Any,
    kind: str,
    text: str,
    *,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> ResponseAction:
    """Record 核实 / 解释 / 道歉 / 整改 with its text. The first action is the first response."""
    _require_analyst(actor)
    now = _now(now)
    if kind not in ResponseAction.Kind.values:
        raise _invalid("kind", _("未知的处置类型“%(kind)s”") % {"kind": kind})
    text = _check_text("text", text)
    with transaction.atomic():
        locked = ResponseTask.objects.select_for_update().get(pk=task.pk)
        if locked.state == ResponseTask.State.CLOSED:
            raise Conflict(_("任务已办结，不能再记录处置。"), code="invalid_transition")
        action = ResponseAction.objects.create(
            task=locked, kind=kind, text=text, actor=actor, at=now
        )
        fields: dict[str, Any] = {}
        if locked.first_response_at is None:
            fields = {"first_response_at": now, "state": ResponseTask.State.ANSWERED}
            if locked.due_first is not None and now > locked.due_first:
                fields["first_overdue"] = True
            ResponseTask.objects.filter(pk=locked.pk).update(**fields)
        record(
            actor,
            "opinion.task_action",
            locked,
            after={"action": action.pk, "kind": kind, "text": text, **fields},
            request=request,
        )
    task.refresh_from_db()
    return action


def do_close_task(
    task: ResponseTask,
    actor: Any,
    summary: str,
    *,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> ResponseTask:
    """Close the task with a summary; the event's alerts close with it."""
    _require_analyst(actor)
    now = _now(now)
    summary = _check_text("summary", summary)
    with transaction.atomic():
        locked = ResponseTask.objects.select_for_update().get(pk=task.pk)
        if locked.state == ResponseTask.State.CLOSED:
            raise Conflict(_("任务已办结。"), code="invalid_transition")
        if not locked.actions.exists():
            raise Conflict(
                _("请先记录至少一项处置（核实、解释、道歉或整改）再办结。"),
                code="no_response_yet",
            )
        before_state = locked.state
        ResponseTask.objects.filter(pk=locked.pk).update(
            state=ResponseTask.State.CLOSED,
            summary=summary,
            closed_at=now,
            closed_by=actor,
            full_overdue=locked.full_overdue or now > locked.due_full,
        )
        Alert.objects.filter(event_id=locked.event_id).exclude(status=Alert.Status.CLOSED).update(
            status=Alert.Status.CLOSED
        )
        record(
            actor,
            "opinion.task_close",
            locked,
            before={"state": before_state},
            after={
                "state": ResponseTask.State.CLOSED,
                "summary": summary,
                "event": locked.event_id,
            },
            request=request,
        )
    task.refresh_from_db()
    return task


def do_reassign_task(
    task: ResponseTask,
    actor: Any,
    *,
    analyst: Any = None,
    unit: Unit | None = None,
    request: HttpRequest | None = None,
) -> ResponseTask:
    _require_analyst(actor)
    if analyst is not None and not has_role(analyst, Role.ANALYST):
        raise _invalid("analyst", _("所选人员不是舆情分析员"))
    with transaction.atomic():
        locked = ResponseTask.objects.select_for_update().get(pk=task.pk)
        if locked.state == ResponseTask.State.CLOSED:
            raise Conflict(_("任务已办结。"), code="invalid_transition")
        before = {"analyst": locked.analyst_id, "unit": locked.unit_id}
        if analyst is not None:
            locked.analyst = analyst
        if unit is not None:
            locked.unit = unit
        locked.save(update_fields=["analyst", "unit"])
        record(
            actor,
            "opinion.task_assign",
            locked,
            before=before,
            after={"analyst": locked.analyst_id, "unit": locked.unit_id},
            request=request,
        )
    task.refresh_from_db()
    return task


def do_post_to_appeal(item: Item, actor: Any, *, request: HttpRequest | None = None) -> Any:
    """Turn a post into an appeal (受理, channel 网站: the post came from the web) and link them.

    One appeal per post: a second click answers 409 naming the existing appeal's code.
    """
    from appeals.services import Submission, do_submit

    _require_analyst(actor)
    with transaction.atomic():
        locked = Item.objects.select_for_update().get(pk=item.pk)
        if locked.appeal is not None:
            raise Conflict(
                _("该信息已转为诉求 %(code)s。") % {"code": locked.appeal.code},
                code="already_appealed",
                detail={"appeal": locked.appeal.code},
            )
        body = (locked.text or locked.title).strip()
        if not body:
            raise _invalid("text", _("该信息没有正文，无法转为诉求"))
        origin = _("（来自网络舆情：%(source)s %(author)s %(time)s %(url)s）") % {
            "source": locked.source,
            "author": locked.author,
            "time": timezone.localtime(locked.time).strftime("%Y-%m-%d %H:%M"),
            "url": locked.url,
        }
        text = f"{body}\n\n{origin}"
        if len(text) > TEXT_LIMIT:
            text = body[: TEXT_LIMIT - len(origin) - 3] + "…\n\n" + origin
        appeal, _secret = do_submit(
            actor, Submission(text=text, title=locked.title[:60]), request=request
        )
        Item.objects.filter(pk=locked.pk).update(appeal=appeal)
        record(
            actor,
            "opinion.post_to_appeal",
            locked,
            after={"appeal": appeal.code, "event": locked.event_id},
            request=request,
        )
    item.refresh_from_db()
    return appeal


# --- the gazetteer and the rules --------------------------------------------------------------
def do_add_terms(
    actor: Any,
    kind: str,
    terms: Iterable[str],
    *,
    note: str = "",
    request: HttpRequest | None = None,
) -> list[GazetteerTerm]:
    """Add terms (or switch them back on); returns the rows changed."""
    _require_editor(actor)
    if kind not in GazetteerTerm.Kind.values:
        raise _invalid("kind", _("未知的词语类型“%(kind)s”") % {"kind": kind})
    cleaned = list(dict.fromkeys(t.strip() for t in terms if t.strip()))
    if not cleaned:
        raise _invalid("terms", _("请至少填写一个词语"))
    for term in cleaned:
        if len(term) > TERM_LIMIT:
            raise _invalid("terms", _("词语“%(term)s”太长（至多 64 字）") % {"term": term[:20]})
    changed: list[GazetteerTerm] = []
    with transaction.atomic():
        for term in cleaned:
            row, created = GazetteerTerm.objects.get_or_create(
                kind=kind,
                term=term,
                defaults={"created_by": actor, "note": note[:200]},
            )
            if not created and row.active:
                continue
            if not created:
                row.active = True
                row.save(update_fields=["active", "updated"])
            record(
                actor,
                "opinion.gazetteer_add",
                row,
                after={"kind": kind, "term": term, "active": True},
                request=request,
            )
            changed.append(row)
    _config_changed()
    return changed


def do_set_term_active(
    term: GazetteerTerm, actor: Any, active: bool, *, request: HttpRequest | None = None
) -> GazetteerTerm:
    _require_editor(actor)
    with transaction.atomic():
        if term.active == active:
            return term
        before = {"active": term.active}
        term.active = active
        term.save(update_fields=["active", "updated"])
        record(
            actor,
            "opinion.gazetteer_set_active",
            term,
            before=before,
            after={"active": active, "term": term.term, "kind": term.kind},
            request=request,
        )
    _config_changed()
    return term


def current_rules() -> dict[str, Any]:
    """The rules in force as JSON: the newest version, else the engine's defaults."""
    from opinion.engine import Rules

    row = AlertRule.objects.order_by("-version").first()
    return row.rules if row is not None else Rules().to_json()


def do_save_rules(
    actor: Any,
    data: Any,
    *,
    note: str = "",
    request: HttpRequest | None = None,
) -> AlertRule:
    """Save a new version of the grade rules after the engine's own validation."""
    from opinion.engine import Rules, RulesError

    _require_editor(actor)
    try:
        rules = Rules.from_json(data)
    except (RulesError, TypeError) as exc:
        raise _invalid("rules", str(exc)) from None
    normalised = rules.to_json()
    with transaction.atomic():
        last = AlertRule.objects.select_for_update().order_by("-version").first()
        before = last.rules if last is not None else None
        if before == normalised:
            raise Conflict(_("规则没有变化。"), code="unchanged")
        row = AlertRule.objects.create(
            version=(last.version + 1) if last is not None else 1,
            rules=normalised,
            note=(note or "").strip()[:200],
            created_by=actor,
        )
        record(
            actor,
            "opinion.rules_save",
            row,
            before={"rules": before} if before is not None else None,
            after={"version": row.version, "rules": normalised, "note": row.note},
            request=request,
        )
    _config_changed()
    return row


def _config_changed() -> None:
    from opinion import ingest

    transaction.on_commit(ingest.forget_config)


def do_mark_notifications_read(actor: Any) -> int:
    """Mark the actor's own in-app notices read. Not audited: it changes nothing but the
    reader's own inbox."""
    from opinion.models import Notification

    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )


# --- the deadline sweep -----------------------------------------------------------------------
@dataclass
class SweepResult:
    first_overdue: int = 0
    full_overdue: int = 0


def sweep(now: dt.datetime | None = None) -> SweepResult:
    """Flag tasks whose clock ran out and tell their analysts (idempotent: each flag is claimed
    with a conditional UPDATE, so two sweeps never notify twice)."""
    from opinion import notifications

    now = _now(now)
    result = SweepResult()
    late_first = ResponseTask.objects.active().filter(
        due_first__lt=now, first_response_at__isnull=True, first_overdue=False
    )
    late_full = ResponseTask.objects.active().filter(due_full__lt=now, full_overdue=False)
    for flag, queryset in (("first_overdue", late_first), ("full_overdue", late_full)):
        for task_id in list(queryset.values_list("pk", flat=True)):
            with transaction.atomic():
                claimed = ResponseTask.objects.filter(pk=task_id, **{flag: False}).update(
                    **{flag: True}
                )
                if not claimed:
                    continue
                task = ResponseTask.objects.get(pk=task_id)
                record(None, f"opinion.task_{flag}", task, after={flag: True, "at": now})
                notifications.notify_overdue(task_id, flag)
            setattr(result, flag, getattr(result, flag) + 1)
    return result


# --- the KPI: time to first response ----------------------------------------------------------
@dataclass
class ResponseKpi:
    tasks: int
    answered: int
    median_hours: float | None
    mean_hours: float | None
    on_time: int  # answered within the first clock (5 h for major, 48 h for the others)
    overdue_open: int

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.answered if self.answered else None


def response_kpi(
    start: dt.datetime, end: dt.datetime, *, now: dt.datetime | None = None
) -> ResponseKpi:
    """Time to first response of the tasks opened in [start, end)."""
    now = _now(now)
    tasks = list(
        ResponseTask.objects.filter(opened_at__gte=start, opened_at__lt=end).only(
            "opened_at", "first_response_at", "due_first", "due_full", "state"
        )
    )
    hours: list[float] = []
    on_time = 0
    overdue_open = 0
    for t in tasks:
        h = t.first_response_hours()
        if h is not None:
            hours.append(h)
            due = t.due_first or t.due_full
            if t.first_response_at is not None and t.first_response_at <= due:
                on_time += 1
        elif (t.due_first or t.due_full) < now:
            overdue_open += 1
    return ResponseKpi(
        tasks=len(tasks),
        answered=len(hours),
        median_hours=statistics.median(hours) if hours else None,
        mean_hours=statistics.fmean(hours) if hours else None,
        on_time=on_time,
        overdue_open=overdue_open,
    )
