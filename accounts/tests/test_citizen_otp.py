from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import PhoneCode, User
from accounts.sms import FileBackend
from accounts.tests.conftest import last_code, pass_the_resend_cooldown
from audit.models import AuditEntry
from vault.crypto import blind_index

pytestmark = pytest.mark.django_db

PHONE = "13912345678"


def api_post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/auth/{path}", json.dumps(body), content_type="application/json")


def test_phone_numbers_are_normalised_and_checked() -> None:
    assert services.normalise_phone("+86 139 1234 5678") == PHONE
    assert services.normalise_phone("0086-13912345678") == PHONE
    assert services.normalise_phone("8613912345678") == PHONE
    for bad in ["12912345678", "1391234567", "139123456789", "010-12345678", "abc", ""]:
        with pytest.raises(services.ServiceError) as err:
            services.normalise_phone(bad)
        assert err.value.code == "phone_invalid"


def test_a_citizen_signs_in_with_a_code_read_from_the_outbox(outbox: FileBackend) -> None:
    client = Client()
    sent = api_post(client, "otp/request", {"phone": "+86 139 1234 5678"})
    assert sent.status_code == 200, sent.content
    assert sent.json() == {"phone_masked": "139****5678", "expires_in": 300, "resend_in": 60}
    code = last_code(outbox, PHONE)

    verified = api_post(client, "otp/verify", {"phone": PHONE, "code": code})
    assert verified.status_code == 200, verified.content
    body = verified.json()
    assert body["kind"] == "citizen" and body["roles"] == ["citizen"]
    assert body["phone_masked"] == "139****5678"
    assert PHONE not in body["username"] and "5678" not in body["username"]
    assert client.cookies.get("csrftoken")

    me = client.get("/api/auth/me")
    assert me.status_code == 200 and me.json()["id"] == body["id"]
    assert me.json()["auth"] == "session"

    user = User.objects.get(pk=body["id"])
    assert user.kind == User.Kind.CITIZEN and user.phone == PHONE
    assert user.phone_hash == blind_index(PHONE, "phone")
    assert not user.has_usable_password()
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM accounts_user WHERE id = %s", [user.pk])
        assert PHONE not in cursor.fetchone()[0]


def test_the_second_sign_in_finds_the_same_citizen(outbox: FileBackend) -> None:
    ids = []
    for _ in range(2):
        client = Client()
        assert api_post(client, "otp/request", {"phone": PHONE}).status_code == 200
        response = api_post(
            client, "otp/verify", {"phone": PHONE, "code": last_code(outbox, PHONE)}
        )
        ids.append(response.json()["id"])
        pass_the_resend_cooldown()
    assert ids[0] == ids[1]
    assert User.objects.filter(kind=User.Kind.CITIZEN).count() == 1


def test_the_code_is_stored_only_as_a_keyed_hash(outbox: FileBackend) -> None:
    api_post(Client(), "otp/request", {"phone": PHONE})
    code = last_code(outbox, PHONE)
    row = PhoneCode.objects.get()
    assert code not in row.code_hash and PHONE not in row.phone_hash
    import hashlib

    assert row.code_hash != hashlib.sha256(code.encode()).hexdigest()


def test_a_wrong_code_is_400_otp_invalid_and_five_tries_end_the_code(outbox: FileBackend) -> None:
    client = Client()
    api_post(client, "otp/request", {"phone": PHONE})
    code = last_code(outbox, PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1, 0):
        response = api_post(client, "otp/verify", {"phone": PHONE, "code": wrong})
        assert response.status_code == 400
        assert response.json()["code"] == "otp_invalid"
        assert response.json()["detail"] == {"attempts_left": left}
    # Even the right code is refused now.
    final = api_post(client, "otp/verify", {"phone": PHONE, "code": code})
    assert final.status_code == 400 and final.json()["code"] == "otp_attempts_exceeded"
    assert "_auth_user_id" not in client.session


def test_an_expired_code_is_refused(outbox: FileBackend) -> None:
    client = Client()
    api_post(client, "otp/request", {"phone": PHONE})
    PhoneCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api_post(client, "otp/verify", {"phone": PHONE, "code": last_code(outbox, PHONE)})
    assert response.status_code == 400 and response.json()["code"] == "otp_expired"


def test_a_code_works_only_once(outbox: FileBackend) -> None:
    api_post(Client(), "otp/request", {"phone": PHONE})
    code = last_code(outbox, PHONE)
    assert api_post(Client(), "otp/verify", {"phone": PHONE, "code": code}).status_code == 200
    again = api_post(Client(), "otp/verify", {"phone": PHONE, "code": code})
    assert again.status_code == 400 and again.json()["code"] == "otp_expired"


def test_a_new_code_replaces_the_previous_one(outbox: FileBackend) -> None:
    api_post(Client(), "otp/request", {"phone": PHONE})
    first = last_code(outbox, PHONE)
    pass_the_resend_cooldown()
    assert api_post(Client(), "otp/request", {"phone": PHONE}).status_code == 200
    second = last_code(outbox, PHONE)
    if first != second:
        stale = api_post(Client(), "otp/verify", {"phone": PHONE, "code": first})
        assert stale.status_code == 400
    assert api_post(Client(), "otp/verify", {"phone": PHONE, "code": second}).status_code == 200


def test_asking_again_within_a_minute_is_429_with_retry_after(outbox: FileBackend) -> None:
    assert api_post(Client(), "otp/request", {"phone": PHONE}).status_code == 200
    again = api_post(Client(), "otp/request", {"phone": PHONE})
    assert again.status_code == 429
    assert again.json()["code"] == "otp_cooldown"
    assert 0 < int(again["Retry-After"]) <= 60
    assert len(outbox.messages()) == 1


def test_the_cooldown_holds_after_the_cache_is_lost(outbox: FileBackend) -> None:
    from django.core.cache import cache

    api_post(Client(), "otp/request", {"phone": PHONE})
    cache.clear()
    assert api_post(Client(), "otp/request", {"phone": PHONE}).status_code == 429


def test_a_phone_gets_at_most_five_codes_an_hour(outbox: FileBackend) -> None:
    from django.core.cache import cache

    now = timezone.now()
    digest = services.phone_index(PHONE)
    for minutes in (50, 40, 30, 20, 10):
        PhoneCode.objects.create(
            phone_hash=digest,
            code_hash="x",
            created_at=now - timedelta(minutes=minutes),
            expires_at=now,
        )
    cache.clear()
    response = api_post(Client(), "otp/request", {"phone": PHONE})
    assert response.status_code == 429 and response.json()["code"] == "otp_rate_limited"
    # The oldest of the five leaves the hour in about ten minutes.
    assert 9 * 60 <= int(response["Retry-After"]) <= 10 * 60 + 1


def test_one_address_cannot_spray_codes_at_many_phones(outbox: FileBackend) -> None:
    client = Client()
    for i in range(services.OTP_PER_IP_PER_HOUR):
        phone = f"1380000{i:04d}"
        assert api_post(client, "otp/request", {"phone": phone}).status_code == 200
    blocked = api_post(client, "otp/request", {"phone": "13700001111"})
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0


def test_bad_input_is_422_with_a_readable_message(outbox: FileBackend) -> None:
    bad_phone = api_post(Client(), "otp/request", {"phone": "12345"})
    assert bad_phone.status_code == 422
    assert "手机号" in bad_phone.json()["message"]
    missing = api_post(Client(), "otp/request", {})
    assert missing.status_code == 422 and missing.json()["code"] == "validation_error"
    bad_code = api_post(Client(), "otp/verify", {"phone": PHONE, "code": "12ab"})
    assert bad_code.status_code == 422 and "6 位数字" in bad_code.json()["message"]


def test_the_audit_trail_never_holds_the_plain_number(outbox: FileBackend) -> None:
    client = Client()
    api_post(client, "otp/request", {"phone": PHONE})
    api_post(client, "otp/verify", {"phone": PHONE, "code": "000000"})
    api_post(client, "otp/verify", {"phone": PHONE, "code": last_code(outbox, PHONE)})
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"auth.otp.sent", "auth.login", "accounts.citizen.created"} <= actions
    if last_code(outbox, PHONE) != "000000":
        assert "auth.login.failed" in actions
    for entry in AuditEntry.objects.all():
        text = json.dumps([entry.before, entry.after, entry.reason, entry.object_repr])
        assert PHONE not in text
    assert AuditEntry.objects.filter(action="auth.otp.sent").get().after == {
        "phone_masked": "139****5678"
    }


def test_the_citizen_page_walks_phone_then_code(outbox: FileBackend) -> None:
    client = Client()
    page = client.get("/accounts/citizen/?next=/")
    html = page.content.decode()
    assert 'autocomplete="tel"' in html and 'type="tel"' in html
    sent = client.post("/accounts/citizen/", {"action": "send", "phone": "139 1234 5678"})
    assert sent.status_code == 302
    code_page = client.get("/accounts/citizen/").content.decode()
    assert "139****5678" in code_page and PHONE not in code_page
    assert 'autocomplete="one-time-code"' in code_page and 'inputmode="numeric"' in code_page
    # The number waits in the session encrypted.
    assert PHONE not in json.dumps(dict(client.session))

    wrong = client.post("/accounts/citizen/", {"action": "verify", "code": "00000x"})
    assert wrong.status_code == 200
    assert (
        'aria-invalid="true"' in wrong.content.decode() or "form-errors" in wrong.content.decode()
    )

    done = client.post("/accounts/citizen/", {"action": "verify", "code": last_code(outbox, PHONE)})
    assert done.status_code == 302 and done["Location"] == "/"
    assert User.objects.get(pk=client.session["_auth_user_id"]).kind == User.Kind.CITIZEN


def test_resending_too_soon_on_the_page_says_when(outbox: FileBackend) -> None:
    client = Client()
    client.post("/accounts/citizen/", {"action": "send", "phone": PHONE})
    response = client.post("/accounts/citizen/", {"action": "resend"})
    assert response.status_code == 429
    assert "秒后再重新获取" in response.content.decode()


def test_an_invalid_phone_on_the_page_is_explained(outbox: FileBackend) -> None:
    response = Client().post("/accounts/citizen/", {"action": "send", "phone": "123"})
    assert response.status_code == 200
    assert "11 位中国大陆手机号" in response.content.decode()
    assert outbox.messages() == []


def test_a_disabled_citizen_cannot_sign_in(outbox: FileBackend, settings: Any) -> None:
    User.objects.create(username="c-off", kind=User.Kind.CITIZEN, phone=PHONE, is_active=False)
    api_post(Client(), "otp/request", {"phone": PHONE})
    response = api_post(Client(), "otp/verify", {"phone": PHONE, "code": last_code(outbox, PHONE)})
    assert response.status_code == 403 and response.json()["code"] == "account_disabled"
