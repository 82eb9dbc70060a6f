"""Sign-in endpoints under ``/api/auth/``.

Citizens sign in with ``POST otp/request`` then ``POST otp/verify``. The request sets the
``csrftoken`` cookie; the verify must send its value as ``X-CSRFToken``, as the sign-in form sends
its hidden token, because a verify forged by another site would sign the victim's browser in as
the attacker (login CSRF) and collect what they then type. A successful verify **signs the caller
in on the Django session** (the ``sessionid`` cookie) and returns who they are; later unsafe calls
send the same ``X-CSRFToken``. We chose the
session over a second kind of short-lived token so that the web pages and a mobile web view share
one sign-in, one logout and one lockout story; integrations use ``ApiToken`` bearer tokens.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.utils import check_csrf
from pydantic import field_validator

from accounts import services
from accounts.api_auth import token_or_session
from accounts.models import User
from minsheng.errors import Forbidden, ServiceError
from vault.crypto import mask_phone

router = Router(tags=["auth"])

# After ``router`` exists: importing minsheng.api attaches this router, and may import this module.
from minsheng.api import ErrorOut  # noqa: E402

# What ``services.normalise_phone`` accepts, stated in the schema so clients and fuzzers know it;
# the validator below enforces it with a readable message instead of pydantic's pattern text.
PHONE_PATTERN = r"^(\+86|0086|86)?[ -]*1[3-9]([ -]*[0-9]){9}$"
CODE_PATTERN = r"^[0-9]{6}$"


def _phone_field() -> Any:
    return Field(
        ...,
        min_length=1,
        max_length=32,
        description="中国大陆手机号，可带 +86、空格或连字符",
        json_schema_extra={"pattern": PHONE_PATTERN, "example": "13800138000"},
    )


def _check_phone(value: str) -> str:
    try:
        return services.normalise_phone(value)
    except ServiceError as exc:
        raise ValueError(str(exc.message)) from None


class OtpRequestIn(Schema):
    phone: str = _phone_field()

    _phone = field_validator("phone")(_check_phone)


class OtpRequestOut(Schema):
    phone_masked: str = Field(..., description="打码后的手机号，如 138****8000")
    expires_in: int = Field(..., description="验证码有效秒数")
    resend_in: int = Field(..., description="多少秒后可以重新获取")


class OtpVerifyIn(Schema):
    phone: str = _phone_field()
    code: str = Field(
        ...,
        min_length=1,
        max_length=16,
        description="短信中的 6 位验证码",
        json_schema_extra={"pattern": CODE_PATTERN, "example": "123456"},
    )

    _phone = field_validator("phone")(_check_phone)

    @field_validator("code")
    @classmethod
    def six_digits(cls, value: str) -> str:
        cleaned = "".join(value.split())
        if not (len(cleaned) == services.OTP_DIGITS and cleaned.isdigit()):
            raise ValueError(_("验证码应为 6 位数字"))
        return cleaned


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    kind: Literal["staff", "citizen"]
    roles: list[str]
    phone_masked: str | None = Field(None, description="打码后的手机号；未登记则为 null")
    auth: Literal["session", "token"]


def me_of(request: HttpRequest, user: User) -> MeOut:
    from org.roles import roles_of

    return MeOut(
        id=user.pk,
        username=user.username,
        display_name=user.display_name,
        kind=user.kind,  # type: ignore[arg-type]
        roles=sorted(roles_of(user)),
        phone_masked=mask_phone(user.phone) if user.phone else None,
        auth="token" if getattr(request, "api_token", None) is not None else "session",
    )


@router.post(
    "/otp/request",
    response={200: OtpRequestOut, 400: ErrorOut, 422: ErrorOut, 429: ErrorOut, 503: ErrorOut},
    auth=None,
    summary="发送短信验证码 Send a sign-in code by SMS",
)
def otp_request(request: HttpRequest, payload: OtpRequestIn) -> OtpRequestOut:
    sent = services.request_phone_code(request, payload.phone)
    # The verify that follows must echo this cookie's token (login CSRF, see the module's docstring).
    get_token(request)
    return OtpRequestOut(
        phone_masked=sent.phone_masked, expires_in=sent.expires_in, resend_in=sent.resend_in
    )


@router.post(
    "/otp/verify",
    response={200: MeOut, 400: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    auth=None,
    summary="用验证码登录 Sign in with the SMS code (sets the session)",
    description=(
        "请求头 X-CSRFToken 须带上 otp/request 设置的 csrftoken Cookie 的值（防登录 CSRF）。"
        " Send the csrftoken cookie set by otp/request back as the X-CSRFToken header."
    ),
)
def otp_verify(request: HttpRequest, payload: OtpVerifyIn) -> MeOut:
    # auth=None skips the session's CSRF check (there is no session yet): check it here, before
    # the code is spent, exactly as Django checks the sign-in form.
    if check_csrf(request) is not None:
        raise Forbidden(
            _(
                "安全校验（CSRF）失败：请先获取验证码（或刷新页面），并在请求头 X-CSRFToken 中带上 csrftoken。"
            ),
            code="csrf_failed",
        )
    user = services.verify_phone_code(request, payload.phone, payload.code)
    get_token(request)
    return me_of(request, user)


@router.get(
    "/me",
    response={200: MeOut, 401: ErrorOut},
    auth=token_or_session,
    summary="当前登录者 Who am I",
)
def me(request: HttpRequest) -> MeOut:
    user = request.user
    assert isinstance(user, User)
    return me_of(request, user)
