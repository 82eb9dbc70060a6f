"""Every change to the organisation goes through here: checked, validated, saved, audited.

``actor`` None means the system (the demo loader, a management command run by an operator);
otherwise the actor must be an admin over the unit concerned, and global settings (categories,
deadlines, the calendar) need an admin at a root unit. The ``upsert_*`` functions make loading
idempotent: they write, and audit, only what actually changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from django.db import models, transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from audit.services import diff, record, snapshot
from minsheng.errors import Forbidden
from org import calendar
from org.models import CalendarOverride, Category, DeadlineRule, Grid, RoleAssignment, Unit
from org.roles import Role, forget_roles, has_role, units_for

M = TypeVar("M", bound=models.Model)

# Fields kept in the audit trail for each model (timestamps and derived columns left out).
AUDITED_FIELDS: dict[type[models.Model], tuple[str, ...]] = {
    Unit: (
        "name",
        "short_name",
        "code",
        "kind",
        "parent",
        "leader",
        "phone",
        "address",
        "sort_order",
        "active",
    ),
    Grid: ("name", "code", "community", "worker", "description", "households", "active"),
    Category: ("name", "code", "parent", "responsible_unit", "description", "sort_order", "active"),
    DeadlineRule: (
        "category",
        "sign_amount",
        "sign_unit",
        "handle_amount",
        "handle_unit",
        "reply_amount",
        "reply_unit",
        "warn_amount",
        "warn_unit",
        "petition",
        "legal_basis",
    ),
    RoleAssignment: ("user", "role", "unit", "granted_by"),
    CalendarOverride: ("date", "is_workday", "name", "note"),
}

ACTION_PREFIX: dict[type[models.Model], str] = {
    Unit: "org.unit",
    Grid: "org.grid",
    Category: "org.category",
    DeadlineRule: "org.deadline_rule",
    RoleAssignment: "org.role",
    CalendarOverride: "org.calendar_override",
}


# --- rights --------------------------------------------------------------------------------------
def _deny() -> Forbidden:
    return Forbidden(_("您没有管理该单位或配置的权限。"))


def check_can_manage_unit(actor: Any, unit: Unit | None) -> None:
    """An admin over ``unit`` (or, for a new root unit, an admin at a root) may change it."""
    if actor is None:
        return
    if unit is None:
        check_can_manage_settings(actor)
    elif not has_role(actor, Role.ADMIN, unit=unit):
        raise _deny()


def check_can_manage_settings(actor: Any) -> None:
    """Categories, deadlines and the calendar are city-wide: an admin at a root unit."""
    if actor is None or getattr(actor, "is_superuser", False):
        return
    if not units_for(actor, Role.ADMIN).filter(parent__isnull=True).exists():
        raise _deny()


def _unit_of(obj: models.Model) -> Unit | None:
    """The unit whose admins may change ``obj`` (None: a city-wide setting)."""
    if isinstance(obj, Unit):
        return obj.parent if obj.pk is None else obj
    if isinstance(obj, Grid):
        return obj.community
    if isinstance(obj, RoleAssignment):
        return obj.unit
    return None


def check_can_change(actor: Any, obj: models.Model) -> None:
    if isinstance(obj, Unit | Grid | RoleAssignment):
        check_can_manage_unit(actor, _unit_of(obj))
        if isinstance(obj, Unit) and obj.pk is not None and obj.parent_id is not None:
            # Moving a unit also needs rights over where it goes.
            check_can_manage_unit(actor, obj.parent)
    else:
        check_can_manage_settings(actor)


# --- generic save and delete ---------------------------------------------------------------------
def _fields_of(obj: models.Model) -> tuple[str, ...]:
    return AUDITED_FIELDS[type(obj)]


def _stored_snapshot(obj: models.Model) -> dict[str, Any]:
    if obj.pk is None:
        return {}
    stored = type(obj)._default_manager.filter(pk=obj.pk).first()
    return {} if stored is None else snapshot(stored, _fields_of(obj))


@transaction.atomic
def save(
    actor: Any, obj: M, *, request: HttpRequest | None = None, reason: str = "", check: bool = True
) -> bool:
    """Validate and save ``obj``, audit the change; False (and no write) when nothing changed."""
    if check:
        check_can_change(actor, obj)
    if isinstance(obj, Unit) and obj.pk is not None:
        old_unit = Unit.objects.filter(pk=obj.pk).only("parent").first()
        if old_unit is not None and old_unit.parent_id != obj.parent_id and old_unit.parent_id:
            check_can_manage_unit(actor, old_unit.parent)
    before = _stored_snapshot(obj)
    creating = not before
    obj.full_clean()
    if not creating:
        changed_before, changed_after = diff(before, snapshot(obj, _fields_of(obj)))
        if not changed_after and not changed_before:
            return False
    obj.save()
    prefix = ACTION_PREFIX[type(obj)]
    if creating:
        record(actor, f"{prefix}.create", obj, after=snapshot(obj, _fields_of(obj)),
               reason=reason, request=request)  # fmt: skip
    else:
        record(actor, f"{prefix}.update", obj, before=changed_before, after=changed_after,
               reason=reason, request=request)  # fmt: skip
    if isinstance(obj, CalendarOverride):
        transaction.on_commit(calendar.overrides_changed)
        calendar.clear_cache()
    if isinstance(obj, RoleAssignment):
        forget_roles(obj.user)
    return True


@transaction.atomic
def delete(
    actor: Any, obj: models.Model, *, request: HttpRequest | None = None, reason: str = ""
) -> None:
    check_can_change(actor, obj)
    before = snapshot(obj, _fields_of(obj))
    prefix = ACTION_PREFIX[type(obj)]
    record(actor, f"{prefix}.delete", obj, before=before, reason=reason, request=request)
    obj.delete()
    if isinstance(obj, CalendarOverride):
        transaction.on_commit(calendar.overrides_changed)
        calendar.clear_cache()
    if isinstance(obj, RoleAssignment):
        forget_roles(obj.user)


def _upsert(
    actor: Any, model: type[M], lookup: dict[str, Any], fields: dict[str, Any], **kw: Any
) -> tuple[M, bool]:
    obj = model._default_manager.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup)
    for name, value in fields.items():
        setattr(obj, name, value)
    changed = save(actor, obj, **kw)
    return obj, changed


# --- units and grids -----------------------------------------------------------------------------
def create_unit(
    actor: Any,
    *,
    code: str,
    name: str,
    kind: str,
    parent: Unit | None = None,
    request: HttpRequest | None = None,
    **fields: Any,
) -> Unit:
    unit = Unit(code=code, name=name, kind=kind, parent=parent, **fields)
    save(actor, unit, request=request)
    return unit


def update_unit(
    actor: Any, unit: Unit, *, request: HttpRequest | None = None, **changes: Any
) -> bool:
    for name, value in changes.items():
        setattr(unit, name, value)
    return save(actor, unit, request=request)


def upsert_unit(actor: Any, code: str, **fields: Any) -> tuple[Unit, bool]:
    """Create or update the unit with this code; True when anything was written."""
    return _upsert(actor, Unit, {"code": code}, fields)


def upsert_grid(actor: Any, code: str, **fields: Any) -> tuple[Grid, bool]:
    return _upsert(actor, Grid, {"code": code}, fields)


# --- roles ---------------------------------------------------------------------------------------
@transaction.atomic
def grant_role(
    actor: Any, user: Any, role: str, unit: Unit, *, request: HttpRequest | None = None
) -> RoleAssignment:
    """Give ``user`` the ``role`` at ``unit``; granting what is already held changes nothing."""
    existing = RoleAssignment.objects.filter(user=user, role=role, unit=unit).first()
    if existing is not None:
        check_can_manage_unit(actor, unit)
        return existing
    assignment = RoleAssignment(user=user, role=role, unit=unit, granted_by=actor)
    save(actor, assignment, request=request)
    return assignment


def revoke_role(
    actor: Any, assignment: RoleAssignment, *, reason: str = "", request: HttpRequest | None = None
) -> None:
    delete(actor, assignment, reason=reason, request=request)


# --- categories and deadlines --------------------------------------------------------------------
def upsert_category(actor: Any, code: str, **fields: Any) -> tuple[Category, bool]:
    return _upsert(actor, Category, {"code": code}, fields)


def set_deadline_rule(actor: Any, category: Category, **fields: Any) -> tuple[DeadlineRule, bool]:
    """Create or update the category's rule; fields not given keep their value (or default)."""
    return _upsert(actor, DeadlineRule, {"category": category}, fields)


# --- calendar ------------------------------------------------------------------------------------
def set_calendar_override(
    actor: Any,
    date: dt.date,
    *,
    is_workday: bool,
    name: str = "",
    note: str = "",
    request: HttpRequest | None = None,
) -> tuple[CalendarOverride, bool]:
    return _upsert(
        actor,
        CalendarOverride,
        {"date": date},
        {"is_workday": is_workday, "name": name, "note": note},
        request=request,
    )


def remove_calendar_override(
    actor: Any, date: dt.date, *, request: HttpRequest | None = None
) -> bool:
    override = CalendarOverride.objects.filter(date=date).first()
    if override is None:
        return False
    delete(actor, override, request=request)
    return True
