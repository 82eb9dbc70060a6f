"""What the consultation services share: who may organise, input errors, anonymous devices and
rate limits."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from minsheng.errors import Forbidden, RateLimited, ServiceError
from org.roles import Role, has_role

ORGANISERS = (Role.ORGANISER, Role.ADMIN)


class Invalid(ServiceError):
    """Input a person can correct: 422 with the field in ``detail``."""

    status, code = 422, "invalid"


def require_organiser(actor: Any, unit: Any) -> None:
    """Organisers (and admins) of ``unit`` or a unit above it run its consultations."""
    if not has_role(actor, *ORGANISERS, unit=unit):
        raise Forbidden(_("只有本单位的活动组织者可以进行此操作。"))


def may_organise(actor: Any, unit: Any) -> bool:
    return has_role(actor, *ORGANISERS, unit=unit)


def is_citizen(actor: Any) -> bool:
    return (
        bool(getattr(actor, "is_authenticated", False)) and getattr(actor, "kind", "") == "citizen"
    )


def device_hash(token: str) -> str:
    """A keyed hash of a device cookie: the raw token never reaches the database."""
    if not token:
        return ""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"consult-device:{token}".encode(), hashlib.sha256).hexdigest()


def throttle(
    scope: str, who: str, limit: int, seconds: int, message: str | Promise | None = None
) -> None:
    """Allow ``limit`` actions per ``seconds`` for ``who`` in ``scope``; 429 beyond it."""
    if not who:
        return
    key = f"consult:rate:{scope}:{who}"
    cache.add(key, 0, seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, seconds)
        count = 1
    if count > limit:
        raise RateLimited(message or _("操作过于频繁，请稍后再试。"), retry_after=seconds)
