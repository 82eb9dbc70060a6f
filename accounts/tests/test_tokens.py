from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken, User
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_a_token_authenticates_as_its_user_and_records_its_use(handler: User) -> None:
    token, secret = services.create_token(handler, "12345 对接")
    assert secret.startswith(f"msk_{token.prefix}_")
    assert secret not in str(ApiToken.objects.filter(pk=token.pk).values().get())
    response = Client().get("/api/auth/me", headers=bearer(secret))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["username"] == "handler" and body["kind"] == "staff"
    assert body["roles"] == ["handler"] and body["auth"] == "token"
    token.refresh_from_db()
    assert token.last_used_at is not None
    entry = AuditEntry.objects.filter(action="auth.token.created").get()
    assert entry.after is not None and entry.after["prefix"] == token.prefix


def test_a_revoked_token_is_refused(handler: User) -> None:
    token, secret = services.create_token(handler, "temp")
    assert services.revoke_token(token, actor=handler)
    assert not services.revoke_token(token, actor=handler)
    response = Client().get("/api/auth/me", headers=bearer(secret))
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"
    assert AuditEntry.objects.filter(action="auth.token.revoked").count() == 1


def test_an_expired_token_is_refused(handler: User) -> None:
    token, secret = services.create_token(handler, "short", days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get("/api/auth/me", headers=bearer(secret)).status_code == 401


def test_a_token_of_a_deactivated_user_is_refused(handler: User) -> None:
    _token, secret = services.create_token(handler, "x")
    User.objects.filter(pk=handler.pk).update(is_active=False)
    assert Client().get("/api/auth/me", headers=bearer(secret)).status_code == 401


def test_made_up_and_malformed_tokens_are_refused(handler: User) -> None:
    _token, secret = services.create_token(handler, "x")
    for fake in [secret[:-1] + ("A" if secret[-1] != "A" else "B"), "msk_", "abc", ""]:
        assert Client().get("/api/auth/me", headers=bearer(fake)).status_code == 401


def test_me_without_any_credentials_is_401() -> None:
    response = Client().get("/api/auth/me")
    assert response.status_code == 401


def test_session_callers_keep_the_csrf_check_on_unsafe_methods(handler: User) -> None:
    from django.test import RequestFactory

    from accounts.api_auth import session_auth
    from minsheng.errors import Forbidden

    request = RequestFactory().post("/api/x", HTTP_COOKIE="sessionid=abc")
    request.user = handler
    request.COOKIES["sessionid"] = "abc"
    with pytest.raises(Forbidden):
        session_auth(request)
    safe = RequestFactory().get("/api/x")
    safe.user = handler
    safe.COOKIES["sessionid"] = "abc"
    assert session_auth(safe) == handler


def test_citizens_cannot_hold_tokens(citizen: User) -> None:
    with pytest.raises(services.ServiceError):
        services.create_token(citizen, "x")


def test_the_command_creates_lists_and_revokes(handler: User) -> None:
    out = StringIO()
    call_command(
        "token", "create", "--user", "handler", "--name", "hotline", "--days", "30", stdout=out
    )
    secret = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get()
    assert secret.startswith(f"msk_{token.prefix}_")
    assert token.expires_at is not None
    assert token.expires_at - token.created_at == timedelta(days=30)
    assert Client().get("/api/auth/me", headers=bearer(secret)).status_code == 200

    listing = StringIO()
    call_command("token", "list", stdout=listing)
    assert token.prefix in listing.getvalue() and "active" in listing.getvalue()
    assert secret not in listing.getvalue()

    call_command("token", "revoke", token.prefix, stdout=StringIO())
    assert Client().get("/api/auth/me", headers=bearer(secret)).status_code == 401
    with pytest.raises(CommandError):
        call_command("token", "revoke", "nope", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("token", "create", "--user", "ghost", "--name", "x", stdout=StringIO())


def test_the_tokens_page_shows_the_secret_once_and_revokes_own_tokens(
    handler: User, other_handler: User
) -> None:
    client = Client()
    client.force_login(handler)
    created = client.post("/accounts/tokens/", {"name": "网格系统", "days": "7"})
    assert created.status_code == 200
    secret = created.context["secret"]
    assert secret in created.content.decode()
    listing = client.get("/accounts/tokens/").content.decode()
    assert "网格系统" in listing and secret not in listing
    token = ApiToken.objects.get(user=handler)

    theirs, _secret = services.create_token(other_handler, "theirs")
    assert client.post(f"/accounts/tokens/{theirs.prefix}/revoke/").status_code == 404
    assert client.post(f"/accounts/tokens/{token.prefix}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_the_tokens_page_explains_bad_input(handler: User) -> None:
    client = Client()
    client.force_login(handler)
    response = client.post("/accounts/tokens/", {"name": "", "days": "0"})
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_name_helptext id_name_error"' in html
    assert not ApiToken.objects.exists()
