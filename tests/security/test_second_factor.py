"""A second factor is required for administrators and auditors (accounts/second_factor.py).

Sessions here are made the real way: the sign-in form (password, then code), the Django admin's own
login form, or ``force_login`` through the real ``ModelBackend``, never the test suite's
``ForceLoginBackend`` that the other tests use.
"""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from django.test import Client

from accounts.models import User
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
HELD_PAGES = ["/workbench/", "/workbench/audit/", "/accounts/tokens/", "/admin/", "/"]


def password_sign_in(user: User, next_url: str = "") -> tuple[Client, Any]:
    client = Client()
    data = {"username": user.username, "password": f"{user.username}-password"}
    if next_url:
        data["next"] = next_url
    return client, client.post("/accounts/login/", data)


def with_totp(user: User) -> str:
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_enabled = True
    user.totp_last_step = None
    user.save(update_fields=["totp_secret", "totp_enabled", "totp_last_step"])
    return secret


@pytest.fixture(params=["admin", "auditor"])
def overseer(request: pytest.FixtureRequest) -> User:
    user: User = request.getfixturevalue(request.param)
    return user


def test_an_overseer_without_totp_is_sent_to_enrolment_from_every_page(overseer: User) -> None:
    client, signed_in = password_sign_in(overseer)
    assert signed_in.status_code == 302
    for path in HELD_PAGES:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == "/accounts/2fa/", path
    enrol = client.get("/accounts/2fa/")
    assert enrol.status_code == 200
    assert enrol.context["required"] is True


def test_an_overseer_without_totp_is_refused_by_the_api_with_a_stable_code(overseer: User) -> None:
    client, _signed_in = password_sign_in(overseer)
    for path in ("/api/auth/me", "/api/audit/entries", "/api/appeals/"):
        response = client.get(path)
        assert response.status_code == 403, path
        body = response.json()
        assert body["code"] == "second_factor_required"
        assert body["detail"] == {"enrol": "/accounts/2fa/", "enrolled": False}
        assert body["message"]


def test_an_overseer_can_still_sign_out_and_switch_language_while_held(overseer: User) -> None:
    client, _signed_in = password_sign_in(overseer)
    assert client.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 302
    out = client.post("/accounts/logout/")
    assert out.status_code == 302 and out["Location"] == "/accounts/login/"
    assert client.get("/workbench/").status_code == 302
    assert client.get("/workbench/")["Location"].startswith("/accounts/login/")


def test_enrolling_in_the_held_session_lets_the_overseer_through(overseer: User) -> None:
    client, _signed_in = password_sign_in(overseer)
    client.get("/accounts/2fa/")
    overseer.refresh_from_db()
    done = client.post("/accounts/2fa/", {"code": pyotp.TOTP(overseer.totp_secret).now()})
    assert done.status_code == 200 and len(done.context["codes"]) == 10
    assert client.get("/workbench/").status_code == 200
    assert client.get("/api/auth/me").status_code == 200


def test_an_overseer_with_totp_is_asked_for_the_code_at_sign_in(overseer: User) -> None:
    secret = with_totp(overseer)
    client, signed_in = password_sign_in(overseer, next_url="/workbench/audit/")
    assert signed_in["Location"] == "/accounts/login/code/"
    # Half-way through, nothing but the code page: the password alone did not sign in.
    assert client.get("/workbench/")["Location"].startswith("/accounts/login/")
    done = client.post("/accounts/login/code/", {"code": pyotp.TOTP(secret).now()})
    assert done["Location"] == "/workbench/audit/"
    assert client.get("/workbench/audit/").status_code == 200
    assert AuditEntry.objects.filter(
        action="auth.login", actor=overseer, after__method="password+totp"
    ).exists()


def test_a_password_only_session_of_an_enrolled_admin_is_signed_out_to_the_code_step(
    admin: User,
) -> None:
    # The Django admin has its own login form, which checks the password only.
    overseer = admin
    with_totp(overseer)
    client = Client()
    client.post(
        "/admin/login/?next=/admin/",
        {"username": overseer.username, "password": f"{overseer.username}-password"},
    )
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    # Signed out: the next request is anonymous.
    assert client.get("/api/auth/me").status_code == 401


def test_a_session_from_the_real_backend_without_a_code_is_held(overseer: User) -> None:
    client = Client()
    client.force_login(overseer, backend=MODEL_BACKEND)
    assert client.get("/workbench/")["Location"] == "/accounts/2fa/"


def test_staff_without_admin_or_auditor_roles_may_work_without_totp(
    handler: User, leader: User
) -> None:
    for person in (handler, leader):
        client, _signed_in = password_sign_in(person)
        assert client.get("/workbench/").status_code == 200
        assert client.get("/api/auth/me").status_code == 200


def test_an_overseer_cannot_turn_the_second_factor_off(overseer: User) -> None:
    secret = with_totp(overseer)
    client, _signed_in = password_sign_in(overseer)
    client.post("/accounts/login/code/", {"code": pyotp.TOTP(secret).now()})
    overseer.refresh_from_db()
    response = client.post(
        "/accounts/2fa/",
        {
            "action": "disable",
            "d-password": f"{overseer.username}-password",
            "d-code": pyotp.TOTP(secret).at(pyotp.TOTP(secret).timecode(_later()) * 30),
        },
    )
    assert response.status_code == 200
    assert "不能停用" in response.content.decode()
    overseer.refresh_from_db()
    assert overseer.totp_enabled


def test_turning_totp_off_elsewhere_holds_a_verified_session_again(overseer: User) -> None:
    secret = with_totp(overseer)
    client, _signed_in = password_sign_in(overseer)
    client.post("/accounts/login/code/", {"code": pyotp.TOTP(secret).now()})
    assert client.get("/workbench/").status_code == 200
    # Another admin resets the lost device in the Django admin.
    User.objects.filter(pk=overseer.pk).update(totp_enabled=False, totp_secret="")
    assert client.get("/workbench/")["Location"] == "/accounts/2fa/"


def _later() -> Any:
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() + timedelta(seconds=30)
