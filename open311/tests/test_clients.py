"""API keys: the command, the admin, the demo key, and what is stored."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from audit.models import AuditEntry
from minsheng.errors import ServiceError
from open311 import demo_data, services
from open311.models import Open311Client
from open311.tests.conftest import BASE, form

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("open311", *args, stdout=out)
    return out.getvalue()


def _posts_with(key: str) -> int:
    response = Client().post(
        f"{BASE}/requests.json",
        data=urlencode(form(api_key=key)),
        content_type="application/x-www-form-urlencoded",
    )
    return int(response.status_code)


def test_the_command_adds_a_client_and_prints_a_working_key_once(category_tree: Any) -> None:
    output = run("client", "add", "城管随手拍")
    key = output.strip().splitlines()[-1]
    assert key.startswith("o311_") and len(key) > 30
    client = Open311Client.objects.get(name="城管随手拍")
    assert key not in client.key_hash
    assert _posts_with(key) == 201
    assert AuditEntry.objects.filter(action="open311.client.created").exists()
    assert key not in run("client", "list")
    assert "城管随手拍" in run("client", "list")


def test_the_command_revokes_a_client_by_name(category_tree: Any) -> None:
    key = run("client", "add", "城管随手拍").strip().splitlines()[-1]
    assert "revoked" in run("client", "revoke", "城管随手拍")
    assert _posts_with(key) == 403
    assert "already revoked" in run("client", "revoke", "城管随手拍")
    assert "revoked" in run("client", "list")
    with pytest.raises(CommandError, match="no Open311 client"):
        run("client", "revoke", "nobody")


def test_the_command_refuses_a_taken_name_or_a_short_key(category_tree: Any) -> None:
    run("client", "add", "城管随手拍")
    with pytest.raises(CommandError, match="城管随手拍"):
        run("client", "add", "城管随手拍")
    with pytest.raises(CommandError, match="16"):
        run("client", "add", "另一个", "--key", "short")


def test_a_key_cannot_serve_two_clients(category_tree: Any) -> None:
    services.do_create_client("甲", key="shared-key-0000000")
    with pytest.raises(ServiceError) as raised:
        services.do_create_client("乙", key="shared-key-0000000")
    assert raised.value.code == "open311_key_taken"


def test_the_demo_client_has_the_published_key_and_loads_once(category_tree: Any) -> None:
    assert demo_data.load() == 1
    assert demo_data.load() == 0
    assert Open311Client.objects.count() == 1
    assert _posts_with("demo-open311-key") == 201


def test_the_admin_adds_a_client_and_shows_its_key_once(category_tree: Any, admin: Any) -> None:
    client = Client()
    client.force_login(admin)
    response = client.post(
        "/admin/open311/open311client/add/",
        {"name": "区融媒体中心", "jurisdiction": "", "key": ""},
        follow=True,
    )
    assert response.status_code == 200
    created = Open311Client.objects.get(name="区融媒体中心")
    shown = [str(m) for m in response.context["messages"]]
    [key] = [m.rsplit("：", 1)[1] for m in shown if "API 密钥" in m]
    assert services.authenticate(key) == created
    listing = client.get("/admin/open311/open311client/").content.decode()
    assert "区融媒体中心" in listing and key not in listing


def test_the_admin_may_enter_the_key_itself(category_tree: Any, admin: Any) -> None:
    client = Client()
    client.force_login(admin)
    client.post(
        "/admin/open311/open311client/add/",
        {"name": "热线 App", "jurisdiction": "", "key": "entered-by-admin-0001"},
    )
    assert services.authenticate("entered-by-admin-0001") == Open311Client.objects.get(
        name="热线 App"
    )


def test_the_admin_revokes_clients_with_an_action(category_tree: Any, admin: Any) -> None:
    target, key = services.do_create_client("旧 App")
    client = Client()
    client.force_login(admin)
    client.post(
        "/admin/open311/open311client/",
        {"action": "revoke", "_selected_action": [target.pk]},
    )
    target.refresh_from_db()
    assert not target.active
    assert services.authenticate(key) is None
