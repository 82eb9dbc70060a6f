"""Who is signed in, in the words the workbench shows: name, units, roles, and where they may go."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise

from org.roles import Role, grants_of, roles_of
from workbench.nav import Link, links_for


def assigned_unit_names(user: Any) -> list[str]:
    """The units the user's roles are assigned at (not every unit below them: an admin at the
    root would otherwise list the whole city)."""
    from org.models import Unit

    unit_ids = {grant.unit_id for grant in grants_of(user)}
    if not unit_ids:
        return []
    return [str(unit) for unit in Unit.objects.filter(pk__in=unit_ids).order_by("path")]


def describe(user: Any) -> dict[str, Any]:
    roles = roles_of(user)
    role_labels: list[str | Promise] = [role.label for role in Role if role.value in roles]
    nav: list[Link] = links_for(roles)
    return {
        "name": user.display_name or user.get_full_name() or user.get_username(),
        "roles": role_labels,
        "role_codes": roles,
        "units": assigned_unit_names(user),
        "nav": nav,
    }
