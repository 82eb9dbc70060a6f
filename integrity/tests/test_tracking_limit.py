"""Tracking look-ups are limited per address: a whistle-blower's code and secret cannot be guessed.

Only failed look-ups count; once an address has failed ``FAILURES_PER_IP_PER_HOUR`` times this
hour, every look-up from it (the page and the API alike) answers 429 with Retry-After, even with
the right secret, while another address and the reporter's right answers before it are untouched.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from integrity import limits
from integrity.models import Report

pytestmark = pytest.mark.django_db

LIMIT = 3


@pytest.fixture(autouse=True)
def _small_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "FAILURES_PER_IP_PER_HOUR", LIMIT)


def _api(client: Client, code: str, secret: str) -> Any:
    return client.post(
        "/api/integrity/track", {"code": code, "secret": secret}, content_type="application/json"
    )


def test_guessing_secrets_over_the_api_is_stopped_with_429_and_retry_after(
    report: tuple[Report, str],
) -> None:
    found, secret = report
    guesser = Client(REMOTE_ADDR="203.0.113.7")
    # The reporter's right answers are never counted.
    for _ in range(LIMIT + 2):
        assert _api(guesser, found.code, secret).status_code == 200
    for n in range(LIMIT):
        assert _api(guesser, found.code, f"WRONG{n:04d}").status_code == 404
    refused = _api(guesser, found.code, secret)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    body = refused.json()
    assert body["code"] == "rate_limited" and "分钟后再试" in body["message"]
    # Another address is not held back.
    assert _api(Client(REMOTE_ADDR="198.51.100.20"), found.code, secret).status_code == 200


def test_guessing_on_the_page_is_stopped_too_and_the_budget_is_shared_with_the_api(
    report: tuple[Report, str],
) -> None:
    found, secret = report
    guesser = Client(REMOTE_ADDR="203.0.113.8")
    assert _api(guesser, "JB-NOSUCH01", "WRONG").status_code == 404
    for n in range(LIMIT - 1):
        page = guesser.post("/integrity/track/", {"code": found.code, "secret": f"BAD{n}"})
        assert page.status_code == 404
    refused = guesser.post("/integrity/track/", {"code": found.code, "secret": secret})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    html = refused.content.decode()
    assert "查询失败次数太多" in html and 'id="integrity-status"' not in html
    assert _api(guesser, found.code, secret).status_code == 429
