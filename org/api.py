"""The organisation over JSON: the unit tree, the categories with their clocks, a deadline
calculator on the official working calendar, and the caller's own roles."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from minsheng.api import ErrorOut
from minsheng.errors import ServiceError
from org import calendar
from org.models import Category, DeadlineRule, RoleAssignment, TimeUnit, Unit
from org.roles import Role, roles_of

router = Router(tags=["org"])

# Answers carry a plain +08:00 offset: before 1901 the Asia/Shanghai zone uses local mean time
# (+08:05:43), which RFC 3339 clients cannot parse; the instant is the same either way.
BEIJING_OFFSET = dt.timezone(dt.timedelta(hours=8))


class UnitRef(Schema):
    id: int
    code: str
    name: str


class UnitNode(Schema):
    id: int
    code: str
    name: str
    short_name: str
    kind: str
    kind_label: str
    children: list[UnitNode]


UnitNode.model_rebuild()


class Period(Schema):
    amount: int
    unit: str
    unit_label: str


class DeadlineRuleOut(Schema):
    sign: Period
    handle: Period
    reply: Period
    warn: Period
    petition: bool
    summary: str
    legal_basis: str


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    responsible_unit: UnitRef | None
    deadline_rule: DeadlineRuleOut | None
    rule_inherited: bool
    children: list[CategoryOut]


CategoryOut.model_rebuild()


class DeadlineQuery(Schema):
    start: dt.datetime = Field(description="起算时刻，带时区，例如 2025-09-30T10:00:00+08:00")
    amount: int = Field(ge=0, le=10000, description="期限数量")
    unit: Literal["hours", "days", "calendar_days"] = Field(
        description="hours 工作小时，days 工作日，calendar_days 自然日（期满遇节假日顺延）"
    )


class DeadlineOut(Schema):
    start: dt.datetime
    amount: int
    unit: str
    unit_label: str
    deadline: dt.datetime
    working_hours: float
    working_days: int


class RoleOut(Schema):
    role: str
    label: str
    unit: UnitRef | None


class MyRolesOut(Schema):
    username: str
    display_name: str
    kind: str
    roles: list[str]
    assignments: list[RoleOut]


@router.get("/units", response=list[UnitNode], summary="单位树 / the unit tree")
def unit_tree(request: HttpRequest) -> list[dict[str, object]]:
    units = list(Unit.objects.active().order_by("depth", "sort_order", "code"))
    nodes: dict[int, dict[str, object]] = {}
    roots: list[dict[str, object]] = []
    for unit in units:
        node: dict[str, object] = {
            "id": unit.pk,
            "code": unit.code,
            "name": unit.name,
            "short_name": unit.short_name,
            "kind": unit.kind,
            "kind_label": str(unit.get_kind_display()),
            "children": [],
        }
        nodes[unit.pk] = node
        parent = nodes.get(unit.parent_id) if unit.parent_id else None
        if parent is not None:
            parent["children"].append(node)  # type: ignore[attr-defined]
        elif unit.parent_id is None:
            roots.append(node)
        # A unit under an inactive parent is hidden with it.
    return roots


def _period(amount: int, unit: str) -> dict[str, object]:
    return {"amount": amount, "unit": unit, "unit_label": str(TimeUnit(unit).label)}


def _rule_out(rule: DeadlineRule | None) -> dict[str, object] | None:
    if rule is None:
        return None
    return {
        "sign": _period(rule.sign_amount, rule.sign_unit),
        "handle": _period(rule.handle_amount, rule.handle_unit),
        "reply": _period(rule.reply_amount, rule.reply_unit),
        "warn": _period(rule.warn_amount, rule.warn_unit),
        "petition": rule.petition,
        "summary": rule.summary(),
        "legal_basis": rule.legal_basis,
    }


@router.get(
    "/categories", response=list[CategoryOut], summary="诉求分类与时限 / categories and deadlines"
)
def category_tree(request: HttpRequest) -> list[dict[str, object]]:
    categories = list(
        Category.objects.active()
        .select_related("responsible_unit", "deadline_rule")
        .order_by("sort_order", "code")
    )
    rules = {c.pk: getattr(c, "deadline_rule", None) for c in categories}
    children: dict[int, list[Category]] = defaultdict(list)
    for category in categories:
        if category.parent_id is not None:
            children[category.parent_id].append(category)

    def out(category: Category, parent_rule: DeadlineRule | None) -> dict[str, object]:
        own = rules.get(category.pk)
        unit = category.responsible_unit
        return {
            "id": category.pk,
            "code": category.code,
            "name": category.name,
            "responsible_unit": None
            if unit is None
            else {"id": unit.pk, "code": unit.code, "name": unit.name},
            "deadline_rule": _rule_out(own or parent_rule),
            "rule_inherited": own is None and parent_rule is not None,
            "children": [out(child, own or parent_rule) for child in children[category.pk]],
        }

    return [out(c, None) for c in categories if c.parent_id is None]


@router.get(
    "/calendar/deadline",
    response={200: DeadlineOut, 422: ErrorOut},
    summary="按工作日历计算期限 / a deadline on the working calendar",
)
def deadline(request: HttpRequest, query: Query[DeadlineQuery]) -> dict[str, object]:
    if query.start.tzinfo is None or query.start.utcoffset() is None:
        raise ServiceError(
            _("start 必须带时区，例如 2025-09-30T10:00:00+08:00"),
            code="validation_error",
            status=422,
            detail=[{"field": "query.start", "message": _("缺少时区")}],
        )
    try:
        end = calendar.add_period(query.start, query.amount, query.unit)
    except (ValueError, OverflowError) as exc:
        raise ServiceError(
            _("无法计算该期限：%(reason)s") % {"reason": exc},
            code="validation_error",
            status=422,
        ) from exc
    try:
        start = query.start.astimezone(calendar.CALENDAR_TZ)
        hours = calendar.working_hours_between(start, end)
        days = calendar.working_days_between(start, end)
        start_out, end_out = start.astimezone(BEIJING_OFFSET), end.astimezone(BEIJING_OFFSET)
    except (ValueError, OverflowError) as exc:
        raise ServiceError(
            _("无法计算该期限：%(reason)s") % {"reason": exc},
            code="validation_error",
            status=422,
        ) from exc
    return {
        "start": start_out,
        "amount": query.amount,
        "unit": query.unit,
        "unit_label": str(TimeUnit(query.unit).label),
        "deadline": end_out,
        "working_hours": hours,
        "working_days": days,
    }


@router.get(
    "/me/roles",
    response={200: MyRolesOut, 401: ErrorOut},
    summary="我的角色 / the caller's roles",
)
def my_roles(request: HttpRequest) -> dict[str, object]:
    user = request.user
    if not user.is_authenticated:
        raise ServiceError(_("请先登录。"), code="unauthorized", status=401)
    assignments = RoleAssignment.objects.filter(user_id=user.pk).select_related("unit")
    rows: list[dict[str, object]] = [
        {
            "role": a.role,
            "label": str(Role(a.role).label),
            "unit": {"id": a.unit.pk, "code": a.unit.code, "name": a.unit.name},
        }
        for a in assignments
    ]
    if getattr(user, "is_superuser", False):
        rows.append({"role": Role.ADMIN.value, "label": str(Role.ADMIN.label), "unit": None})
    return {
        "username": user.get_username(),
        "display_name": getattr(user, "display_name", ""),
        "kind": getattr(user, "kind", ""),
        "roles": sorted(roles_of(user)),
        "assignments": rows,
    }
