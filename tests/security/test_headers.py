"""Security headers and the content security policy on every response.

Every page and API operation of the role matrix (as an anonymous visitor and as the admin), plus
the answers given before the views run: a static file, a 404, a redirect to sign-in, a CSRF
failure and the second-factor hold.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.test_role_matrix import API, PAGES

pytestmark = pytest.mark.django_db

REQUIRED = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def problems(response: Any, where: str) -> list[str]:
    found = []
    for header, value in REQUIRED.items():
        if response.get(header) != value:
            found.append(f"{where}: {header}={response.get(header)!r}")
    csp = response.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    if directives.get("frame-ancestors") != ["'none'"]:
        found.append(f"{where}: CSP frame-ancestors missing in {csp!r}")
    if directives.get("script-src") != ["'self'"]:
        found.append(f"{where}: CSP script-src is not 'self' only in {csp!r}")
    if directives.get("object-src") != ["'none'"]:
        found.append(f"{where}: CSP object-src missing in {csp!r}")
    if "camera=()" not in response.get("Permissions-Policy", ""):
        found.append(f"{where}: Permissions-Policy={response.get('Permissions-Policy')!r}")
    return found


def paths() -> list[str]:
    found = [path for path, _expect in PAGES.values()]
    found += [path for path, _expect in API.values() if path is not None]
    return sorted({p for p in found if "{" not in p})


def test_every_page_and_api_answer_carries_the_security_headers(admin: Any) -> None:
    signed_in = Client()
    signed_in.force_login(admin)
    wrong: list[str] = []
    for path in paths():
        for who, client in (("anonymous", Client()), ("admin", signed_in)):
            wrong += problems(client.get(path), f"{path} as {who}")
    assert not wrong, "\n".join(wrong)


def test_answers_given_before_any_view_carry_them_too(admin: Any) -> None:
    from accounts.models import User

    held = Client()
    User.objects.filter(pk=admin.pk).update(totp_enabled=False)
    held.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    answers = {
        "static file": Client().get("/static/minsheng/site.css"),
        "missing page": Client().get("/no-such-page/"),
        "missing API path": Client().get("/api/no-such-thing"),
        "sign-in redirect": Client().get("/workbench/"),
        "CSRF failure": Client(enforce_csrf_checks=True).post("/accounts/login/", {}),
        "second-factor hold": held.get("/workbench/"),
        "second-factor hold (API)": held.get("/api/auth/me"),
    }
    assert answers["static file"].status_code == 200
    assert answers["CSRF failure"].status_code == 403
    assert answers["second-factor hold"].status_code == 302
    wrong = [p for name, response in answers.items() for p in problems(response, name)]
    assert not wrong, "\n".join(wrong)


def test_the_api_docs_page_alone_allows_inline_styles() -> None:
    docs = Client().get("/api/docs")["Content-Security-Policy"]
    page = Client().get("/")["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in docs
    assert "unsafe-inline" not in page and "unsafe-eval" not in page
