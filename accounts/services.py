"""Signing in and out: staff passwords with lockout, TOTP, citizen SMS codes, API tokens.

Every function that changes state writes its audit entry in the same transaction. Nothing here
logs or audits a password, a code or a plaintext phone number: phones appear masked
(``138****1234``) and codes only as keyed hashes.

Time comes from ``timezone.now()``; tests move it by editing the stored timestamps
(``locked_until``, ``expires_at``, ``created_at``) rather than by sleeping.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts import second_factor, sms
from accounts.models import ApiToken, PhoneCode, RecoveryCode, User
from audit.services import record
from minsheng.errors import Conflict, ServiceError
from minsheng.errors import RateLimited as RateLimited
from vault.crypto import blind_index, mask_phone

log = logging.getLogger("minsheng.accounts")

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

# Guessing across many accounts from one address is slowed by a per-address budget, larger than
# one account's so that a shared office NAT does not lock out colleagues after one typo each.
IP_FAILURES_PER_WINDOW_FACTOR = 4

SECOND_FACTOR_SESSION_KEY = "accounts.pending_second_factor"
SECOND_FACTOR_SECONDS = 300
TOTP_ISSUER = "民声 minsheng"
TOTP_STEP_SECONDS = 30
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"

OTP_DIGITS = 6
OTP_MAX_ATTEMPTS = 5
OTP_RESEND_SECONDS = 60
OTP_PER_PHONE_PER_HOUR = 5
OTP_PER_IP_PER_HOUR = 20

TOKEN_PREFIX = "msk_"  # noqa: S105 - a public marker, not a secret
TOKEN_TOUCH_SECONDS = 60
TOKEN_MAX_DAYS = 3650

_MAINLAND_MOBILE = re.compile(r"1[3-9][0-9]{9}")


class SignInFailed(ServiceError):
    status, code = 400, "signin_failed"


class AccountLocked(ServiceError):
    status, code = 403, "account_locked"

    def __init__(self, locked_until: datetime) -> None:
        local = timezone.localtime(locked_until)
        super().__init__(
            _("该账户因多次登录失败已被暂时锁定，请于 %(time)s 之后再试。")
            % {"time": date_format(local, "Y-m-d H:i")},
            detail={"locked_until": locked_until.isoformat()},
        )
        self.locked_until = locked_until


def generic_failure() -> SignInFailed:
    # One message for an unknown name and a wrong password: the page must not reveal which.
    return SignInFailed(_("用户名或密码不正确。"))


# --- small helpers ------------------------------------------------------------------------------


def client_ip(request: HttpRequest | None) -> str:
    """The peer address. Behind a proxy, the proxy must set REMOTE_ADDR (e.g. waitress trusted_proxy)."""
    if request is None:
        return "-"
    return str(request.META.get("REMOTE_ADDR") or "-")


def _window_counter(name: str, key: str, window: int) -> tuple[str, int]:
    """A cache key for the fixed window containing now, and the seconds until it ends."""
    now = int(timezone.now().timestamp())
    bucket = now // window
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"accounts:{name}:{digest}:{bucket}", (bucket + 1) * window - now


def _hit(cache_key: str, window: int) -> int:
    cache.add(cache_key, 0, timeout=window + 5)
    try:
        return int(cache.incr(cache_key))
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window + 5)
        return 1


def _lockout_window() -> timedelta:
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def _ip_failure_limit() -> int:
    return settings.LOGIN_MAX_FAILURES * IP_FAILURES_PER_WINDOW_FACTOR


def _check_ip_budget(request: HttpRequest | None) -> None:
    window = settings.LOGIN_LOCKOUT_MINUTES * 60
    key, remaining = _window_counter("login-ip", client_ip(request), window)
    if int(cache.get(key, 0)) >= _ip_failure_limit():
        raise RateLimited(
            _("来自您网络的登录失败次数过多，请 %(m)d 分钟后再试。")
            % {"m": max(1, math.ceil(remaining / 60))},
            retry_after=remaining,
        )


def _spend_ip_budget(request: HttpRequest | None) -> None:
    window = settings.LOGIN_LOCKOUT_MINUTES * 60
    key, _remaining = _window_counter("login-ip", client_ip(request), window)
    _hit(key, window)


# --- staff: password and lockout ------------------------------------------------------------------


@dataclass(frozen=True)
class PasswordResult:
    user: User
    needs_second_factor: bool


def check_password_sign_in(request: HttpRequest, username: str, password: str) -> PasswordResult:
    """Check a staff member's name and password; does not log in.

    Raises ``RateLimited`` (this address failed too often), ``AccountLocked`` or ``SignInFailed``.
    The caller then calls ``complete_sign_in`` or, with TOTP on, ``begin_second_factor``.
    """
    _check_ip_budget(request)
    user = User.objects.filter(username=username).first()
    if user is None or user.kind != User.Kind.STAFF or not user.is_active:
        # Spend the same time as a real check so response time does not reveal the name exists.
        make_password(password)
        _spend_ip_budget(request)
        with transaction.atomic():
            record(None, "auth.login.failed", after={"method": "password"}, request=request)
        raise generic_failure()
    if user.is_locked():
        user.check_password(password)
        _spend_ip_budget(request)
        with transaction.atomic():
            record(
                None,
                "auth.login.failed",
                user,
                after={"method": "password", "username": user.username},
                reason="locked",
                request=request,
            )
        assert user.locked_until is not None
        raise AccountLocked(user.locked_until)
    if not user.check_password(password):
        register_failure(user, request, method="password")
        raise generic_failure()
    return PasswordResult(user, needs_second_factor=user.totp_enabled)


def register_failure(user: User, request: HttpRequest | None, *, method: str) -> None:
    """Count one failed attempt on ``user``; lock the account when the limit is reached.

    Raises ``AccountLocked`` when this failure locked the account. Failures further apart than
    the lockout window start a fresh count.
    """
    _spend_ip_budget(request)
    now = timezone.now()
    with transaction.atomic():
        row = User.objects.select_for_update().get(pk=user.pk)
        recent = (
            row.last_failed_login is not None and now - row.last_failed_login <= _lockout_window()
        )
        count = row.failed_logins + 1 if recent else 1
        locked = count >= settings.LOGIN_MAX_FAILURES
        row.failed_logins = 0 if locked else count
        row.last_failed_login = now
        if locked:
            row.locked_until = now + _lockout_window()
        row.save(update_fields=["failed_logins", "last_failed_login", "locked_until"])
        record(
            None,
            "auth.login.failed",
            row,
            after={"method": method, "username": row.username, "failures": count},
            request=request,
        )
        if locked:
            record(
                None,
                "auth.lockout",
                row,
                after={"username": row.username, "locked_until": row.locked_until},
                reason=f"{count} failed sign-ins",
                request=request,
            )
    user.failed_logins, user.last_failed_login, user.locked_until = (
        row.failed_logins,
        row.last_failed_login,
        row.locked_until,
    )
    if locked:
        assert row.locked_until is not None
        raise AccountLocked(row.locked_until)


def complete_sign_in(request: HttpRequest, user: User, *, method: str) -> None:
    """Log ``user`` in on this request's session and clear the failure count."""
    request.session.pop(SECOND_FACTOR_SESSION_KEY, None)
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(
            failed_logins=0, last_failed_login=None, locked_until=None
        )
        login(request, user, backend=MODEL_BACKEND)
        record(user, "auth.login", user, after={"method": method}, request=request)


def sign_out(request: HttpRequest) -> None:
    from django.contrib.auth import logout

    user = request.user
    if user.is_authenticated:
        with transaction.atomic():
            record(user, "auth.logout", user, request=request)
    logout(request)


# --- staff: the TOTP second factor ----------------------------------------------------------------


def begin_second_factor(request: HttpRequest, user: User, next_url: str = "") -> None:
    """Remember in the session that ``user`` passed the password step, for a few minutes."""
    until = timezone.now() + timedelta(seconds=SECOND_FACTOR_SECONDS)
    request.session[SECOND_FACTOR_SESSION_KEY] = {
        "user": user.pk,
        "until": until.timestamp(),
        "next": next_url,
    }


def pending_second_factor(request: HttpRequest) -> tuple[User, str] | None:
    """The user half-way through signing in, and where they were going; None once expired."""
    state = request.session.get(SECOND_FACTOR_SESSION_KEY)
    if not isinstance(state, dict):
        return None
    if float(state.get("until", 0)) <= timezone.now().timestamp():
        request.session.pop(SECOND_FACTOR_SESSION_KEY, None)
        return None
    user_id = state.get("user")
    if not isinstance(user_id, int):
        return None
    user = User.objects.filter(pk=user_id, is_active=True, totp_enabled=True).first()
    if user is None:
        return None
    return user, str(state.get("next") or "")


def verify_second_factor(request: HttpRequest, code: str) -> User:
    """Finish a sign-in with a TOTP code or a recovery code; wrong codes count toward lockout."""
    pending = pending_second_factor(request)
    if pending is None:
        raise ServiceError(_("验证已超时，请重新输入用户名和密码。"), code="second_factor_expired")
    user, _next = pending
    if user.is_locked():
        request.session.pop(SECOND_FACTOR_SESSION_KEY, None)
        assert user.locked_until is not None
        raise AccountLocked(user.locked_until)
    if verify_totp(user, code):
        complete_sign_in(request, user, method="password+totp")
        second_factor.mark_verified(request)
        return user
    if use_recovery_code(user, code):
        complete_sign_in(request, user, method="password+recovery_code")
        second_factor.mark_verified(request)
        return user
    try:
        register_failure(user, request, method="totp")
    except AccountLocked:
        request.session.pop(SECOND_FACTOR_SESSION_KEY, None)
        raise
    raise ServiceError(_("动态口令不正确或已使用过，请输入验证器上的新口令。"), code="totp_invalid")


def _clean_digits(code: str) -> str:
    return "".join(ch for ch in code if not ch.isspace())


def matching_totp_step(secret: str, code: str, at: datetime | None = None) -> int | None:
    """The time step (within ±1 of ``at``) whose code is ``code``, or None."""
    code = _clean_digits(code)
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_STEP_SECONDS)
    current = int((at or timezone.now()).timestamp()) // TOTP_STEP_SECONDS
    found = None
    for step in (current - 1, current, current + 1):
        # Check every step, not the first match only, so timing does not depend on which matched.
        if hmac.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code):
            found = step if found is None else max(found, step)
    return found


def verify_totp(user: User, code: str, at: datetime | None = None) -> bool:
    """True for a valid code of a step later than the last one used; records that step."""
    if not user.totp_secret:
        return False
    step = matching_totp_step(user.totp_secret, code, at)
    if step is None:
        return False
    # The conditional UPDATE makes a replay lose even against a concurrent request.
    claimed = (
        User.objects.filter(pk=user.pk)
        .filter(Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step))
        .update(totp_last_step=step)
    )
    if claimed:
        user.totp_last_step = step
    return bool(claimed)


def totp_secret_for_enrollment(user: User) -> str:
    """The secret being enrolled: created (and stored encrypted) on first call."""
    if user.totp_enabled:
        raise Conflict(_("动态口令已启用。"), code="totp_already_enabled")
    if not user.totp_secret:
        user.totp_secret = pyotp.random_base32()
        user.totp_last_step = None
        user.save(update_fields=["totp_secret", "totp_last_step"])
    return user.totp_secret


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret, interval=TOTP_STEP_SECONDS).provisioning_uri(
        name=user.username, issuer_name=TOTP_ISSUER
    )


def confirm_totp(user: User, code: str, request: HttpRequest | None = None) -> list[str]:
    """Turn TOTP on once the user proves their app has the secret; returns new recovery codes."""
    if user.totp_enabled:
        raise Conflict(_("动态口令已启用。"), code="totp_already_enabled")
    if not user.totp_secret or not verify_totp(user, code):
        raise ServiceError(_("动态口令不正确，请核对验证器上的 6 位数字。"), code="totp_invalid")
    with transaction.atomic():
        user.totp_enabled = True
        user.save(update_fields=["totp_enabled"])
        codes = _replace_recovery_codes(user)
        record(user, "auth.2fa.enabled", user, after={"totp_enabled": True}, request=request)
    if request is not None and request.user.is_authenticated and request.user.pk == user.pk:
        # Proving the new code in this session is the second factor for this session.
        second_factor.mark_verified(request)
    return codes


def disable_totp(user: User, password: str, code: str, request: HttpRequest | None = None) -> None:
    """Turn TOTP off; needs the password and a current code (or a recovery code)."""
    if not user.totp_enabled:
        raise Conflict(_("动态口令未启用。"), code="totp_not_enabled")
    if second_factor.is_required(user):
        raise Conflict(
            _("管理员和审计人员必须使用两步验证，不能停用；更换手机请联系另一位管理员重置。"),
            code="second_factor_required",
        )
    if user.is_locked():
        assert user.locked_until is not None
        raise AccountLocked(user.locked_until)
    if not user.check_password(password) or not (
        verify_totp(user, code) or use_recovery_code(user, code)
    ):
        register_failure(user, request, method="totp_disable")
        raise ServiceError(_("密码或动态口令不正确。"), code="totp_invalid")
    with transaction.atomic():
        user.totp_enabled = False
        user.totp_secret = ""
        user.totp_last_step = None
        user.save(update_fields=["totp_enabled", "totp_secret", "totp_last_step"])
        RecoveryCode.objects.filter(user=user).delete()
        record(user, "auth.2fa.disabled", user, after={"totp_enabled": False}, request=request)


def regenerate_recovery_codes(user: User, request: HttpRequest | None = None) -> list[str]:
    if not user.totp_enabled:
        raise Conflict(_("动态口令未启用。"), code="totp_not_enabled")
    with transaction.atomic():
        codes = _replace_recovery_codes(user)
        record(user, "auth.2fa.recovery_codes", user, request=request)
    return codes


def _recovery_hash(user: User, code: str) -> str:
    cleaned = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(f"{user.pk}:{cleaned}".encode()).hexdigest()


def _replace_recovery_codes(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _i in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _j in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_hash=_recovery_hash(user, c)) for c in codes
    )
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    cleaned = "".join(ch for ch in code if ch.isalnum())
    if len(cleaned) != 10:
        return False
    used = RecoveryCode.objects.filter(
        user=user, code_hash=_recovery_hash(user, code), used_at__isnull=True
    ).update(used_at=timezone.now())
    return bool(used)


def unused_recovery_codes(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


# --- citizens: phone and SMS code -----------------------------------------------------------------


def normalise_phone(raw: str) -> str:
    """A mainland mobile number as 11 digits; accepts +86, 0086, spaces and hyphens.

    Raises ``ServiceError`` (code ``phone_invalid``, status 422) for anything else.
    """
    text = "".join(ch for ch in (raw or "") if not ch.isspace() and ch not in "-()")
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if not _MAINLAND_MOBILE.fullmatch(text):
        raise ServiceError(
            _("请输入 11 位中国大陆手机号，例如 13800138000。"), code="phone_invalid", status=422
        )
    return text


def phone_index(phone: str) -> str:
    return blind_index(phone, "phone")


def _code_hash(phone_hash: str, code: str) -> str:
    # Keyed with SECRET_KEY: a six-digit code's plain hash would fall to a million guesses.
    return salted_hmac("accounts.PhoneCode", f"{phone_hash}:{code}", algorithm="sha256").hexdigest()


@dataclass(frozen=True)
class CodeSent:
    phone_masked: str
    expires_in: int
    resend_in: int


def request_phone_code(request: HttpRequest | None, raw_phone: str) -> CodeSent:
    """Create a code for this phone and send it by SMS, within the resend and rate limits."""
    phone = normalise_phone(raw_phone)
    digest = phone_index(phone)
    masked = mask_phone(phone)
    now = timezone.now()

    ip_key, ip_remaining = _window_counter("otp-ip", client_ip(request), 3600)
    if int(cache.get(ip_key, 0)) >= OTP_PER_IP_PER_HOUR:
        raise RateLimited(
            _("您的网络请求验证码过于频繁，请稍后再试。"),
            code="otp_rate_limited",
            retry_after=ip_remaining,
        )
    # The cache entry closes the race between two simultaneous requests; the database row is
    # what makes the cooldown survive a restart.
    if not cache.add(f"accounts:otp-send:{digest}", 1, timeout=OTP_RESEND_SECONDS):
        raise _cooldown(OTP_RESEND_SECONDS)
    recent = list(
        PhoneCode.objects.for_phone_hash(digest)
        .since(now - timedelta(hours=1))
        .order_by("-created_at")
        .values_list("created_at", flat=True)
    )
    if recent and (now - recent[0]).total_seconds() < OTP_RESEND_SECONDS:
        raise _cooldown(OTP_RESEND_SECONDS - int((now - recent[0]).total_seconds()))
    if len(recent) >= OTP_PER_PHONE_PER_HOUR:
        oldest = recent[OTP_PER_PHONE_PER_HOUR - 1]
        wait = max(1, math.ceil((oldest + timedelta(hours=1) - now).total_seconds()))
        raise RateLimited(
            _("该手机号一小时内获取验证码次数过多，请 %(m)d 分钟后再试。")
            % {"m": max(1, math.ceil(wait / 60))},
            code="otp_rate_limited",
            retry_after=wait,
        )

    code = f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"
    ttl = settings.OTP_TTL_SECONDS
    message = _("【民声】您的登录验证码是 %(code)s，%(m)d 分钟内有效。请勿告诉他人。") % {
        "code": code,
        "m": max(1, ttl // 60),
    }
    # Send before storing: a message that never left must not start a cooldown or use up the
    # hourly allowance, so the person may ask again at once.
    try:
        sms.send(phone, message)
    except sms.SmsError as exc:
        cache.delete(f"accounts:otp-send:{digest}")
        log.warning("sms to %s failed: %s", masked, exc)
        raise ServiceError(
            _("短信发送失败，请稍后再试。"), code="sms_unavailable", status=503
        ) from None
    with transaction.atomic():
        # A new code replaces any earlier one, so only the latest message works.
        PhoneCode.objects.for_phone_hash(digest).unused().update(used_at=now)
        row = PhoneCode.objects.create(
            phone_hash=digest,
            code_hash=_code_hash(digest, code),
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
        record(None, "auth.otp.sent", row, after={"phone_masked": masked}, request=request)
    _hit(ip_key, 3600)
    return CodeSent(masked, ttl, OTP_RESEND_SECONDS)


def _cooldown(seconds: int) -> RateLimited:
    seconds = max(1, seconds)
    return RateLimited(
        _("验证码已发送，请 %(s)d 秒后再重新获取。") % {"s": seconds},
        code="otp_cooldown",
        retry_after=seconds,
    )


def verify_phone_code(request: HttpRequest, raw_phone: str, code: str) -> User:
    """Check the latest code for this phone and sign the citizen in (creating the account)."""
    phone = normalise_phone(raw_phone)
    digest = phone_index(phone)
    masked = mask_phone(phone)
    now = timezone.now()
    row = PhoneCode.objects.for_phone_hash(digest).unused().order_by("-created_at").first()
    if row is None or row.expires_at <= now:
        raise ServiceError(_("验证码已过期或尚未获取，请重新获取验证码。"), code="otp_expired")
    claimed = PhoneCode.objects.filter(
        pk=row.pk, used_at__isnull=True, attempts__lt=OTP_MAX_ATTEMPTS
    ).update(attempts=F("attempts") + 1)
    if not claimed:
        raise ServiceError(
            _("验证码输错次数过多，请重新获取验证码。"), code="otp_attempts_exceeded"
        )
    attempts = row.attempts + 1
    if not hmac.compare_digest(row.code_hash, _code_hash(digest, _clean_digits(code))):
        with transaction.atomic():
            record(
                None,
                "auth.login.failed",
                row,
                after={"method": "phone", "phone_masked": masked, "attempts": attempts},
                request=request,
            )
        left = OTP_MAX_ATTEMPTS - attempts
        raise ServiceError(
            _("验证码不正确，还可尝试 %(n)d 次。") % {"n": left},
            code="otp_invalid",
            detail={"attempts_left": left},
        )
    if not PhoneCode.objects.filter(pk=row.pk, used_at__isnull=True).update(used_at=now):
        raise ServiceError(_("验证码已被使用，请重新获取验证码。"), code="otp_expired")
    user = citizen_for_phone(phone, digest, request)
    complete_sign_in(request, user, method="phone")
    return user


def citizen_for_phone(phone: str, digest: str, request: HttpRequest | None = None) -> User:
    """The citizen account of this phone, created on first sign-in."""
    user = User.objects.filter(phone_hash=digest, kind=User.Kind.CITIZEN).first()
    if user is not None:
        if not user.is_active:
            raise ServiceError(
                _("该账户已停用，请拨打 12345 咨询。"), code="account_disabled", status=403
            )
        return user
    with transaction.atomic():
        user = User(
            username=f"citizen-{secrets.token_hex(6)}",
            kind=User.Kind.CITIZEN,
            phone=phone,
            phone_hash=digest,
        )
        user.set_unusable_password()
        user.save()
        record(
            user,
            "accounts.citizen.created",
            user,
            after={"kind": user.kind, "phone_masked": mask_phone(phone)},
            request=request,
        )
    return user


# --- API tokens -----------------------------------------------------------------------------------


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_token(
    user: User,
    name: str,
    *,
    days: int | None = None,
    scopes: list[str] | None = None,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns it with the secret, which is never shown again."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ServiceError(
            _("令牌名称必填，至多 100 个字符。"), code="token_name_invalid", status=422
        )
    if days is not None and not 1 <= days <= TOKEN_MAX_DAYS:
        raise ServiceError(
            _("有效天数应在 1 到 %(n)d 之间。") % {"n": TOKEN_MAX_DAYS},
            code="token_days_invalid",
            status=422,
        )
    if not user.is_active or user.kind != User.Kind.STAFF:
        raise ServiceError(
            _("只有在职的工作人员可以持有接口令牌。"), code="token_user_invalid", status=422
        )
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    now = timezone.now()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            secret_hash=_token_hash(raw),
            scopes=list(scopes or []),
            created_at=now,
            expires_at=now + timedelta(days=days) if days else None,
        )
        record(
            actor if actor is not None else user,
            "auth.token.created",
            token,
            after={
                "user": user.username,
                "name": name,
                "prefix": prefix,
                "expires_at": token.expires_at,
            },
            request=request,
        )
    return token, raw


def revoke_token(token: ApiToken, *, actor: Any = None, request: HttpRequest | None = None) -> bool:
    """Revoke ``token``; False when it was already revoked."""
    now = timezone.now()
    with transaction.atomic():
        done = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
        if done:
            token.revoked_at = now
            record(
                actor,
                "auth.token.revoked",
                token,
                after={"prefix": token.prefix, "revoked_at": now},
                request=request,
            )
    return bool(done)


def authenticate_token(raw: str) -> ApiToken | None:
    """The active token with this secret whose user is active, or None."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.active()
        .select_related("user")
        .filter(secret_hash=_token_hash(raw), user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # At most one write a minute per token: busy integrations must not turn reads into writes.
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True)
        | Q(last_used_at__lt=now - timedelta(seconds=TOKEN_TOUCH_SECONDS))
    ).update(last_used_at=now)
    return token
