"""Rate limits answer 429 with Retry-After over HTTP: appeal intake through the API and votes.

The appeals tracking page refuses an address after too many wrong secrets. The other limits
have their HTTP tests beside their code (docs/security.md lists them all):
staff sign-in per address (accounts/tests/test_staff_login.py), sign-in codes per phone and
address (accounts/tests/test_citizen_otp.py), the web intake form per browser and per address
(appeals/tests/test_portal_pages.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from appeals.models import Appeal
from exemplars.tests.conftest import new_campaign, to_voting

pytestmark = pytest.mark.django_db

APPEAL = {
    "text": "小区门口人行道被占道经营的摊位堵死，老人只能走机动车道。",
    "category": "test-street-vending",
    "address": "东华路 8 号",
}


def post_json(client: Client, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(path, body, content_type="application/json", headers=headers)


def test_one_address_submitting_too_many_appeals_through_the_api_gets_429(
    category_tree: Any, settings: Any
) -> None:
    settings.APPEAL_API_SUBMITS_PER_IP_PER_HOUR = 3
    for _ in range(3):
        assert post_json(Client(), "/api/appeals/", APPEAL).status_code == 201
    refused = post_json(Client(), "/api/appeals/", APPEAL)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    body = refused.json()
    assert body["code"] == "rate_limited" and "12345" in body["message"]
    assert Appeal.objects.count() == 3
    # Another address is not held back.
    other = Client(REMOTE_ADDR="198.51.100.20")
    assert post_json(other, "/api/appeals/", APPEAL).status_code == 201


def test_a_hotline_agent_with_an_api_token_is_not_counted(
    category_tree: Any, dispatcher: Any, settings: Any
) -> None:
    from accounts import services

    settings.APPEAL_API_SUBMITS_PER_IP_PER_HOUR = 1
    _token, secret = services.create_token(dispatcher, "hotline", days=1)
    for _ in range(3):
        response = post_json(Client(), "/api/appeals/", APPEAL, Authorization=f"Bearer {secret}")
        assert response.status_code == 201, response.content


def test_votes_from_one_address_beyond_the_limit_get_429_with_retry_after(
    organiser: Any, citizen: Any
) -> None:
    from tests.personas import make_user

    campaign = new_campaign(organiser, picks_per_category=5)
    campaign.ip_per_minute = 2
    campaign.save(update_fields=["ip_per_minute"])
    [candidate] = to_voting(organiser, campaign, [("李好人", 0)], citizen)
    answers = []
    # The window is a calendar minute: should it turn during the test, the count starts again,
    # so a few more voters are allowed before the refusal must come.
    for n in range(5):
        voter = make_user(f"ratevoter{n}", f"投票人{n}", kind="citizen", phone=f"1350001{n:04d}")
        client = Client()
        client.force_login(voter)
        path = f"/api/exemplars/campaigns/{campaign.pk}/votes"
        answers.append(post_json(client, path, {"candidate": candidate.pk}))
        if answers[-1].status_code != 201:
            break
    assert [a.status_code for a in answers[:2]] == [201, 201]
    refused = answers[-1]
    assert refused.status_code == 429, refused.content
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["code"] == "rate_limited"


def test_guessing_an_appeals_tracking_secret_on_the_page_gets_429_after_the_budget(
    category_tree: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from appeals import views_portal

    monkeypatch.setattr(views_portal, "LOOKUP_FAILURES_PER_IP_PER_HOUR", 3)
    created = post_json(Client(), "/api/appeals/", APPEAL).json()
    guesser = Client(REMOTE_ADDR="203.0.113.30")
    for n in range(3):
        wrong = guesser.post("/appeals/track/", {"code": created["code"], "secret": f"X{n:07d}"})
        assert wrong.status_code == 404
    refused = guesser.post(
        "/appeals/track/", {"code": created["code"], "secret": created["secret"]}
    )
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    # The owner at another address still gets in.
    owner = Client(REMOTE_ADDR="198.51.100.31")
    found = owner.post("/appeals/track/", {"code": created["code"], "secret": created["secret"]})
    assert found.status_code == 302
