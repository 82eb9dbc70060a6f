"""CSRF is enforced on every page form and on every session-authenticated API operation.

Generated from the role matrix (every URL name has a concrete path there) and from the OpenAPI
document (every unsafe operation), so a new form or endpoint is covered without editing this file.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import resolve

from tests.test_role_matrix import PAGES

pytestmark = pytest.mark.django_db

UNSAFE = ("post", "put", "patch", "delete")

# API operations that take no session at all (auth=None): a forged cross-site call could do nothing
# the attacker could not do from their own machine, so a CSRF token would protect nobody. Each with
# the reason it is safe; the test fails if one of them starts reading the signed-in user.
SESSIONLESS_API: dict[str, str] = {
    "/api/auth/otp/request": "asks for a sign-in code for a phone number typed in; anyone may",
    "/api/opinion/push": "partners push with a bearer token only; the session cookie is refused",
}

# API operations that take no session yet check the CSRF token themselves: signing a browser in is
# itself the harm a forged call does (login CSRF: the victim works on in the attacker's account).
# Each with a well-formed body, so the answer is the CSRF check's and not the body validation's.
CSRF_BEFORE_SESSION: dict[str, tuple[str, dict[str, str]]] = {
    "/api/auth/otp/verify": (
        "signs the browser in with a phone code (accounts/api.py)",
        {"phone": "13800138000", "code": "123456"},
    ),
}


# Pages exempt from CSRF, each with the reason. Open311 GeoReport v2 is a machine API: clients
# identify with an API key in the request, never with the session cookie (open311/views.py).
CSRF_EXEMPT_PAGES: dict[str, str] = {
    name: "Open311 GeoReport v2: API-key clients, no session"
    for name in (
        "open311:discovery",
        "open311:request",
        "open311:requests",
        "open311:service_definition",
        "open311:services",
    )
}


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_page_refuses_a_post_without_the_csrf_token(admin: Any) -> None:
    wrong = []
    for name, (path, _expect) in sorted(PAGES.items()):
        url = path.format(seq=1)
        view = resolve(url.split("?")[0]).func
        if getattr(view, "csrf_exempt", False):
            if name not in CSRF_EXEMPT_PAGES:
                wrong.append(f"{name} {url} is csrf_exempt: say why in CSRF_EXEMPT_PAGES")
            continue
        for who in (None, admin):
            client = Client(enforce_csrf_checks=True)
            if who is not None:
                client.force_login(who)
            response = client.post(url, {"anything": "x"})
            if response.status_code != 403 or b"CSRF" not in response.content:
                wrong.append(f"{name} {url} as {who or 'anonymous'}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


def test_the_same_post_with_the_token_gets_past_the_check(citizen: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/accounts/login/", {"username": "x", "password": "y", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 200 and b"CSRF" not in response.content


def _unsafe_operations() -> list[tuple[str, str, bool]]:
    """(method, path, takes a session) for every unsafe operation of the OpenAPI document."""
    document = Client().get("/api/openapi.json").json()
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in UNSAFE:
                schemes = {name for entry in operation.get("security", []) or [] for name in entry}
                found.append((method, path, "CsrfSessionAuth" in schemes))
    return sorted(found)


def test_every_session_api_operation_refuses_a_call_without_the_csrf_token(
    admin: Any, citizen: Any
) -> None:
    wrong = []
    operations = _unsafe_operations()
    assert len(operations) > 30
    for method, path, takes_session in operations:
        if path in CSRF_BEFORE_SESSION:
            _reason, body = CSRF_BEFORE_SESSION[path]
            response = getattr(Client(enforce_csrf_checks=True), method)(
                _fill(path), data=body, content_type="application/json"
            )
            if response.status_code != 403 or response.json().get("code") != "csrf_failed":
                wrong.append(f"{method.upper()} {path} anonymous: {response.status_code}")
            continue
        if not takes_session:
            if path not in SESSIONLESS_API:
                wrong.append(
                    f"{method.upper()} {path} takes no session: say why in SESSIONLESS_API"
                )
            continue
        if path in SESSIONLESS_API:
            wrong.append(
                f"{method.upper()} {path} now takes a session: drop it from SESSIONLESS_API"
            )
        for who in (admin, citizen):
            client = Client(enforce_csrf_checks=True)
            client.force_login(who)
            response = getattr(client, method)(
                _fill(path), data="{}", content_type="application/json"
            )
            body = (
                response.json() if response["Content-Type"].startswith("application/json") else {}
            )
            if response.status_code != 403 or body.get("code") != "csrf_failed":
                wrong.append(f"{method.upper()} {path} as {who}: {response.status_code} {body}")
    assert not wrong, "\n".join(wrong)


def test_a_bearer_token_call_needs_no_csrf_token(handler: Any) -> None:
    from accounts import services

    _token, secret = services.create_token(handler, "csrf-test", days=1)
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/appeals/1/sign",
        data="{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code in {404, 409, 422}
    assert response.json()["code"] != "csrf_failed"
