"""Who may read the KPI pages and the API, and over which units.

Leaders read their units' figures; analysts, auditors and admins read them too (aggregates only,
no personal data). Each sees the units where they hold one of these roles and everything below;
a role at a root unit (or a superuser) sees the whole organisation.
"""

from __future__ import annotations

from typing import Any

from org.models import Unit
from org.roles import Role, grants_of, has_role

VIEWER_ROLES: tuple[str, ...] = (Role.LEADER, Role.ANALYST, Role.AUDITOR, Role.ADMIN)


def may_view(user: Any) -> bool:
    return has_role(user, *VIEWER_ROLES)


def scope_for(user: Any) -> list[Unit] | None:
    """The highest units the user may read, or None for the whole organisation."""
    if getattr(user, "is_superuser", False):
        return None
    paths = sorted(
        {g.unit_path for g in grants_of(user) if g.role in VIEWER_ROLES}, key=lambda p: len(p)
    )
    tops: list[str] = []
    for path in paths:
        if not any(path.startswith(top) for top in tops):
            tops.append(path)
    units = list(Unit.objects.filter(path__in=tops).order_by("path"))
    if any(u.parent_id is None for u in units):
        return None
    return units


def may_view_unit(scope: list[Unit] | None, unit: Unit) -> bool:
    return scope is None or any(unit.path.startswith(top.path) for top in scope)
