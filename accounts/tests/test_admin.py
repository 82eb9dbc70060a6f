from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import User
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_the_user_admin_shows_phones_masked_only(admin: User, citizen: User) -> None:
    client = Client()
    client.force_login(admin)
    listing = client.get("/admin/accounts/user/").content.decode()
    assert "138****8000" in listing and "13800138000" not in listing
    change = client.get(f"/admin/accounts/user/{citizen.pk}/change/").content.decode()
    assert "138****8000" in change and "13800138000" not in change


def test_the_user_admin_finds_a_citizen_by_full_phone_through_the_blind_index(
    admin: User, citizen: User
) -> None:
    client = Client()
    client.force_login(admin)
    found = client.get("/admin/accounts/user/", {"q": "+86 138 0013 8000"})
    assert list(found.context["cl"].result_list) == [citizen]


def test_an_admin_can_lift_a_lock_and_it_is_audited(admin: User, handler: User) -> None:
    User.objects.filter(pk=handler.pk).update(locked_until=timezone.now() + timedelta(minutes=10))
    client = Client()
    client.force_login(admin)
    client.post(
        "/admin/accounts/user/", {"action": "unlock", "_selected_action": [str(handler.pk)]}
    )
    handler.refresh_from_db()
    assert handler.locked_until is None
    assert AuditEntry.objects.filter(action="auth.unlock", actor=admin).exists()


def test_the_token_admin_never_shows_the_secret_and_cannot_add(admin: User, handler: User) -> None:
    token, secret = services.create_token(handler, "对接")
    client = Client()
    client.force_login(admin)
    listing = client.get("/admin/accounts/apitoken/").content.decode()
    assert token.prefix in listing and secret not in listing and token.secret_hash not in listing
    detail = client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()
    assert secret not in detail and token.secret_hash not in detail
    assert client.get("/admin/accounts/apitoken/add/").status_code == 403
