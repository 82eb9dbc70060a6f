"""Authentication for the JSON API: bearer tokens for integrations, the session for pages.

Routers use ``auth=token_or_session``. Token requests carry no cookie, so CSRF does not apply to
them; session requests keep Django's CSRF check on unsafe methods, because a browser sends the
session cookie along with any other site's form.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from accounts.services import authenticate_token
from minsheng.errors import Forbidden


class TokenAuth(HttpBearer):
    """``Authorization: Bearer msk_…``. Sets ``request.user`` to the token's user."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = authenticate_token(token)
        if api_token is None:
            return None
        request.user = api_token.user
        request.api_token = api_token  # type: ignore[attr-defined]
        return api_token.user


class CsrfSessionAuth(APIKeyCookie):
    """The signed-in Django session; unsafe methods must pass the CSRF check.

    Unlike ninja's ``SessionAuth`` it checks CSRF only when a session cookie is present, so an
    anonymous call gets 401 (sign in) rather than 403 (CSRF).
    """

    param_name: str = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=False)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not key or not request.user.is_authenticated:
            return None
        if not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise Forbidden(_("安全校验（CSRF）失败，请刷新页面后重试。"), code="csrf_failed")
        return request.user


token_auth = TokenAuth()
session_auth = CsrfSessionAuth()
token_or_session: list[Any] = [token_auth, session_auth]
