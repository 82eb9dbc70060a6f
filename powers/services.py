"""Every change to a power list goes through here: checked, versioned and audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import diff, record
from minsheng.errors import Forbidden, ServiceError
from org.models import Category, Unit
from org.roles import Role, has_role
from powers.models import VERSIONED_FIELDS, Kind, ListKind, Power, PowerCategory, PowerVersion

REQUIRED = ("name", "legal_basis", "responsible_post")


def may_organise(user: Any, unit: Unit) -> bool:
    """Unit admins and leaders keep their unit's lists (and those of units below)."""
    return has_role(user, Role.ADMIN, Role.LEADER, unit=unit)


def _check(user: Any, unit: Unit) -> None:
    if not may_organise(user, unit):
        raise Forbidden(_("只有本单位的管理员或领导可以维护权责清单。"))


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    out = {k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()}
    for name in REQUIRED:
        if name in out and not out[name]:
            raise ServiceError(
                _("请填写“%(field)s”。")
                % {"field": str(getattr(Power._meta.get_field(name), "verbose_name", name))},
                code="invalid",
                detail={"field": name},
            )
    if "kind" in out and out["kind"] not in Kind.values:
        raise ServiceError(_("权力类别不正确。"), code="invalid", detail={"field": "kind"})
    if "list_kind" in out and out["list_kind"] not in ListKind.values:
        raise ServiceError(_("清单类型不正确。"), code="invalid", detail={"field": "list_kind"})
    unknown = set(out) - set(VERSIONED_FIELDS)
    if unknown:
        raise ServiceError(_("未知字段：%(f)s") % {"f": ", ".join(sorted(unknown))})
    return out


def _version(power: Power, actor: Any, reason: str) -> PowerVersion:
    return PowerVersion.objects.create(
        power=power,
        version=power.version,
        data=power.snapshot(),
        reason=reason,
        edited_by=actor if getattr(actor, "pk", None) else None,
        at=power.updated,
    )


def create_power(actor: Any, unit: Unit, **fields: Any) -> Power:
    _check(actor, unit)
    fields = _clean(fields)
    missing = [n for n in REQUIRED if not fields.get(n)]
    if missing:
        _clean({missing[0]: ""})
    with transaction.atomic():
        power = Power.objects.create(unit=unit, updated=timezone.now(), **fields)
        _version(power, actor, _("首次公布"))
        record(actor, "powers.create", power, after=power.snapshot())
    return power


def update_power(actor: Any, power: Power, *, reason: str, **fields: Any) -> Power:
    """A new version with the changed fields; nothing changed → no new version."""
    _check(actor, power.unit)
    fields = _clean(fields)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(
            _("修改权责清单须说明理由。"), code="invalid", detail={"field": "reason"}
        )
    before_all = power.snapshot()
    before, after = diff(before_all, {**before_all, **fields})
    if not after:
        return power
    with transaction.atomic():
        locked = Power.objects.select_for_update().get(pk=power.pk)
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.version += 1
        locked.updated = timezone.now()
        locked.save()
        _version(locked, actor, reason)
        record(
            actor,
            "powers.update",
            locked,
            before=before,
            after={**after, "version": locked.version},
            reason=reason,
        )
    return locked


def link_categories(actor: Any, power: Power, categories: list[Category]) -> None:
    """The categories that fall under ``power`` from now on (each moves from any other power)."""
    _check(actor, power.unit)
    with transaction.atomic():
        old = set(power.category_links.values_list("category_id", flat=True))
        new = {c.pk for c in categories}
        if old == new:
            return
        PowerCategory.objects.filter(power=power).exclude(category_id__in=new).delete()
        for category in categories:
            PowerCategory.objects.update_or_create(category=category, defaults={"power": power})
        record(
            actor,
            "powers.categories",
            power,
            before={"categories": sorted(old)},
            after={"categories": sorted(new)},
        )


def power_for(category: Category) -> Power | None:
    """The power an appeal category falls under: its own link, else its nearest parent's."""
    current: Category | None = category
    while current is not None:
        link = PowerCategory.objects.filter(category=current, power__active=True).first()
        if link is not None:
            return link.power
        current = current.parent
    return None
