"""Who may see a citizen's full phone or ID number, and the one way to show it.

Everyone else sees the masked form (138****1234). Seeing the full value goes through ``reveal``,
which checks the right and writes the access log (``personal_data.view``) before returning it.

A model whose rows hold personal data may define ``personal_data_units(self) -> Iterable[Unit]``
(for an appeal: the intake unit and the units handling it); agents and handlers of those units may
then reveal its fields without naming the unit at each call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from audit.services import record, record_access
from org.roles import Role, has_role
from vault.crypto import mask_id_number, mask_phone
from vault.fields import EncryptedCharField

REVEAL_PERMISSION = "vault.reveal_personal_data"
Kind = Literal["phone", "id"]


def _units(subject_unit: Any) -> list[Any]:
    if subject_unit is None:
        return []
    if isinstance(subject_unit, Iterable) and not isinstance(subject_unit, str | bytes):
        return [unit for unit in subject_unit if unit is not None]
    return [subject_unit]


def can_reveal(user: Any, subject_unit: Any = None) -> bool:
    """May ``user`` see unmasked personal data of a subject that belongs to ``subject_unit``?

    The whole rule, in order:

    1. nobody who is signed out or deactivated;
    2. anyone granted the ``vault.reveal_personal_data`` permission (directly or through a group;
       superusers hold every permission);
    3. auditors (纪检监察), everywhere: checking who looked at what is their job;
    4. agents and handlers, only for subjects of their own unit's cases: ``subject_unit`` is that
       unit (or several, e.g. the intake unit and the handling unit) and the role must be held at
       it or a unit above it. Without a unit there is no case to tie the look to, so no.

    Leaders, analysts and everyone else see masked values only.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if not getattr(user, "is_active", True):
        return False
    if user.has_perm(REVEAL_PERMISSION):
        return True
    if has_role(user, Role.AUDITOR):
        return True
    return any(has_role(user, Role.AGENT, Role.HANDLER, unit=unit) for unit in _units(subject_unit))


def _vault_field(obj: models.Model, field: str) -> EncryptedCharField:
    try:
        model_field = obj._meta.get_field(field)
    except Exception as exc:
        raise ValueError(f"{obj._meta.label} has no field {field!r}") from exc
    if not isinstance(model_field, EncryptedCharField):
        raise ValueError(f"{obj._meta.label}.{field} is not a vault (encrypted) field")
    return model_field


def units_of(obj: Any) -> list[Any]:
    """The units tied to ``obj`` through its ``personal_data_units()``, if it defines one."""
    method = getattr(obj, "personal_data_units", None)
    return _units(method()) if callable(method) else []


def reveal(
    actor: Any,
    obj: models.Model,
    field: str,
    purpose: str,
    request: HttpRequest | None = None,
    *,
    unit: Any = None,
) -> str:
    """The plaintext of ``obj.<field>`` for ``actor``, written to the access log first.

    ``purpose`` is required (it is what an auditor reads). ``unit`` names the case's unit(s) when
    the object cannot tell them itself. Raises ``PermissionDenied`` without the right; the refused
    attempt is recorded as ``personal_data.reveal_denied``.
    """
    _vault_field(obj, field)
    if not purpose or not purpose.strip():
        raise ValueError("revealing personal data needs a stated purpose")
    units = _units(unit) or units_of(obj)
    if not can_reveal(actor, units):
        record(
            actor,
            "personal_data.reveal_denied",
            obj,
            after={"field": field},
            reason=purpose.strip(),
            request=request,
        )
        raise PermissionDenied(_("您无权查看完整的个人信息。"))
    value = getattr(obj, field) or ""
    record_access(actor, obj, field, purpose.strip(), request=request)
    return str(value)


def mask(value: str | None, kind: Kind = "phone") -> str:
    if not value:
        return ""
    return mask_id_number(value) if kind == "id" else mask_phone(value)


def display(actor: Any, value: str | None, kind: Kind = "phone", *, subject: Any = None) -> str:
    """What to print for ``value`` on a page ``actor`` is reading: the masked form.

    Even someone allowed to reveal sees it masked here — seeing it whole is a ``reveal``, which is
    logged. The one exception is a person looking at their own data (``subject`` is ``actor``).
    """
    if not value:
        return ""
    if (
        subject is not None
        and actor is not None
        and getattr(actor, "is_authenticated", False)
        and type(subject) is type(actor)
        and subject.pk == actor.pk
    ):
        return value
    return mask(value, kind)
