"""Roles and the checks every view, API endpoint and service uses.

A role is held through an assignment scoped to a unit (and so to the units below it); admin and
auditor assignments at the root unit reach everywhere. This module is the one place that answers
"may this person do this here?".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from org.models import Unit


class Role(models.TextChoices):
    CITIZEN = "citizen", _("群众")
    AGENT = "agent", _("话务员/派单员")
    HANDLER = "handler", _("承办人")
    ANALYST = "analyst", _("舆情分析员")
    ORGANISER = "organiser", _("活动组织者")
    LEADER = "leader", _("领导")
    CADRE = "cadre", _("干部/网格员")
    AUDITOR = "auditor", _("纪检监察/审计")
    ADMIN = "admin", _("系统管理员")


STAFF_ROLES = frozenset(Role) - {Role.CITIZEN}


# --- who holds what, where ------------------------------------------------------------------------
# The assignments of a user are read once and kept on the user object. ``request.user`` lives for
# one request, so this is a per-request cache; services that grant or revoke call forget_roles().
_CACHE_ATTR = "_org_role_grants"


@dataclass(frozen=True)
class Grant:
    role: str
    unit_id: int
    unit_path: str


def _is_signed_in(user: Any) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def grants_of(user: Any) -> tuple[Grant, ...]:
    """The user's role assignments as (role, unit id, unit path), read once per user object."""
    if not _is_signed_in(user) or not getattr(user, "is_active", True):
        return ()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        from org.models import RoleAssignment

        rows = RoleAssignment.objects.filter(user_id=user.pk).values_list(
            "role", "unit_id", "unit__path"
        )
        cached = tuple(Grant(role, unit_id, path) for role, unit_id, path in rows)
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_roles(user: Any) -> None:
    """Drop the cached assignments of this user object (after a grant or a revocation)."""
    if user is not None and hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def _is_citizen(user: Any) -> bool:
    return getattr(user, "kind", None) == Role.CITIZEN.value


def roles_of(user: Any) -> set[str]:
    """Every role the user holds anywhere; superusers hold admin, citizens hold citizen."""
    if not _is_signed_in(user) or not getattr(user, "is_active", True):
        return set()
    roles = {grant.role for grant in grants_of(user)}
    if getattr(user, "is_superuser", False):
        roles.add(Role.ADMIN.value)
    if _is_citizen(user):
        roles.add(Role.CITIZEN.value)
    return roles


def has_role(user: Any, *roles: str, unit: Any = None) -> bool:
    """Does the user hold one of ``roles`` — anywhere, or at ``unit`` or a unit above it?

    A role at a unit covers the units below it, so an admin or auditor at the root reaches every
    unit. Superusers count as admin everywhere; citizens hold the citizen role, which no unit scopes.
    """
    if not roles:
        raise ValueError("has_role needs at least one role")
    wanted = {str(role) for role in roles}
    if not _is_signed_in(user) or not getattr(user, "is_active", True):
        return False
    if Role.ADMIN.value in wanted and getattr(user, "is_superuser", False):
        return True
    if Role.CITIZEN.value in wanted and _is_citizen(user):
        return True
    grants = [grant for grant in grants_of(user) if grant.role in wanted]
    if unit is None:
        return bool(grants)
    target_path = unit.path
    return any(target_path.startswith(grant.unit_path) for grant in grants)


def units_for(user: Any, role: str) -> QuerySet[Unit]:
    """The units where the user acts in ``role``: each assigned unit and everything below it."""
    from org.models import Unit

    if not _is_signed_in(user):
        return Unit.objects.none()
    if role == Role.ADMIN.value and getattr(user, "is_superuser", False):
        return Unit.objects.all()
    paths = [grant.unit_path for grant in grants_of(user) if grant.role == role]
    if not paths:
        return Unit.objects.none()
    condition = Q()
    for path in paths:
        condition |= Q(path__startswith=path)
    return Unit.objects.filter(condition)


_ViewFunc = TypeVar("_ViewFunc", bound=Callable[..., HttpResponse])


def role_required(*roles: str) -> Callable[[_ViewFunc], _ViewFunc]:
    """View decorator: anonymous → login page, signed in without one of ``roles`` → 403."""
    if not roles:
        raise ValueError("role_required needs at least one role")

    def decorator(view: _ViewFunc) -> _ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not _is_signed_in(request.user):
                # Imported here: auth.views reads the user model, which models.py may not have yet.
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                raise PermissionDenied(_("您没有访问此页面的权限。"))
            return view(request, *args, **kwargs)

        return cast(_ViewFunc, wrapper)

    return decorator


def require_role(request: HttpRequest, *roles: str, unit: Any = None) -> None:
    """For django-ninja handlers: raise 401 ``unauthorized`` or 403 ``forbidden`` unless allowed.

    The API's ServiceError handler turns these into ``{"code", "message", "detail"}`` bodies.
    """
    from minsheng.errors import Forbidden, ServiceError

    if not _is_signed_in(request.user):
        raise ServiceError(_("请先登录。"), code="unauthorized", status=401)
    if not has_role(request.user, *roles, unit=unit):
        raise Forbidden(_("您没有执行此操作的权限。"))
