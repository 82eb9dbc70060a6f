"""The sign-in code's verify step refuses a call without the CSRF token (login CSRF).

A page on another site could otherwise post the attacker's own phone and code from the victim's
browser, signing the victim in as the attacker; what the victim then types (an appeal, a phone
number) would land in the attacker's account. The sign-in form is protected by Django's CSRF check;
the API's verify step is protected the same way, with the token the code request sets.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from accounts.models import PhoneCode
from accounts.sms import FileBackend
from accounts.tests.conftest import last_code

pytestmark = pytest.mark.django_db

PHONE = "13912340000"


def _post(client: Client, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(
        f"/api/auth/{path}", json.dumps(body), content_type="application/json", headers=headers
    )


def test_a_verify_without_the_csrf_token_is_refused_and_the_code_stays_usable(
    outbox: FileBackend,
) -> None:
    browser = Client(enforce_csrf_checks=True)
    assert _post(browser, "otp/request", {"phone": PHONE}).status_code == 200
    token = browser.cookies["csrftoken"].value
    code = last_code(outbox, PHONE)

    refused = _post(browser, "otp/verify", {"phone": PHONE, "code": code})
    assert refused.status_code == 403
    body = refused.json()
    assert body["code"] == "csrf_failed" and "X-CSRFToken" in body["message"]
    assert "sessionid" not in browser.cookies
    # Refused before the code was looked at: no attempt spent, the code still signs in.
    assert PhoneCode.objects.get().attempts == 0

    signed_in = _post(browser, "otp/verify", {"phone": PHONE, "code": code}, X_CSRFToken=token)
    assert signed_in.status_code == 200, signed_in.content
    assert browser.get("/api/auth/me").json()["phone_masked"] == "139****0000"


def test_a_verify_forged_from_another_site_does_not_sign_the_victim_in(
    outbox: FileBackend,
) -> None:
    attacker = Client(enforce_csrf_checks=True)
    _post(attacker, "otp/request", {"phone": PHONE})
    stolen_token = attacker.cookies["csrftoken"].value
    code = last_code(outbox, PHONE)
    # The victim's browser has a token of its own; the forged page can neither read it nor set it,
    # so the header it sends is the attacker's token, which does not match the victim's cookie.
    victim = Client(enforce_csrf_checks=True)
    victim.get("/accounts/login/")
    forged = _post(
        victim,
        "otp/verify",
        {"phone": PHONE, "code": code},
        X_CSRFToken=stolen_token,
        Origin="https://evil.example",
    )
    assert forged.status_code == 403 and forged.json()["code"] == "csrf_failed"
    assert victim.get("/api/auth/me").status_code == 401
