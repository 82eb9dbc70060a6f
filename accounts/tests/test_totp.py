from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import RecoveryCode, User
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def enroll(client: Client, user: User) -> tuple[str, list[str]]:
    """Enrol through the page; returns the secret and the recovery codes shown."""
    page = client.get("/accounts/2fa/")
    assert page.status_code == 200
    user.refresh_from_db()
    secret = user.totp_secret
    assert secret and secret.replace(" ", "")[:4] in page.content.decode().replace(" ", "")
    done = client.post("/accounts/2fa/", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = done.context["codes"]
    return secret, list(codes)


def code_at(secret: str, offset_steps: int = 0) -> str:
    moment = timezone.now() + timedelta(seconds=30 * offset_steps)
    return pyotp.TOTP(secret).at(moment)


def test_the_enrollment_page_shows_secret_uri_and_an_svg_qr_code(handler: User) -> None:
    client = Client()
    client.force_login(handler)
    html = client.get("/accounts/2fa/").content.decode()
    handler.refresh_from_db()
    assert "otpauth://totp/" in html
    assert "<svg" in html
    assert 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html
    assert not handler.totp_enabled


def test_the_secret_is_stored_encrypted(handler: User) -> None:
    from django.db import connection

    client = Client()
    client.force_login(handler)
    client.get("/accounts/2fa/")
    handler.refresh_from_db()
    with connection.cursor() as cursor:
        cursor.execute("SELECT totp_secret FROM accounts_user WHERE id = %s", [handler.pk])
        raw = cursor.fetchone()[0]
    assert raw.startswith("v1:") and handler.totp_secret not in raw


def test_a_wrong_code_does_not_enable_totp(handler: User) -> None:
    client = Client()
    client.force_login(handler)
    client.get("/accounts/2fa/")
    handler.refresh_from_db()
    wrong = str((int(pyotp.TOTP(handler.totp_secret).now()) + 1) % 1_000_000).zfill(6)
    response = client.post("/accounts/2fa/", {"code": wrong})
    assert "动态口令不正确" in response.content.decode()
    handler.refresh_from_db()
    assert not handler.totp_enabled


def test_with_totp_on_the_password_alone_does_not_sign_in(handler: User) -> None:
    staff = Client()
    staff.force_login(handler)
    secret, codes = enroll(staff, handler)
    assert len(codes) == services.RECOVERY_CODE_COUNT
    assert AuditEntry.objects.filter(action="auth.2fa.enabled", actor=handler).exists()

    client = Client()
    step1 = client.post("/accounts/login/", {"username": "handler", "password": "handler-password"})
    assert step1["Location"] == "/accounts/login/code/"
    assert "_auth_user_id" not in client.session
    assert client.get("/workbench/").status_code == 302

    # The enrolment used the current step, so the next step's code is the fresh one.
    step2 = client.post("/accounts/login/code/", {"code": code_at(secret, 1)})
    assert step2.status_code == 302
    assert int(client.session["_auth_user_id"]) == handler.pk
    entry = AuditEntry.objects.filter(action="auth.login", actor=handler).last()
    assert entry is not None and entry.after == {"method": "password+totp"}


def test_a_used_code_cannot_be_replayed(handler: User) -> None:
    staff = Client()
    staff.force_login(handler)
    secret, _codes = enroll(staff, handler)
    code = code_at(secret, 1)
    first = Client()
    first.post("/accounts/login/", {"username": "handler", "password": "handler-password"})
    assert first.post("/accounts/login/code/", {"code": code}).status_code == 302

    second = Client()
    second.post("/accounts/login/", {"username": "handler", "password": "handler-password"})
    replay = second.post("/accounts/login/code/", {"code": code})
    assert replay.status_code == 200
    assert "已使用过" in replay.content.decode()
    assert "_auth_user_id" not in second.session
    # The enrolment code's step is spent too.
    assert not services.verify_totp(handler, code_at(secret, 0))


def test_codes_two_steps_away_are_refused_and_one_step_is_accepted(handler: User) -> None:
    secret = pyotp.random_base32()
    User.objects.filter(pk=handler.pk).update(totp_secret=secret)
    handler.refresh_from_db()
    now = timezone.now()
    at = pyotp.TOTP(secret).at
    assert services.matching_totp_step(secret, at(now - timedelta(seconds=60)), now) is None
    assert services.matching_totp_step(secret, at(now + timedelta(seconds=60)), now) is None
    assert services.matching_totp_step(secret, at(now - timedelta(seconds=30)), now) is not None
    assert services.matching_totp_step(secret, at(now + timedelta(seconds=30)), now) is not None
    assert services.matching_totp_step(secret, "12345", now) is None


def test_wrong_second_step_codes_count_toward_lockout(handler: User, settings: Any) -> None:
    settings.LOGIN_MAX_FAILURES = 3
    staff = Client()
    staff.force_login(handler)
    enroll(staff, handler)
    client = Client()
    client.post("/accounts/login/", {"username": "handler", "password": "handler-password"})
    for _ in range(2):
        response = client.post("/accounts/login/code/", {"code": "000000"})
        assert response.status_code == 200
    locked = client.post("/accounts/login/code/", {"code": "000000"})
    assert locked.status_code == 403
    assert "暂时锁定" in locked.content.decode()
    handler.refresh_from_db()
    assert handler.is_locked()
    # The half-done sign-in is gone: the password step must be repeated (and is locked).
    assert client.get("/accounts/login/code/").status_code == 302


def test_the_half_done_sign_in_expires(handler: User) -> None:
    staff = Client()
    staff.force_login(handler)
    secret, _codes = enroll(staff, handler)
    client = Client()
    client.post("/accounts/login/", {"username": "handler", "password": "handler-password"})
    session = client.session
    state = session[services.SECOND_FACTOR_SESSION_KEY]
    state["until"] = timezone.now().timestamp() - 1
    session[services.SECOND_FACTOR_SESSION_KEY] = state
    session.save()
    response = client.post("/accounts/login/code/", {"code": code_at(secret, 1)})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_a_recovery_code_works_once(handler: User) -> None:
    staff = Client()
    staff.force_login(handler)
    _secret, codes = enroll(staff, handler)
    assert RecoveryCode.objects.filter(user=handler).count() == len(codes)
    assert not RecoveryCode.objects.filter(code_hash__in=[c for c in codes]).exists()
    for expected in (302, 200):
        client = Client()
        client.post("/accounts/login/", {"username": "handler", "password": "handler-password"})
        response = client.post("/accounts/login/code/", {"code": codes[0].upper(), "recovery": "1"})
        assert response.status_code == expected


def test_disabling_needs_the_password_and_a_code(handler: User) -> None:
    staff = Client()
    staff.force_login(handler)
    secret, _codes = enroll(staff, handler)
    refused = staff.post(
        "/accounts/2fa/",
        {"action": "disable", "d-password": "wrong", "d-code": code_at(secret, 1)},
    )
    assert "密码或动态口令不正确" in refused.content.decode()
    handler.refresh_from_db()
    assert handler.totp_enabled
    done = staff.post(
        "/accounts/2fa/",
        {"action": "disable", "d-password": "handler-password", "d-code": code_at(secret, 1)},
    )
    assert done.status_code == 200
    handler.refresh_from_db()
    assert not handler.totp_enabled and handler.totp_secret == ""
    assert not RecoveryCode.objects.filter(user=handler).exists()
    assert AuditEntry.objects.filter(action="auth.2fa.disabled", actor=handler).exists()
    response = Client().post(
        "/accounts/login/", {"username": "handler", "password": "handler-password"}
    )
    assert response["Location"] == "/workbench/"


def test_citizens_and_strangers_cannot_open_the_enrollment_page(citizen: User) -> None:
    assert Client().get("/accounts/2fa/")["Location"].startswith("/accounts/login/?next=")
    client = Client()
    client.force_login(citizen)
    assert client.get("/accounts/2fa/").status_code == 403
