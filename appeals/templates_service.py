"""Reply templates (答复模板): which ones fit an appeal, filling them in, and audited edits.

A template names a category (or none: any category) and a unit (or none: any unit). For an appeal
the offered templates are those whose category is the appeal's category or one of its ancestors
and whose unit is the handling unit or one of its ancestors, most specific first: a template for
the exact category beats one for its parent, which beats one for any category; then the unit.
"""

from __future__ import annotations

import datetime as dt
import string
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appeals.models import Appeal, ReplyTemplate
from audit.services import diff, record, snapshot
from minsheng.errors import Forbidden, ServiceError
from org.calendar import CALENDAR_TZ
from org.models import Category, Unit
from org.roles import Role, has_role, units_for

PLACEHOLDERS = ("code", "title", "unit", "date")
_FIELDS = ("category", "unit", "title", "text", "active", "sort_order")


def _category_chain(category: Category | None) -> list[int]:
    """The category's id and its ancestors' ids, the category itself first."""
    chain: list[int] = []
    seen: set[int] = set()
    node = category
    while node is not None and node.pk not in seen:
        chain.append(node.pk)
        seen.add(node.pk)
        node = node.parent
    return chain


def _unit_chain(unit: Unit | None) -> list[int]:
    if unit is None:
        return []
    return [u.pk for u in sorted(unit.ancestors(include_self=True), key=lambda u: -u.depth)]


def templates_for(appeal: Appeal) -> list[ReplyTemplate]:
    """Active templates that fit ``appeal``, most specific first (category, then unit)."""
    categories = _category_chain(appeal.category)
    units = _unit_chain(appeal.current_unit or appeal.intake_unit)
    found = ReplyTemplate.objects.filter(
        Q(category__isnull=True) | Q(category_id__in=categories),
        Q(unit__isnull=True) | Q(unit_id__in=units),
        active=True,
    ).select_related("category", "unit")

    def rank(tpl: ReplyTemplate) -> tuple[int, int, int, int]:
        c = categories.index(tpl.category_id) if tpl.category_id else len(categories)
        u = units.index(tpl.unit_id) if tpl.unit_id else len(units)
        return (c, u, tpl.sort_order, tpl.pk)

    return sorted(found, key=rank)


class _Values(dict[str, str]):
    """Unknown placeholders stay as written instead of failing the whole reply."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_template(
    tpl: ReplyTemplate | str, appeal: Appeal, *, today: dt.date | None = None
) -> str:
    """The template's text with ``{code} {title} {unit} {date}`` filled in for ``appeal``."""
    text = tpl if isinstance(tpl, str) else tpl.text
    unit = appeal.current_unit or appeal.intake_unit
    day = today or timezone.now().astimezone(CALENDAR_TZ).date()
    values = _Values(
        code=appeal.code,
        title=appeal.title,
        unit=unit.name if unit is not None else "",
        date=f"{day.year}年{day.month}月{day.day}日",
    )
    # Only plain {name} fields: a template is data typed by staff, never a format program.
    out: list[str] = []
    for literal, field, spec, conversion in string.Formatter().parse(text):
        out.append(literal)
        if field is None:
            continue
        if field in values and not spec and not conversion:
            out.append(values[field])
        else:
            raw = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            out.append("{" + raw + "}")
    return "".join(out)


def check_placeholders(text: str) -> None:
    """422 when the text uses a placeholder other than the four known ones, or bad braces."""
    try:
        fields = [f for _l, f, _s, _c in string.Formatter().parse(text) if f is not None]
    except ValueError:
        raise ServiceError(
            _("模板中的花括号不成对；占位符写作 {code}、{title}、{unit}、{date}"),
            code="validation_error",
            status=422,
            detail=[{"field": "text", "message": str(_("花括号不成对"))}],
        ) from None
    unknown = sorted({f for f in fields if f not in PLACEHOLDERS})
    if unknown:
        message = _("未知占位符：%(names)s；可用 {code}、{title}、{unit}、{date}") % {
            "names": "、".join("{" + n + "}" for n in unknown)
        }
        raise ServiceError(
            message,
            code="validation_error",
            status=422,
            detail=[{"field": "text", "message": str(message)}],
        )


# --- audited edits (the admin uses these) ---------------------------------------------------------
def may_manage(actor: Any, tpl: ReplyTemplate) -> bool:
    """An admin over the template's unit; a city-wide template needs an admin at a root unit."""
    if actor is None or getattr(actor, "is_superuser", False):
        return True
    if tpl.unit_id is not None:
        return has_role(actor, Role.ADMIN, unit=tpl.unit)
    return units_for(actor, Role.ADMIN).filter(parent__isnull=True).exists()


def _check(actor: Any, tpl: ReplyTemplate) -> None:
    if not may_manage(actor, tpl):
        raise Forbidden(_("您没有管理该答复模板的权限。"))


@transaction.atomic
def save_template(
    actor: Any, tpl: ReplyTemplate, *, request: HttpRequest | None = None
) -> ReplyTemplate:
    _check(actor, tpl)
    check_placeholders(tpl.text)
    stored = ReplyTemplate.objects.filter(pk=tpl.pk).first() if tpl.pk else None
    if stored is not None:
        _check(actor, stored)  # moving a template away from a unit also needs rights there
    before = snapshot(stored, _FIELDS) if stored is not None else {}
    tpl.full_clean()
    tpl.save()
    after = snapshot(tpl, _FIELDS)
    if stored is None:
        record(actor, "appeals.template.create", tpl, after=after, request=request)
    else:
        changed_before, changed_after = diff(before, after)
        if changed_before or changed_after:
            record(
                actor,
                "appeals.template.update",
                tpl,
                before=changed_before,
                after=changed_after,
                request=request,
            )
    return tpl


@transaction.atomic
def delete_template(actor: Any, tpl: ReplyTemplate, *, request: HttpRequest | None = None) -> None:
    _check(actor, tpl)
    record(actor, "appeals.template.delete", tpl, before=snapshot(tpl, _FIELDS), request=request)
    tpl.delete()
