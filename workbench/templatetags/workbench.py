from __future__ import annotations

from typing import Any

from django import template

from workbench.people import describe

register = template.Library()


@register.simple_tag(takes_context=True)
def staff_context(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # A page that already described the person (the workbench home does) passes it down.
    known = context.get("staff")
    if isinstance(known, dict):
        return known
    return describe(user)
