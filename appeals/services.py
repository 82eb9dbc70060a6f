"""Every change to an appeal: intake and the loop of DESIGN.md, one ``do_*`` function per step.

Each step is a row of ``TRANSITIONS``: the states it starts from, the state it leads to, who may
take it and at which unit. ``_apply`` does the rest the same way for all of them: the state is
claimed with a conditional UPDATE (``WHERE state = <the state the caller saw>``, so two
dispatchers acting at once cannot both win), the timeline event and the audit entry are written in
the same transaction, and the citizen's notification is queued for after the commit.

Checks come in this order: the actor's right (``Forbidden``), then the state
(``Conflict`` with code ``invalid_transition`` and the allowed next steps), then the input.

``now`` arguments exist for imports of historical appeals and for tests with fixed times; live
callers leave them out.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from appeals import clock
from appeals.models import (
    TEXT_LIMIT,
    TITLE_LIMIT,
    Appeal,
    AppealEvent,
    Callback,
    CallbackChannel,
    Channel,
    Dispatch,
    IdempotencyKey,
    Rating,
    Reply,
    Review,
    ReviewKind,
    ReviewOutcome,
    State,
)
from audit.services import record
from minsheng import rows
from minsheng.errors import Conflict, Forbidden, ServiceError
from org.calendar import CALENDAR_TZ
from org.models import Category, Grid, RoleAssignment, Unit
from org.roles import Role, has_role, units_for
from vault.crypto import blind_index
from vault.validators import normalise_mobile

log = logging.getLogger("minsheng.appeals")

Who = Literal["intake", "current", "citizen", "callback", "system", "review"]
# No 0/O or 1/I: the secret is read out over the phone.
SECRET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # noqa: S105
SECRET_LENGTH = 10


@dataclass(frozen=True)
class Transition:
    label: str | Promise
    sources: frozenset[str]
    target: str | None  # None: the state stays (extensions, suspensions) or depends on input
    roles: tuple[str, ...]
    who: Who
    internal: bool = False  # taken by the system, never offered as a next step


def _states(*states: State) -> frozenset[str]:
    return frozenset(s.value for s in states)


_WORKING = _states(State.SIGNED, State.HANDLING, State.REOPENED)
_WITHDRAWABLE = _states(
    State.RECEIVED,
    State.REGISTERED,
    State.DISPATCHED,
    State.SIGNED,
    State.RETURNED,
    State.HANDLING,
    State.REOPENED,
)

_REVIEWABLE = _states(State.REPLIED, State.CALLED_BACK, State.CLOSED)

TRANSITIONS: dict[str, Transition] = {
    "register": Transition(
        _("立案"), _states(State.RECEIVED), State.REGISTERED, (Role.AGENT,), "intake"
    ),
    "reject": Transition(
        _("不予受理"),
        _states(State.RECEIVED, State.REGISTERED),
        State.REJECTED,
        (Role.AGENT,),
        "intake",
    ),
    "dispatch": Transition(
        _("派遣"),
        _states(State.REGISTERED, State.RETURNED),
        State.DISPATCHED,
        (Role.AGENT,),
        "intake",
    ),
    "sign": Transition(
        _("签收"), _states(State.DISPATCHED), State.SIGNED, (Role.HANDLER,), "current"
    ),
    "return": Transition(
        _("退回"), _states(State.DISPATCHED), State.RETURNED, (Role.HANDLER,), "current"
    ),
    "handle": Transition(
        _("处置"), _states(State.SIGNED), State.HANDLING, (Role.HANDLER,), "current"
    ),
    "reply": Transition(
        _("答复"),
        _states(State.HANDLING, State.REOPENED),
        State.REPLIED,
        (Role.HANDLER,),
        "current",
    ),
    "callback": Transition(_("回访"), _states(State.REPLIED), None, (Role.AGENT,), "callback"),
    "close": Transition(
        _("结案"), _states(State.CALLED_BACK), State.CLOSED, (Role.AGENT,), "intake"
    ),
    "merge": Transition(
        _("合并"),
        _states(State.RECEIVED, State.REGISTERED, State.RETURNED),
        State.MERGED,
        (Role.AGENT,),
        "intake",
    ),
    "withdraw": Transition(_("撤回"), _WITHDRAWABLE, State.WITHDRAWN, (), "citizen"),
    "request_extension": Transition(_("申请延期"), _WORKING, None, (Role.HANDLER,), "current"),
    "approve_extension": Transition(_("批准延期"), _WORKING, None, (Role.LEADER,), "current"),
    "suspend": Transition(
        _("中止计时"), _WORKING | _states(State.DISPATCHED), None, (Role.LEADER,), "current"
    ),
    "resume": Transition(
        _("恢复计时"),
        _WORKING | _states(State.DISPATCHED),
        None,
        (Role.LEADER, Role.HANDLER),
        "current",
    ),
    "follow_reply": Transition(
        _("随主件答复"), _states(State.MERGED), State.REPLIED, (), "system", internal=True
    ),
    # The citizen reopens within settings.APPEAL_REOPEN_DAYS of closing or of the callback.
    "reopen": Transition(
        _("申请重办"), _states(State.CALLED_BACK, State.CLOSED), State.REOPENED, (), "citizen"
    ),
    # 信访 复查/复核: requested by the citizen (or an agent for them), answered by a leader of the
    # reviewing unit. The appeal keeps its state; the review has its own record and clock.
    "request_review": Transition(
        _("申请复查（复核）"), _REVIEWABLE, None, (Role.AGENT,), "callback"
    ),
    "answer_review": Transition(_("复查（复核）答复"), _REVIEWABLE, None, (Role.LEADER,), "review"),
    # A leader over the intake unit overturns a confirmed repeat (appeals.repeats checks who).
    "overturn_repeat": Transition(
        _("撤销重复认定"),
        _states(State.REJECTED),
        State.REGISTERED,
        (Role.LEADER,),
        "intake",
        internal=True,
    ),
}
# While the clock is stopped the order waits; only these steps may happen.
_WHILE_SUSPENDED = frozenset({"resume", "withdraw"})


class InvalidTransition(Conflict):
    code = "invalid_transition"


def allowed_actions(appeal: Appeal) -> list[str]:
    """The steps the appeal's state allows next (whoever may take them)."""
    if appeal.suspended_at is not None:
        return [
            a
            for a in TRANSITIONS
            if a in _WHILE_SUSPENDED and appeal.state in TRANSITIONS[a].sources
        ]
    return [
        a
        for a, t in TRANSITIONS.items()
        if not t.internal and appeal.state in t.sources and _applicable(appeal, a)
    ]


def _applicable(appeal: Appeal, action: str) -> bool:
    """Conditions beyond the state that decide whether a step is offered at all."""
    if action == "reopen":
        deadline = reopen_deadline(appeal)
        return deadline is not None and timezone.now() <= deadline
    if action == "request_review":
        from appeals import review

        return review.next_kind(appeal) is not None
    if action == "answer_review":
        from appeals import review

        return review.open_review(appeal) is not None
    return True


def _invalid(appeal: Appeal, action: str) -> InvalidTransition:
    state_label = State(appeal.state).label
    if appeal.suspended_at is not None and action not in _WHILE_SUSPENDED:
        message = _("该诉求已中止计时，恢复计时后才能%(action)s。")
    else:
        message = _("当前状态“%(state)s”不能%(action)s。")
    return InvalidTransition(
        message % {"state": state_label, "action": TRANSITIONS[action].label},
        detail={"state": appeal.state, "action": action, "allowed": allowed_actions(appeal)},
    )


# --- who may act -------------------------------------------------------------------------------
def secret_hash(secret: str) -> str:
    return blind_index(secret, "appeal.secret")


def secret_matches(appeal: Appeal, secret: str | None) -> bool:
    if not secret:
        return False
    return hmac.compare_digest(appeal.secret_hash, secret_hash(secret))


def is_owner(appeal: Appeal, actor: Any) -> bool:
    return (
        actor is not None
        and getattr(actor, "is_authenticated", False)
        and appeal.citizen_id is not None
        and appeal.citizen_id == actor.pk
    )


def _unit_of(appeal: Appeal, who: Who) -> Unit | None:
    return appeal.intake_unit if who == "intake" else appeal.current_unit


def may(appeal: Appeal, action: str, actor: Any, *, secret: str | None = None) -> bool:
    """May ``actor`` (or whoever holds ``secret``) take ``action`` on this appeal at its unit?"""
    t = TRANSITIONS[action]
    if t.who == "system":
        return actor is None
    if t.who == "citizen":
        return is_owner(appeal, actor) or secret_matches(appeal, secret)
    if t.who == "callback":
        return (
            is_owner(appeal, actor)
            or secret_matches(appeal, secret)
            or has_role(actor, *t.roles, unit=appeal.intake_unit)
        )
    if t.who == "review":
        from appeals import review

        pending = review.open_review(appeal)
        return pending is not None and has_role(actor, *t.roles, unit=pending.unit)
    unit = _unit_of(appeal, t.who)
    if unit is None and t.who == "intake":
        return has_role(actor, *t.roles)  # no unit configured at intake: any agent
    return unit is not None and has_role(actor, *t.roles, unit=unit)


def _check(appeal: Appeal, action: str, actor: Any, *, secret: str | None = None) -> None:
    if not may(appeal, action, actor, secret=secret):
        raise Forbidden(
            _("您没有权限对该诉求执行“%(action)s”。") % {"action": TRANSITIONS[action].label}
        )
    if appeal.state not in TRANSITIONS[action].sources:
        raise _invalid(appeal, action)
    if appeal.suspended_at is not None and action not in _WHILE_SUSPENDED:
        raise _invalid(appeal, action)


def _required(value: str, field: str, message: str | Promise) -> str:
    text = (value or "").strip()
    if not text:
        raise ServiceError(
            message,
            code="validation_error",
            status=422,
            detail=[{"field": field, "message": str(message)}],
        )
    return text


def _invalid_field(field: str, message: str | Promise) -> ServiceError:
    return ServiceError(
        _("请求数据有误：%(field)s：%(message)s") % {"field": field, "message": message},
        code="validation_error",
        status=422,
        detail=[{"field": field, "message": str(message)}],
    )


# --- the one way a state changes ---------------------------------------------------------------
def _plain(value: Any) -> Any:
    return value.pk if isinstance(value, models.Model) else value


def _apply(
    appeal: Appeal,
    action: str,
    actor: Any,
    *,
    now: dt.datetime,
    target: str | None = None,
    changes: dict[str, Any] | None = None,
    guard: dict[str, Any] | None = None,
    reason: str = "",
    legal_basis: str = "",
    data: dict[str, Any] | None = None,
    notify: str | None = None,
    request: HttpRequest | None = None,
) -> AppealEvent:
    """Claim the change with a conditional UPDATE, then write the event and the audit entry.

    Call inside ``transaction.atomic()``. ``guard`` adds conditions the row must still meet.
    """
    t = TRANSITIONS[action]
    from_state = appeal.state
    to_state = target or t.target or from_state
    changes = dict(changes or {})
    before = {name: _plain(getattr(appeal, name)) for name in changes}
    claimed = Appeal.objects.filter(pk=appeal.pk, state=from_state, **(guard or {})).update(
        state=to_state, updated=now, **changes
    )
    if not claimed:
        fresh = Appeal.objects.get(pk=appeal.pk)
        raise _invalid(fresh, action)
    # The timeline names the unit the step concerns: the new one on dispatch, the intake unit for
    # the hotline's steps, otherwise the unit that held the order (even when it gives it back).
    if "current_unit" in changes and changes["current_unit"] is not None:
        unit = changes["current_unit"]
    elif t.who == "intake":
        unit = appeal.intake_unit
    else:
        unit = appeal.current_unit
    appeal.state = to_state
    for name, value in changes.items():
        setattr(appeal, name, value)
    event = AppealEvent.objects.create(
        appeal=appeal,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor=actor if getattr(actor, "pk", None) else None,
        unit=unit,
        reason=reason,
        legal_basis=legal_basis,
        data=data or {},
        at=now,
    )
    record(
        actor,
        f"appeals.{action}",
        appeal,
        before={"state": from_state, **before},
        after={"state": to_state, **{k: _plain(v) for k, v in changes.items()}},
        reason=reason,
        request=request,
    )
    if notify:
        _notify_citizen_after_commit(appeal.pk, notify)
    return event


def _notify_citizen_after_commit(appeal_id: int, kind: str) -> None:
    from appeals import tasks
    from minsheng.outbox import delay_on_commit

    delay_on_commit(tasks.notify_citizen, appeal_id, kind)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


# --- intake ------------------------------------------------------------------------------------
# The intake unit hardly ever changes, and every submission asks for it: keep it per process for
# a minute (and drop it when any unit is saved in this process), so intake spends no query on it.
_INTAKE_UNIT_TTL = 60.0
_intake_unit_cache: tuple[float, Unit | None] | None = None


def default_intake_unit() -> Unit | None:
    """The hotline centre (the highest active one), else the root of the organisation.

    None only before any unit exists: the appeal is still taken in rather than lost.
    """
    global _intake_unit_cache
    cached = _intake_unit_cache
    if cached is not None and time.monotonic() - cached[0] < _INTAKE_UNIT_TTL:
        return cached[1]
    unit = (
        Unit.objects.active()
        .of_kind(Unit.Kind.HOTLINE)
        .order_by("depth", "sort_order", "pk")
        .first()
        or Unit.objects.active().roots().order_by("sort_order", "pk").first()
    )
    _intake_unit_cache = (time.monotonic(), unit) if unit is not None else None
    return unit


@receiver(post_save, sender=Unit)
@receiver(post_delete, sender=Unit)
def _forget_intake_unit(**_kwargs: Any) -> None:
    global _intake_unit_cache
    _intake_unit_cache = None


def resolve_category(code_or_id: str | int | None) -> Category | None:
    """The active category by code or id, or a 422 naming what was asked for."""
    if code_or_id in (None, ""):
        return None
    query = Category.objects.active().select_related("parent", "responsible_unit")
    text = str(code_or_id).strip()
    found = query.filter(code=text).first()
    if found is None and text.isdigit():
        found = query.filter(pk=int(text)).first()
    if found is None:
        raise _invalid_field("category", _("没有编码为“%(code)s”的启用分类") % {"code": text})
    return found


def _title_from(text: str) -> str:
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    return first_line[:30]


def new_secret() -> str:
    return "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))


@dataclass
class Submission:
    text: str
    title: str = ""
    category: Category | None = None
    address: str = ""
    lat: Decimal | None = None
    lng: Decimal | None = None
    contact_name: str = ""
    contact_phone: str = ""
    channel: str = Channel.WEB
    petition: bool = False
    grid: Grid | None = None


def check_submission(sub: Submission) -> Submission:
    """Validate and normalise an intake; raises 422 naming the field."""
    text = (sub.text or "").strip()
    if not text:
        raise _invalid_field("text", _("诉求内容不能为空"))
    if len(text) > TEXT_LIMIT:
        raise _invalid_field(
            "text",
            _("诉求内容太长（%(n)s 字，至多 %(max)s 字）") % {"n": len(text), "max": TEXT_LIMIT},
        )
    title = (sub.title or "").strip() or _title_from(text)
    if len(title) > TITLE_LIMIT:
        raise _invalid_field("title", _("标题太长（至多 %(max)s 字）") % {"max": TITLE_LIMIT})
    phone = ""
    if (sub.contact_phone or "").strip():
        try:
            phone = normalise_mobile(sub.contact_phone)
        except ValidationError as exc:
            raise _invalid_field("contact_phone", exc.messages[0]) from None
    if (sub.lat is None) != (sub.lng is None):
        raise _invalid_field("lat", _("经纬度须同时提供"))
    if sub.lat is not None and not Decimal(-90) <= sub.lat <= Decimal(90):
        raise _invalid_field("lat", _("纬度应在 -90 到 90 之间"))
    if sub.lng is not None and not Decimal(-180) <= sub.lng <= Decimal(180):
        raise _invalid_field("lng", _("经度应在 -180 到 180 之间"))
    if sub.channel not in Channel.values:
        raise _invalid_field("channel", _("未知渠道“%(c)s”") % {"c": sub.channel})
    return Submission(
        text=text,
        title=title,
        category=sub.category,
        address=(sub.address or "").strip()[:255],
        lat=sub.lat,
        lng=sub.lng,
        contact_name=(sub.contact_name or "").strip()[:64],
        contact_phone=phone,
        channel=sub.channel,
        petition=sub.petition,
        grid=sub.grid,
    )


def _intake_unit_for(actor: Any) -> Unit | None:
    if actor is not None and has_role(actor, Role.AGENT):
        unit = units_for(actor, Role.AGENT).order_by("depth", "pk").first()
        if unit is not None:
            return unit
    return default_intake_unit()


def do_submit(
    actor: Any,
    submission: Submission,
    *,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
    idempotency: IdempotencyRow | None = None,
) -> tuple[Appeal, str]:
    """Take an appeal in (受理). Returns the appeal and its tracking secret (shown once).

    ``actor`` is the signed-in citizen, the agent entering it for a caller, or None (anonymous).
    ``idempotency``: the submission's ``Idempotency-Key`` row, written with the appeal; a key
    already stored raises ``IntegrityError`` and nothing is written.

    The appeal, its timeline event, the key, the search index entry, the after-intake task
    message and the audit entry are written with plain SQL (minsheng/rows.py) as the ORM would
    write them; on PostgreSQL all but the audit entry go in one round trip with the audit chain's
    lock, the entry in a second.
    """
    sub = check_submission(submission)
    now = _now(now)
    secret = new_secret()
    is_citizen = actor is not None and getattr(actor, "kind", None) == Role.CITIZEN.value
    intake_unit = _intake_unit_for(None if is_citizen else actor)
    values: dict[str, Any] = {
        "secret_hash": secret_hash(secret),
        "title": sub.title,
        "text": sub.text,
        "category_id": sub.category.pk if sub.category is not None else None,
        "petition": sub.petition
        or bool(sub.category and clock.rule_for_category(sub.category).petition),
        "address": sub.address,
        "lat": sub.lat,
        "lng": sub.lng,
        "channel": sub.channel,
        "grid_id": sub.grid.pk if sub.grid is not None else None,
        "citizen_id": actor.pk if is_citizen else None,
        "taken_by_id": actor.pk if actor is not None and not is_citizen else None,
        "contact_name": sub.contact_name,
        "contact_phone": sub.contact_phone,
        "contact_phone_hash": blind_index(sub.contact_phone, "phone") if sub.contact_phone else "",
        "intake_unit_id": intake_unit.pk if intake_unit is not None else None,
        "state": State.RECEIVED.value,
        "created": now,
    }
    year = now.astimezone(CALENDAR_TZ).year
    batch = rows.Batch()
    with transaction.atomic():
        pk = _insert_appeal(values, year, batch)
        appeal: Appeal = rows.instance(Appeal, values, pk)
        appeal.category = sub.category
        appeal.grid = sub.grid
        appeal.intake_unit = intake_unit
        if is_citizen:
            appeal.citizen = actor
        elif actor is not None:
            appeal.taken_by = actor
        batch.add(
            *rows.insert(
                AppealEvent,
                {
                    "appeal_id": pk,
                    "action": "submit",
                    "to_state": State.RECEIVED.value,
                    "actor_id": getattr(actor, "pk", None),
                    "unit_id": values["intake_unit_id"],
                    "data": {"channel": appeal.channel},
                    "at": now,
                },
            )
        )
        if idempotency is not None:
            batch.add(
                *rows.insert(
                    IdempotencyKey,
                    {
                        "scope": idempotency.scope,
                        "key": idempotency.key,
                        "request_hash": idempotency.request_hash,
                        "actor_id": getattr(actor, "pk", None),
                        "appeal_id": pk,
                        "secret": secret,
                        "created": now,
                    },
                )
            )
        _index_for_search(appeal, batch)
        queue_task = _after_intake(appeal.pk, batch)
        # Last: the statements above go with the chain's lock in one round trip.
        record(
            actor,
            "appeals.submit",
            appeal,
            after={
                "code": appeal.code,
                "state": appeal.state,
                "channel": appeal.channel,
                "category": appeal.category_id,
                "contact_phone": appeal.contact_phone,
            },
            request=request,
            batch=batch,
        )
        # After record(): the commit's WAL flush it queues runs before the task is published.
        queue_task()
    return appeal, secret


@dataclass(frozen=True)
class IdempotencyRow:
    scope: str
    key: str
    request_hash: str


def _public_code(year: int, pk: int) -> str:
    # The public code numbers appeals by id, so it needs no counter row to contend for.
    return f"MS-{year}-{pk:06d}"


_appeal_sequence: str | None = None


def _insert_appeal(values: dict[str, Any], year: int, batch: rows.Batch) -> int:
    """Insert the appeal (PostgreSQL: queued in ``batch`` with its id taken from the sequence
    first, so the code is right from the start); returns its id and sets ``values``' id and code."""
    global _appeal_sequence
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if _appeal_sequence is None:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Appeal._meta.db_table])
                _appeal_sequence = str(cursor.fetchone()[0])
            cursor.execute("SELECT nextval(%s)", [_appeal_sequence])
            pk = int(cursor.fetchone()[0])
        values["id"] = pk
        values["code"] = _public_code(year, pk)
        batch.add(*rows.insert(Appeal, values))
        return pk
    # SQLite: the id comes from the insert; the write lock is held, so the update is cheap.
    values["code"] = f"tmp-{uuid.uuid4().hex[:28]}"  # fits the column until the id is known
    with connection.cursor() as cursor:
        cursor.execute(*rows.insert(Appeal, values, returning="id"))
        pk = int(cursor.fetchone()[0])
        values["id"] = pk
        values["code"] = _public_code(year, pk)
        table = connection.ops.quote_name(Appeal._meta.db_table)
        cursor.execute(f"UPDATE {table} SET code = %s WHERE id = %s", [values["code"], pk])  # noqa: S608
    return pk


def _index_for_search(appeal: Appeal, batch: rows.Batch) -> None:
    """The appeal's search index entry, which ``search.signals`` writes on ``save()``.

    PostgreSQL: the same upsert as ``search.index`` writes, queued in ``batch`` (no round trip of
    its own, no savepoint). SQLite: ``search.index.index_appeals`` itself.
    """
    from search.index import index_appeals, render

    if connection.vendor != "postgresql":
        batch.run()  # the appeal row first, as the index's foreign key expects
        index_appeals([appeal])
        return
    batch.add(
        "INSERT INTO search_appealindex (appeal_id, indexed_at, document) "
        "VALUES (%s, %s, %s::tsvector) ON CONFLICT (appeal_id) DO UPDATE "
        "SET indexed_at = EXCLUDED.indexed_at, document = EXCLUDED.document",
        [appeal.pk, timezone.now(), render(appeal.title, appeal.text, "postgresql")],
    )


def _after_intake(appeal_id: int, batch: rows.Batch | None = None) -> Callable[[], None]:
    """Once the intake has committed: the citizen's receipt, and the look for an open appeal
    about the same problem (appeals.duplicates) and for a concluded matter of the same citizen
    that it repeats (appeals.repeats) — one task message, written with the appeal.

    With ``batch`` the message's row goes into it; call the returned function (it queues the
    publish for after the commit) once the audit entry is recorded."""
    from appeals import tasks
    from minsheng.outbox import delay_on_commit, stage_on_commit

    if batch is None:
        delay_on_commit(tasks.after_intake, appeal_id)
        return lambda: None
    return stage_on_commit(batch, tasks.after_intake, appeal_id)


# --- the loop ----------------------------------------------------------------------------------
def do_register(
    appeal: Appeal,
    actor: Any,
    *,
    reason: str = "",
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    _check(appeal, "register", actor)
    with transaction.atomic():
        _apply(appeal, "register", actor, now=_now(now), reason=reason, request=request)
    return appeal


def do_reject(
    appeal: Appeal,
    actor: Any,
    *,
    reason: str,
    legal_basis: str,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    _check(appeal, "reject", actor)
    reason = _required(reason, "reason", _("不予受理必须说明理由"))
    legal_basis = _required(legal_basis, "legal_basis", _("不予受理必须写明依据"))
    now = _now(now)
    with transaction.atomic():
        _apply(
            appeal,
            "reject",
            actor,
            now=now,
            changes={"closed_at": now},
            reason=reason,
            legal_basis=legal_basis,
            notify="reject",
            request=request,
        )
    return appeal


def default_unit_for(appeal: Appeal) -> Unit | None:
    category = appeal.category
    while category is not None:
        if category.responsible_unit is not None:
            return category.responsible_unit
        category = category.parent
    return None


def do_dispatch(
    appeal: Appeal,
    unit: Unit,
    actor: Any,
    *,
    suggestions: Iterable[dict[str, Any]] = (),
    note: str = "",
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    """Send the order to ``unit``. Exactly one of two simultaneous dispatches wins."""
    _check(appeal, "dispatch", actor)
    if not unit.active:
        raise _invalid_field("unit", _("单位“%(u)s”已停用") % {"u": unit.name})
    now = _now(now)
    due = clock.on_dispatch(appeal, now)
    default_unit = default_unit_for(appeal)
    suggested = list(suggestions)
    changes: dict[str, Any] = {
        "current_unit": unit,
        "dispatched_at": now,
        "signed_at": None,
        **due,
        **_cleared_flags("sign", "handle", "reply"),
    }
    with transaction.atomic():
        _apply(
            appeal,
            "dispatch",
            actor,
            now=now,
            changes=changes,
            reason=note,
            data={"unit": unit.pk, "default_unit": getattr(default_unit, "pk", None)},
            notify="dispatch",
            request=request,
        )
        Dispatch.objects.create(
            appeal=appeal,
            unit=unit,
            suggestions=suggested,
            default_unit=default_unit,
            category=appeal.category,
            decided_by=actor if getattr(actor, "pk", None) else None,
            note=note,
            at=now,
        )
    return appeal


def _cleared_flags(*clocks: str) -> dict[str, bool]:
    return {f"{c}_{flag}": False for c in clocks for flag in ("warned", "overdue")}


def do_sign(
    appeal: Appeal,
    actor: Any,
    *,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    _check(appeal, "sign", actor)
    now = _now(now)
    with transaction.atomic():
        _apply(
            appeal,
            "sign",
            actor,
            now=now,
            changes={"signed_at": now, **clock.on_sign(appeal, now)},
            notify="sign",
            request=request,
        )
    return appeal


def do_return(
    appeal: Appeal,
    actor: Any,
    *,
    reason: str,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    """退回: the order goes back to the dispatchers' queue, no unit holds it any more."""
    _check(appeal, "return", actor)
    reason = _required(reason, "reason", _("退回必须说明理由"))
    changes: dict[str, Any] = {
        "current_unit": None,
        "sign_due": None,
        "handle_due": None,
        "reply_due": None,
        **_cleared_flags("sign", "handle", "reply"),
    }
    with transaction.atomic():
        _apply(
            appeal, "return", actor, now=_now(now), changes=changes, reason=reason, request=request
        )
    return appeal


def do_handle(
    appeal: Appeal,
    actor: Any,
    *,
    note: str = "",
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    _check(appeal, "handle", actor)
    with transaction.atomic():
        _apply(appeal, "handle", actor, now=_now(now), reason=note, request=request)
    return appeal


def do_reply(
    appeal: Appeal,
    actor: Any,
    *,
    text: str,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Reply:
    """答复; every appeal merged into this one receives the same reply and is asked to rate it."""
    _check(appeal, "reply", actor)
    text = _required(text, "text", _("答复内容不能为空"))
    if len(text) > TEXT_LIMIT:
        raise _invalid_field("text", _("答复内容太长（至多 %(max)s 字）") % {"max": TEXT_LIMIT})
    now = _now(now)
    with transaction.atomic():
        _apply(
            appeal,
            "reply",
            actor,
            now=now,
            changes={"replied_at": now},
            notify="reply",
            request=request,
        )
        reply = Reply.objects.create(
            appeal=appeal, unit=appeal.current_unit, author=actor, text=text, at=now
        )
        followers = Appeal.objects.filter(
            merged_into=appeal, state=State.MERGED
        ).select_for_update()
        for follower in followers.order_by("pk"):
            _apply(
                follower,
                "follow_reply",
                None,
                now=now,
                changes={"replied_at": now, "current_unit": appeal.current_unit},
                data={"target": appeal.pk, "reply": reply.pk},
                notify="reply",
                request=request,
            )
            Reply.objects.create(
                appeal=follower,
                unit=appeal.current_unit,
                author=actor,
                text=text,
                source=reply,
                at=now,
            )
    return reply


def do_callback(
    appeal: Appeal,
    actor: Any,
    *,
    rating: str,
    comment: str = "",
    secret: str | None = None,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Callback:
    """回访: the citizen rates online (owner or secret) or an agent records a phone call.

    满意 / 基本满意 → 回访 (waiting to be closed); 不满意 → 重办 in the same unit with a fresh
    handling deadline, and the comment is the reason.
    """
    _check(appeal, "callback", actor, secret=secret)
    if rating not in Rating.values:
        raise _invalid_field("rating", _("评价应为满意、基本满意或不满意"))
    online = is_owner(appeal, actor) or secret_matches(appeal, secret)
    channel = CallbackChannel.ONLINE if online else CallbackChannel.PHONE
    comment = (comment or "").strip()
    if rating == Rating.UNSATISFIED:
        comment = _required(comment, "comment", _("不满意请说明原因，以便重新办理"))
    now = _now(now)
    with transaction.atomic():
        if rating == Rating.UNSATISFIED:
            changes: dict[str, Any] = {
                "reopen_count": appeal.reopen_count + 1,
                "replied_at": None,
                **clock.on_reopen(appeal, now),
                **_cleared_flags("handle", "reply"),
            }
            _apply(
                appeal,
                "callback",
                actor,
                now=now,
                target=State.REOPENED,
                changes=changes,
                reason=comment,
                data={"rating": rating, "channel": channel},
                notify="reopen",
                request=request,
            )
        else:
            _apply(
                appeal,
                "callback",
                actor,
                now=now,
                target=State.CALLED_BACK,
                reason=comment,
                data={"rating": rating, "channel": channel},
                request=request,
            )
        callback = Callback.objects.create(
            appeal=appeal,
            reply=appeal.replies.order_by("-at", "-pk").first(),
            rating=rating,
            channel=channel,
            comment=comment,
            actor=actor if getattr(actor, "pk", None) else None,
            at=now,
        )
    return callback


def do_close(
    appeal: Appeal,
    actor: Any,
    *,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    _check(appeal, "close", actor)
    now = _now(now)
    with transaction.atomic():
        _apply(
            appeal,
            "close",
            actor,
            now=now,
            changes={"closed_at": now},
            notify="close",
            request=request,
        )
    return appeal


def do_merge(
    appeal: Appeal,
    target: Appeal,
    actor: Any,
    *,
    reason: str = "",
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    """Merge a duplicate into an open appeal; it follows the target's reply from now on."""
    _check(appeal, "merge", actor)
    if not may(target, "merge", actor):
        raise Forbidden(_("您没有权限并入该诉求。"))
    if target.pk == appeal.pk:
        raise _invalid_field("target", _("不能把诉求合并到它自己"))
    if target.state in {State.MERGED, State.REJECTED, State.CLOSED, State.WITHDRAWN}:
        raise InvalidTransition(
            _("目标诉求 %(code)s 已“%(state)s”，不能再并入。")
            % {"code": target.code, "state": State(target.state).label},
            detail={"target_state": target.state},
        )
    with transaction.atomic():
        _apply(
            appeal,
            "merge",
            actor,
            now=_now(now),
            changes={"merged_into": target},
            reason=reason,
            data={"target": target.pk, "target_code": target.code},
            notify="merge",
            request=request,
        )
        # Appeals already merged into this one follow the new target too: one level, never chains.
        Appeal.objects.filter(merged_into=appeal).exclude(pk=appeal.pk).update(merged_into=target)
    return appeal


def do_withdraw(
    appeal: Appeal,
    actor: Any,
    *,
    secret: str | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    _check(appeal, "withdraw", actor, secret=secret)
    now = _now(now)
    with transaction.atomic():
        _apply(
            appeal,
            "withdraw",
            actor,
            now=now,
            changes={"closed_at": now, "suspended_at": None},
            reason=reason.strip(),
            notify="withdraw",
            request=request,
        )
    return appeal


# --- the clock: extensions and suspensions ------------------------------------------------------
def do_request_extension(
    appeal: Appeal,
    actor: Any,
    *,
    days: int,
    reason: str,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    _check(appeal, "request_extension", actor)
    reason = _required(reason, "reason", _("申请延期必须说明理由"))
    limit = clock.max_extension(appeal)
    if not 1 <= days <= limit:
        raise _invalid_field("days", _("延期天数应在 1 到 %(max)s 之间") % {"max": limit})
    if appeal.extended_days or appeal.extension_requested_days:
        raise InvalidTransition(
            _("每件诉求只能延期一次。"),
            detail={"state": appeal.state, "allowed": allowed_actions(appeal)},
        )
    with transaction.atomic():
        _apply(
            appeal,
            "request_extension",
            actor,
            now=_now(now),
            changes={"extension_requested_days": days, "extension_reason": reason},
            guard={"extension_requested_days__isnull": True, "extended_days": 0},
            reason=reason,
            data={"days": days},
            request=request,
        )
    return appeal


def do_approve_extension(
    appeal: Appeal,
    actor: Any,
    *,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    _check(appeal, "approve_extension", actor)
    days = appeal.extension_requested_days
    if not days:
        raise InvalidTransition(
            _("没有待批准的延期申请。"),
            detail={"state": appeal.state, "allowed": allowed_actions(appeal)},
        )
    changes: dict[str, Any] = {
        **clock.extended(appeal, days),
        "extended_days": days,
        "extension_requested_days": None,
        **_cleared_flags("handle", "reply"),
    }
    with transaction.atomic():
        _apply(
            appeal,
            "approve_extension",
            actor,
            now=_now(now),
            changes=changes,
            guard={"extension_requested_days": days},
            reason=appeal.extension_reason,
            legal_basis=str(clock.PETITION_BASIS) if clock.is_petition(appeal) else "",
            data={"days": days},
            notify="extension",
            request=request,
        )
    return appeal


def do_suspend(
    appeal: Appeal,
    actor: Any,
    *,
    reason: str,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    """A leader of the unit approves stopping the clock (a hearing, an expert assessment …)."""
    _check(appeal, "suspend", actor)
    reason = _required(reason, "reason", _("中止计时必须说明理由"))
    now = _now(now)
    with transaction.atomic():
        _apply(
            appeal,
            "suspend",
            actor,
            now=now,
            changes={"suspended_at": now},
            guard={"suspended_at__isnull": True},
            reason=reason,
            request=request,
        )
    return appeal


def do_resume(
    appeal: Appeal,
    actor: Any,
    *,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    _check(appeal, "resume", actor)
    if appeal.suspended_at is None:
        raise InvalidTransition(
            _("该诉求没有中止计时。"),
            detail={"state": appeal.state, "allowed": allowed_actions(appeal)},
        )
    now = _now(now)
    moved, paused = clock.resumed(appeal, now)
    changes: dict[str, Any] = {
        **moved,
        "suspended_at": None,
        "suspended_total": appeal.suspended_total + paused,
    }
    with transaction.atomic():
        _apply(
            appeal,
            "resume",
            actor,
            now=now,
            changes=changes,
            guard={"suspended_at": appeal.suspended_at},
            data={"paused_seconds": int(paused.total_seconds())},
            request=request,
        )
    return appeal


# --- the sweep's side: warnings and escalations -------------------------------------------------
def leader_for(unit: Unit | None) -> Any:
    """The unit's named leader, else the nearest holder of the leader role at or above it."""
    if unit is None:
        return None
    if unit.leader_id is not None and unit.leader is not None and unit.leader.is_active:
        return unit.leader
    assignment = (
        RoleAssignment.objects.filter(
            role=Role.LEADER, unit__in=unit.ancestors(include_self=True), user__is_active=True
        )
        .select_related("user", "unit")
        .order_by("-unit__depth", "pk")
        .first()
    )
    return assignment.user if assignment is not None else None


def _clock_label(name: str) -> str:
    return str({"sign": _("签收"), "handle": _("办理"), "reply": _("答复")}[name])


def record_warning(appeal: Appeal, clock_name: str, now: dt.datetime) -> None:
    """Called by the sweep inside its transaction, after it claimed the warning flag."""
    due = getattr(appeal, f"{clock_name}_due")
    AppealEvent.objects.create(
        appeal=appeal,
        action="warn",
        from_state=appeal.state,
        to_state=appeal.state,
        unit=appeal.current_unit,
        data={"clock": clock_name, "due": due.isoformat()},
        at=now,
    )
    record(
        None,
        "appeals.warn",
        appeal,
        after={f"{clock_name}_warned": True, f"{clock_name}_due": due},
        reason=str(_("%(clock)s期限将至") % {"clock": _clock_label(clock_name)}),
    )


def record_overdue(appeal: Appeal, clock_name: str, now: dt.datetime) -> None:
    """Called by the sweep inside its transaction, after it claimed the overdue flag."""
    from appeals import tasks

    due = getattr(appeal, f"{clock_name}_due")
    leader = leader_for(appeal.current_unit)
    AppealEvent.objects.create(
        appeal=appeal,
        action="escalate",
        from_state=appeal.state,
        to_state=appeal.state,
        unit=appeal.current_unit,
        data={
            "clock": clock_name,
            "due": due.isoformat(),
            "leader": getattr(leader, "pk", None),
        },
        at=now,
    )
    record(
        None,
        "appeals.overdue",
        appeal,
        after={f"{clock_name}_overdue": True, "escalated_to": getattr(leader, "pk", None)},
        reason=str(_("%(clock)s超期，已报送单位负责人") % {"clock": _clock_label(clock_name)}),
    )
    if leader is not None:
        transaction.on_commit(partial(tasks.notify_leader.delay, leader.pk, appeal.pk, clock_name))
    else:
        log.warning(
            "appeal %s is overdue (%s) and its unit has no leader to escalate to",
            appeal.code,
            clock_name,
        )


# --- the citizen reopens -----------------------------------------------------------------------
def reopen_days() -> int:
    return int(getattr(settings, "APPEAL_REOPEN_DAYS", 7))


def reopen_deadline(appeal: Appeal) -> dt.datetime | None:
    """Until when the citizen may reopen: N days after closing, or after the callback."""
    if appeal.state == State.CLOSED and appeal.closed_at is not None:
        start = appeal.closed_at
    elif appeal.state == State.CALLED_BACK:
        last = appeal.callbacks.order_by("-at", "-pk").first()
        if last is None:
            return None
        start = last.at
    else:
        return None
    return start + dt.timedelta(days=reopen_days())


def do_reopen(
    appeal: Appeal,
    actor: Any,
    *,
    reason: str,
    secret: str | None = None,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    """The owner or the secret holder reopens a closed (or called-back) appeal with a reason.

    Within ``settings.APPEAL_REOPEN_DAYS``; the handling unit gets fresh deadlines, as after
    a 不满意 rating.
    """
    _check(appeal, "reopen", actor, secret=secret)
    now = _now(now)
    deadline = reopen_deadline(appeal)
    if deadline is None or now > deadline:
        raise InvalidTransition(
            _("已超过重办申请期限：结案或回访后 %(days)s 天内可以申请重办。")
            % {"days": reopen_days()},
            code="reopen_window_passed",
            detail={
                "state": appeal.state,
                "deadline": deadline.isoformat() if deadline else None,
                "days": reopen_days(),
            },
        )
    reason = _required(reason, "reason", _("申请重办请说明原因"))
    if len(reason) > TEXT_LIMIT:
        raise _invalid_field("reason", _("原因太长（至多 %(max)s 字）") % {"max": TEXT_LIMIT})
    changes: dict[str, Any] = {
        "reopen_count": appeal.reopen_count + 1,
        "replied_at": None,
        "closed_at": None,
        **clock.on_reopen(appeal, now),
        **_cleared_flags("handle", "reply"),
    }
    with transaction.atomic():
        _apply(
            appeal,
            "reopen",
            actor,
            now=now,
            changes=changes,
            reason=reason,
            data={"online": True},
            notify="reopen",
            request=request,
        )
    return appeal


# --- 信访 复查 / 复核 ----------------------------------------------------------------------------
def do_request_review(
    appeal: Appeal,
    actor: Any,
    *,
    reason: str,
    secret: str | None = None,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Review:
    """The petitioner (owner, secret holder, or an agent for them) asks for 复查, then 复核."""
    from appeals import review

    _check(appeal, "request_review", actor, secret=secret)
    if not clock.is_petition(appeal):
        raise InvalidTransition(
            _("复查、复核只适用于信访事项；该诉求不是信访事项。"),
            code="not_a_petition",
            detail={"state": appeal.state, "allowed": allowed_actions(appeal)},
        )
    if review.open_review(appeal) is not None:
        raise InvalidTransition(
            _("已有复查（复核）申请正在办理，请等待答复。"),
            detail={"state": appeal.state, "allowed": allowed_actions(appeal)},
        )
    kind = review.next_kind(appeal)
    if kind is None:
        raise InvalidTransition(
            _("复核意见是最终意见：同一事实和理由不再受理复查、复核申请。"),
            code="review_exhausted",
            detail={"state": appeal.state, "allowed": allowed_actions(appeal)},
        )
    now = _now(now)
    _start, until = review.request_window(appeal, kind)
    label = ReviewKind(kind).label
    if now > until:
        raise InvalidTransition(
            _("已超过%(kind)s申请期限（收到书面答复之日起 30 日内，截至 %(until)s）。")
            % {"kind": label, "until": until.astimezone(CALENDAR_TZ).strftime("%Y-%m-%d")},
            code="review_window_passed",
            detail={"kind": kind, "deadline": until.isoformat()},
        )
    reason = _required(reason, "reason", _("请写明申请%(kind)s的理由") % {"kind": label})
    if len(reason) > TEXT_LIMIT:
        raise _invalid_field("reason", _("理由太长（至多 %(max)s 字）") % {"max": TEXT_LIMIT})
    unit = review.reviewing_unit(appeal, kind)
    if unit is None:
        raise InvalidTransition(
            _("找不到%(kind)s机关：该诉求没有承办单位。") % {"kind": label},
            detail={"state": appeal.state},
        )
    due = review.answer_due(kind, now)
    with transaction.atomic():
        _apply(
            appeal,
            "request_review",
            actor,
            now=now,
            reason=reason,
            legal_basis=str(review.STAGES[kind][0].basis),
            data={"kind": kind, "unit": unit.pk, "due": due.isoformat()},
            notify="review_request",
            request=request,
        )
        item = Review.objects.create(
            appeal=appeal,
            kind=kind,
            requested_at=now,
            requested_by=actor if getattr(actor, "pk", None) else None,
            reason=reason,
            unit=unit,
            due=due,
        )
    return item


def do_answer_review(
    appeal: Appeal,
    actor: Any,
    *,
    outcome: str,
    text: str,
    now: dt.datetime | None = None,
    request: HttpRequest | None = None,
) -> Review:
    """A leader of the reviewing unit gives the written 复查 (复核) opinion: upheld or changed."""
    from appeals import review

    pending = review.open_review(appeal)
    if pending is None or not clock.is_petition(appeal):
        # Rights first, as everywhere: only a leader learns that there is nothing to answer.
        if not has_role(actor, Role.LEADER):
            raise Forbidden(_("您没有权限答复该复查（复核）申请。"))
        if not clock.is_petition(appeal):
            raise InvalidTransition(
                _("复查、复核只适用于信访事项；该诉求不是信访事项。"),
                code="not_a_petition",
                detail={"state": appeal.state},
            )
        raise InvalidTransition(
            _("没有待答复的复查（复核）申请。"),
            detail={"state": appeal.state, "allowed": allowed_actions(appeal)},
        )
    _check(appeal, "answer_review", actor)
    if outcome not in ReviewOutcome.values:
        raise _invalid_field("outcome", _("结论应为维持或变更"))
    text = _required(text, "text", _("请填写复查（复核）意见"))
    if len(text) > TEXT_LIMIT:
        raise _invalid_field("text", _("意见太长（至多 %(max)s 字）") % {"max": TEXT_LIMIT})
    now = _now(now)
    with transaction.atomic():
        claimed = Review.objects.filter(pk=pending.pk, decided_at__isnull=True).update(
            decided_at=now,
            decided_by=actor if getattr(actor, "pk", None) else None,
            outcome=outcome,
            text=text,
        )
        if not claimed:
            raise InvalidTransition(
                _("该复查（复核）申请已经答复。"), detail={"state": appeal.state}
            )
        _apply(
            appeal,
            "answer_review",
            actor,
            now=now,
            reason=text,
            legal_basis=str(review.STAGES[pending.kind][1].basis),
            data={"kind": pending.kind, "review": pending.pk, "outcome": outcome},
            notify="review_answer",
            request=request,
        )
    pending.refresh_from_db()
    return pending


def record_review_warning(item: Review, now: dt.datetime) -> None:
    """Called by the sweep after it claimed the review's warning flag."""
    assert item.due is not None
    AppealEvent.objects.create(
        appeal=item.appeal,
        action="warn",
        from_state=item.appeal.state,
        to_state=item.appeal.state,
        unit=item.unit,
        data={"clock": "review", "kind": item.kind, "review": item.pk, "due": item.due.isoformat()},
        at=now,
    )
    record(
        None,
        "appeals.review_warn",
        item.appeal,
        after={"review": item.pk, "kind": item.kind, "due": item.due},
        reason=str(_("%(kind)s答复期限将至") % {"kind": ReviewKind(item.kind).label}),
    )


def record_review_overdue(item: Review, now: dt.datetime) -> None:
    """Called by the sweep after it claimed the review's overdue flag: escalate to the leader."""
    from appeals import tasks

    assert item.due is not None
    leader = leader_for(item.unit)
    AppealEvent.objects.create(
        appeal=item.appeal,
        action="escalate",
        from_state=item.appeal.state,
        to_state=item.appeal.state,
        unit=item.unit,
        data={
            "clock": "review",
            "kind": item.kind,
            "review": item.pk,
            "due": item.due.isoformat(),
            "leader": getattr(leader, "pk", None),
        },
        at=now,
    )
    record(
        None,
        "appeals.review_overdue",
        item.appeal,
        after={"review": item.pk, "overdue": True, "escalated_to": getattr(leader, "pk", None)},
        reason=str(_("%(kind)s答复超期，已报送单位负责人") % {"kind": ReviewKind(item.kind).label}),
    )
    if leader is not None:
        transaction.on_commit(
            partial(tasks.notify_leader.delay, leader.pk, item.appeal_id, "review")
        )


def do_set_grid(
    appeal: Appeal, grid: Grid | None, actor: Any, *, request: HttpRequest | None = None
) -> Appeal:
    """An agent at the intake unit (or a handler holding the order) sets the appeal's grid."""
    allowed = has_role(actor, Role.AGENT, unit=appeal.intake_unit) or (
        appeal.current_unit is not None and has_role(actor, Role.HANDLER, unit=appeal.current_unit)
    )
    if not allowed:
        raise Forbidden(_("您没有权限设置该诉求的网格。"))
    if grid is not None and not grid.active:
        raise _invalid_field("grid", _("网格“%(g)s”已停用") % {"g": grid.name})
    before = appeal.grid_id
    with transaction.atomic():
        Appeal.objects.filter(pk=appeal.pk).update(grid=grid, updated=timezone.now())
        appeal.grid = grid
        record(
            actor,
            "appeals.set_grid",
            appeal,
            before={"grid": before},
            after={"grid": grid.pk if grid is not None else None},
            request=request,
        )
    return appeal
