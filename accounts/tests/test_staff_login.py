from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.hashers import get_hasher
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def sign_in(client: Client, username: str, password: str, **extra: Any) -> Any:
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def test_the_url_names_stay_login_and_logout() -> None:
    assert reverse("accounts:login") == LOGIN
    assert reverse("accounts:logout") == "/accounts/logout/"


def test_argon2_is_the_production_hasher() -> None:
    from minsheng import settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    hasher = get_hasher("argon2")
    encoded = hasher.encode("correct horse battery staple", hasher.salt())
    assert encoded.startswith("argon2$argon2id$")
    assert hasher.verify("correct horse battery staple", encoded)


def test_a_staff_member_signs_in_and_is_sent_to_the_workbench(handler: User) -> None:
    client = Client()
    response = sign_in(client, "handler", "handler-password")
    assert response.status_code == 302
    assert response["Location"] == reverse("workbench:home")
    assert client.get(reverse("workbench:home")).status_code == 200
    entry = AuditEntry.objects.filter(action="auth.login").get()
    assert entry.actor_id == handler.pk
    assert entry.after == {"method": "password"}


def test_it_follows_a_local_next_but_not_another_site(handler: User) -> None:
    response = sign_in(Client(), "handler", "handler-password", next="/admin/")
    assert response["Location"] == "/admin/"
    response = sign_in(Client(), "handler", "handler-password", next="https://evil.example/")
    assert response["Location"] == reverse("workbench:home")


def test_wrong_password_and_unknown_name_read_the_same(handler: User) -> None:
    wrong = sign_in(Client(), "handler", "not-the-password")
    unknown = sign_in(Client(), "nobody-here", "not-the-password")
    assert wrong.status_code == unknown.status_code == 200
    assert "用户名或密码不正确" in wrong.content.decode()
    assert wrong.context["form"].non_field_errors() == unknown.context["form"].non_field_errors()
    assert "_auth_user_id" not in Client().session
    failures = AuditEntry.objects.filter(action="auth.login.failed")
    assert failures.count() == 2
    # The unknown name is not written down: people type passwords into the name box.
    assert not any("nobody-here" in str(e.after) for e in failures)
    assert not any("not-the-password" in str(e.after) + e.reason for e in failures)


def test_the_error_is_linked_to_the_inputs_for_screen_readers(handler: User) -> None:
    html = sign_in(Client(), "handler", "nope").content.decode()
    assert 'id="form-errors" role="alert"' in html
    assert 'aria-describedby="form-errors"' in html
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html
    assert '<label for="id_username">' in html


def test_a_citizen_cannot_use_the_staff_password_form(citizen: User) -> None:
    citizen.set_password("a-password-for-citizen")
    citizen.save()
    response = sign_in(Client(), "citizen", "a-password-for-citizen")
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()


def test_five_failures_lock_the_account_even_against_the_right_password(
    handler: User, settings: Any
) -> None:
    settings.LOGIN_MAX_FAILURES = 5
    for _ in range(4):
        assert "用户名或密码不正确" in sign_in(Client(), "handler", "wrong").content.decode()
    locked = sign_in(Client(), "handler", "wrong")
    assert locked.status_code == 403
    assert "暂时锁定" in locked.content.decode()
    handler.refresh_from_db()
    assert handler.locked_until is not None
    minutes = (handler.locked_until - timezone.now()).total_seconds() / 60
    assert settings.LOGIN_LOCKOUT_MINUTES - 1 < minutes <= settings.LOGIN_LOCKOUT_MINUTES
    assert AuditEntry.objects.filter(action="auth.lockout", object_id=str(handler.pk)).count() == 1

    right = sign_in(Client(), "handler", "handler-password")
    assert right.status_code == 403
    assert "暂时锁定" in right.content.decode()
    local = timezone.localtime(handler.locked_until).strftime("%H:%M")
    assert local in right.content.decode()


def test_the_lock_ends_when_its_time_has_passed(handler: User) -> None:
    User.objects.filter(pk=handler.pk).update(
        locked_until=timezone.now() - timedelta(seconds=1), failed_logins=0
    )
    response = sign_in(Client(), "handler", "handler-password")
    assert response.status_code == 302
    handler.refresh_from_db()
    assert handler.locked_until is None and handler.failed_logins == 0


def test_old_failures_outside_the_window_do_not_add_up(handler: User, settings: Any) -> None:
    User.objects.filter(pk=handler.pk).update(
        failed_logins=settings.LOGIN_MAX_FAILURES - 1,
        last_failed_login=timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES + 1),
    )
    sign_in(Client(), "handler", "wrong")
    handler.refresh_from_db()
    assert handler.locked_until is None
    assert handler.failed_logins == 1


def test_the_lock_survives_in_the_database_not_only_in_the_cache(handler: User) -> None:
    from django.core.cache import cache

    for _ in range(5):
        sign_in(Client(), "handler", "wrong")
    cache.clear()  # as after a restart of Redis or of the process
    assert sign_in(Client(), "handler", "handler-password").status_code == 403


def test_one_address_guessing_across_accounts_is_slowed(
    handler: User, other_handler: User, settings: Any
) -> None:
    settings.LOGIN_MAX_FAILURES = 3  # per address: 4 × 3 = 12
    names = ["handler", "other_handler", "ghost-1", "ghost-2"]
    for i in range(12):
        sign_in(Client(), names[i % 4], f"guess-{i}")
    blocked = sign_in(Client(), "ghost-3", "guess")
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    # Another address is not affected.
    other = Client(REMOTE_ADDR="10.9.8.7")
    assert sign_in(other, "dispatcher-missing", "x").status_code == 200


def test_logout_is_a_post_and_is_audited(handler: User) -> None:
    client = Client()
    client.force_login(handler)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="auth.logout", actor=handler).exists()


def test_the_login_page_sets_no_inline_script(handler: User) -> None:
    html = Client().get(LOGIN).content.decode()
    assert "<script>" not in html and "onclick" not in html
