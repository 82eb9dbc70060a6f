"""Who is signed in, in the words the workbench shows: name, units, roles, and where they may go."""

from __future__ import annotations

from typing import Any

from org.roles import Role

from workbench.nav import links_for


def describe(user: Any) -> dict[str, Any]:
    # Imported here so that template loading never depends on the org app being importable
    # with all its models ready (template tag libraries are imported when the engine starts).
    from org.roles import roles_of, units_for

    roles = roles_of(user)
    role_labels = [Role(r).label for r in Role if r in roles]
    units: list[str] = []
    for role in sorted(roles):
        for unit in units_for(user, role):
            name = str(unit)
            if name not in units:
                units.append(name)
    return {
        "name": user.display_name or user.get_full_name() or user.get_username(),
        "roles": role_labels,
        "role_codes": roles,
        "units": units,
        "nav": links_for(roles),
    }
