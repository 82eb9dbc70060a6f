"""The second factor is required, not optional, for administrators and auditors.

A staff member who holds the admin or auditor role anywhere (or is a superuser) may use a signed-in
session only after proving a TOTP code in it. The proof is a flag in the session, set when the
sign-in's code step succeeds (``services.verify_second_factor``) or when TOTP is enrolled in this
session (``services.confirm_totp``). Until then every page sends them to the enrolment page (no
TOTP yet) or back to sign-in (TOTP on, but this session never showed a code: e.g. a password-only
sign-in through the Django admin's own login form), and every session-authenticated API call is
refused with ``second_factor_required``. Sign-out, the sign-in pages, the enrolment page, the
language switch, static files and the health check stay open so a person can get through.

A session created by an authentication backend that declares ``satisfies_second_factor = True``
counts as verified: a single-sign-on backend that did its own second factor, or the test suite's
``force_login`` backend (``tests/auth_backends.py``). No such backend is configured by default.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.contrib.auth import BACKEND_SESSION_KEY, load_backend, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from org.roles import Role, has_role

VERIFIED_SESSION_KEY = "accounts.second_factor_verified"
REQUIRED_ROLES = (Role.ADMIN.value, Role.AUDITOR.value)

# Path prefixes open to a session that still owes its second factor.
_OPEN_PREFIXES = ("/static/", "/healthz", "/i18n/", "/favicon")


def mark_verified(request: HttpRequest) -> None:
    """Record that this session's user proved a second factor (after ``login``, which may
    rotate the session)."""
    if request.user.is_authenticated:
        request.session[VERIFIED_SESSION_KEY] = request.user.pk


def is_verified(request: HttpRequest) -> bool:
    """Did this session prove a second factor that is still enrolled?"""
    user = request.user
    if request.session.get(VERIFIED_SESSION_KEY) == user.pk and getattr(
        user, "totp_enabled", False
    ):
        return True
    return _backend_satisfies(request.session.get(BACKEND_SESSION_KEY) or "")


@cache
def _backend_satisfies(path: str) -> bool:
    if not path:
        return False
    try:
        backend = load_backend(path)
    except ImportError:
        return False
    return bool(getattr(backend, "satisfies_second_factor", False))


def is_required(user: object) -> bool:
    """Does this person's role demand a second factor? Staff with admin or auditor anywhere."""
    return getattr(user, "kind", None) == "staff" and has_role(user, *REQUIRED_ROLES)


@cache
def _open_paths() -> frozenset[str]:
    names = ("accounts:totp", "accounts:logout", "accounts:login", "accounts:login_code")
    return frozenset(reverse(name) for name in names)


def _is_open(path: str) -> bool:
    return path in _open_paths() or path.startswith(_OPEN_PREFIXES)


class RequireSecondFactorMiddleware:
    """After ``AuthenticationMiddleware``: hold admins and auditors at the second factor."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and not _is_open(request.path)
            and not is_verified(request)
            and is_required(user)
        ):
            return self._hold(request)
        return self.get_response(request)

    def _hold(self, request: HttpRequest) -> HttpResponse:
        enrolled = bool(getattr(request.user, "totp_enabled", False))
        if request.path.startswith("/api/"):
            message = (
                _("此会话尚未完成两步验证，请重新登录并输入动态口令。")
                if enrolled
                else _("管理员和审计人员须先启用两步验证（动态口令）。")
            )
            body = {
                "code": "second_factor_required",
                "message": message,
                "detail": {"enrol": reverse("accounts:totp"), "enrolled": enrolled},
            }
            return JsonResponse(body, status=403)
        if enrolled:
            # TOTP is on but this session never showed a code: sign in again through the code step.
            logout(request)
            login = reverse("accounts:login")
            return HttpResponseRedirect(f"{login}?{urlencode({'next': request.get_full_path()})}")
        return HttpResponseRedirect(reverse("accounts:totp"))
