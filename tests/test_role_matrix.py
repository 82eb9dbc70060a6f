"""The role matrix: every page and every API operation × every persona and an anonymous visitor.

Each URL name is given a policy below. A new view or endpoint without a policy fails
``test_every_url_and_api_operation_has_a_declared_policy``, so nobody can add an unguarded page by
forgetting to think about who may see it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import admin as django_admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

PERSONAS = [
    "anonymous",
    "citizen",
    "dispatcher",
    "handler",
    "other_handler",
    "leader",
    "analyst",
    "organiser",
    "cadre",
    "auditor",
    "admin",
    "outsider",
]
STAFF = set(PERSONAS) - {"anonymous", "citizen"}
AUDITORS = {"auditor", "admin"}

Expect = Callable[[str], set[int]]


def public(status: int = 200) -> Expect:
    return lambda who: {status}


def staff_page(who: str) -> set[int]:
    if who == "anonymous":
        return {302}
    return {200} if who in STAFF else {403}


def auditor_page(who: str) -> set[int]:
    if who == "anonymous":
        return {302}
    return {200} if who in AUDITORS else {403}


def signed_in_api(who: str) -> set[int]:
    return {401} if who == "anonymous" else {200}


def auditor_api(who: str) -> set[int]:
    if who == "anonymous":
        return {401}
    return {200} if who in AUDITORS else {403}


APPEAL_READERS = {"dispatcher", "handler", "other_handler", "leader", "auditor", "admin"}


def appeal_queue(who: str) -> set[int]:
    if who == "anonymous":
        return {401}
    return {200} if who in APPEAL_READERS else {403}


def appeal_case(who: str) -> set[int]:
    # A case outside the caller's scope answers 404 like a missing one: existence is not revealed.
    return {401} if who == "anonymous" else {404}


def appeal_step(who: str) -> set[int]:
    # POST only; the service decides by role at the case's unit (appeals/tests check each step).
    return {401} if who == "anonymous" else {403, 404, 409, 422}


def admin_site(who: str) -> set[int]:
    return {200} if who == "admin" else {302}


# URL name → (path to GET, expected statuses for a persona). "{seq}" is filled with a real entry.
PAGES: dict[str, tuple[str, Expect]] = {
    "healthz": ("/healthz", public()),
    "set_language": ("/i18n/setlang/", public(302)),  # GET only redirects back; it changes nothing
    "portal:home": ("/", public()),
    "portal:track": ("/track/", public()),
    "accounts:login": ("/accounts/login/", public()),
    "accounts:login_code": ("/accounts/login/code/", public(302)),  # no pending sign-in → back
    "accounts:logout": ("/accounts/logout/", public(405)),  # POST only
    "accounts:citizen": ("/accounts/citizen/", public()),
    "accounts:totp": ("/accounts/2fa/", staff_page),
    "accounts:tokens": ("/accounts/tokens/", staff_page),
    "accounts:token_revoke": (
        "/accounts/tokens/nosuch/revoke/",
        lambda w: {302} if w == "anonymous" else ({405} if w in STAFF else {403}),
    ),
    "workbench:home": ("/workbench/", staff_page),
    "audit:trail": ("/workbench/audit/", auditor_page),
    "audit:entry": ("/workbench/audit/entries/{seq}/", auditor_page),
    "audit:verify": ("/workbench/audit/verify/", auditor_page),
    "audit:access_log": ("/workbench/audit/access/", auditor_page),
    "admin:index": ("/admin/", admin_site),
}

# API operation (URL name in the "api" namespace) → (path to GET or None for POST-only, expect).
API: dict[str, tuple[str | None, Expect]] = {
    "api:openapi-json": ("/api/openapi.json", public()),
    "api:openapi-view": ("/api/docs", public()),
    "api:api-root": (None, public()),
    "api:health": ("/api/system/health", public()),
    "api:version": ("/api/system/version", public()),
    "api:unit_tree": ("/api/org/units", public()),
    "api:category_tree": ("/api/org/categories", public()),
    "api:deadline": (
        "/api/org/calendar/deadline?start=2025-09-30T10:00:00%2B08:00&amount=3&unit=days",
        public(),
    ),
    "api:my_roles": ("/api/org/me/roles", signed_in_api),
    "api:me": ("/api/auth/me", signed_in_api),
    "api:otp_request": (None, public()),
    "api:otp_verify": (None, public()),
    "api:entries": ("/api/audit/entries", auditor_api),
    "api:verify": ("/api/audit/verify", auditor_api),
    "api:appeal_submit": (None, public(201)),  # anonymous allowed; POST only
    "api:appeal_queue": ("/api/appeals/", appeal_queue),
    "api:appeal_detail": ("/api/appeals/999999", appeal_case),
    "api:appeal_track": ("/api/appeals/track/MS-2025-999999?secret=NOSUCHCODE", public(404)),
    "api:appeal_rate": (None, public(200)),  # with the secret or as the owner
    "api:appeal_withdraw": (None, public(200)),  # with the secret or as the owner
    **{
        f"api:appeal_{step}": (None, appeal_step)
        for step in (
            "register",
            "reject",
            "dispatch",
            "sign",
            "return",
            "handle",
            "reply",
            "callback",
            "close",
            "merge",
            "request_extension",
            "approve_extension",
            "suspend",
            "resume",
        )
    },
}


def _more_policies() -> None:
    """Merge the policies of ``tests/policies/*.py``: one module per area, each with optional
    ``PAGES`` and ``API`` dicts in the forms above, so areas built side by side do not all edit
    this file. A name declared twice is an error."""
    import importlib
    import pkgutil

    import tests.policies as package

    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for ours, theirs in (
            (PAGES, getattr(module, "PAGES", {})),
            (API, getattr(module, "API", {})),
        ):
            twice = set(ours) & set(theirs)
            assert not twice, f"{info.name} declares a policy twice: {sorted(twice)}"
            ours.update(theirs)


_more_policies()


def _url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list[Any], namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = pattern.namespace
                full = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
                walk(pattern.url_patterns, full)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns, None)
    return names


def test_every_url_and_api_operation_has_a_declared_policy() -> None:
    declared = set(PAGES) | set(API)
    # The Django admin guards its own views (staff + model permissions); its index and every
    # model's changelist are checked below.
    undeclared = sorted(n for n in _url_names() - declared if not n.startswith("admin:"))
    assert not undeclared, f"declare who may see these in tests/test_role_matrix.py: {undeclared}"


@pytest.fixture
def people(request: pytest.FixtureRequest, db: Any) -> dict[str, Client]:
    clients = {"anonymous": Client()}
    for name in PERSONAS[1:]:
        client = Client()
        client.force_login(request.getfixturevalue(name))
        clients[name] = client
    return clients


@pytest.fixture
def an_audit_entry(admin: Any) -> int:
    from audit.models import AuditEntry

    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None, "creating the personas writes audit entries"
    return int(entry.seq)


@pytest.mark.django_db
def test_every_page_answers_each_persona_as_its_policy_says(
    people: dict[str, Client], an_audit_entry: int
) -> None:
    wrong = []
    for name, (path, expect) in PAGES.items():
        url = path.format(seq=an_audit_entry)
        for who, client in people.items():
            status = client.get(url).status_code
            if status not in expect(who):
                wrong.append(f"{name} {url} as {who}: {status}, expected {sorted(expect(who))}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db
def test_every_api_operation_answers_each_persona_as_its_policy_says(
    people: dict[str, Client],
) -> None:
    wrong = []
    for name, (path, expect) in API.items():
        if path is None:
            continue
        for who, client in people.items():
            status = client.get(path).status_code
            if status not in expect(who):
                wrong.append(f"{name} {path} as {who}: {status}, expected {sorted(expect(who))}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db
def test_every_admin_changelist_is_for_the_admin_only(people: dict[str, Client]) -> None:
    wrong = []
    for model in django_admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for who, client in people.items():
            status = client.get(url).status_code
            if status not in admin_site(who):
                wrong.append(f"{url} as {who}: {status}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.django_db
def test_a_forbidden_api_answer_is_json_with_a_stable_code(people: dict[str, Client]) -> None:
    body = people["handler"].get("/api/audit/entries").json()
    assert body["code"] == "forbidden"
    assert body["message"]
    anonymous = people["anonymous"].get("/api/auth/me").json()
    assert anonymous["code"] == "unauthorized"
