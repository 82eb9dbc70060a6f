"""The partner push API: token auth, validation with field names, idempotency by id."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, clear_url_caches, reverse

from accounts.services import create_token
from sources.models import FetchLog, Kind, RawItem, Source
from tests.personas import make_user

PUSH = "/api/opinion/push"


@pytest.fixture(autouse=True)
def _push_mounted(settings: Any) -> None:
    try:
        reverse("api:opinion_push")
    except NoReverseMatch:
        settings.ROOT_URLCONF = "sources.tests.urls"
        clear_url_caches()


@pytest.fixture
def partner(db: Any) -> Any:
    return make_user("partner-bot", "合作方接口")


@pytest.fixture
def feed_source(partner: Any) -> Source:
    return Source.objects.create(name="partner", kind=Kind.PUSH, partner=partner)


def _client(user: Any) -> Client:
    _token, raw = create_token(user, "push")
    return Client(headers={"Authorization": f"Bearer {raw}"})


def _items() -> list[dict[str, Any]]:
    return [
        {
            "id": "p1",
            "time": "2024-05-01T08:00:00+08:00",
            "text": "东华路积水严重，车辆无法通行",
            "reach": 120,
        },
        {
            "id": "p2",
            "time": "2024-05-01 08:05:00",
            "text": "",
            "parent_id": "p1",
            "author": "网友A",
        },
    ]


def test_a_partner_pushes_items_and_a_resend_changes_nothing(
    feed_source: Source, partner: Any
) -> None:
    client = _client(partner)
    first = client.post(PUSH, _items(), content_type="application/json")
    assert first.status_code == 200, first.content
    assert first.json() == {
        "source": "partner",
        "received": 2,
        "new": 2,
        "duplicates": 0,
        "ingested": 2,
    }
    again = client.post(PUSH, _items(), content_type="application/json")
    assert again.json()["new"] == 0 and again.json()["duplicates"] == 2
    rows = {r.item_id: r.payload for r in RawItem.objects.filter(source=feed_source)}
    assert set(rows) == {"partner:p1", "partner:p2"}
    assert rows["partner:p2"]["parent_id"] == "partner:p1"
    assert rows["partner:p2"]["time"] == "2024-05-01T08:05:00+08:00"  # no zone: Beijing time
    assert FetchLog.objects.filter(source=feed_source, trigger="push").count() == 2


def test_pushed_items_reach_the_opinion_pipeline(feed_source: Source, partner: Any) -> None:
    from opinion.models import Item

    items = _items()
    items[1]["text"] = "转发：东华路积水还没退"
    _client(partner).post(PUSH, items, content_type="application/json")
    assert RawItem.objects.pending().count() == 0
    assert Item.objects.filter(source="partner").count() == 2


def test_a_bad_item_is_refused_with_the_field_named(feed_source: Source, partner: Any) -> None:
    items = _items()
    items[1]["time"] = "yesterday"
    items.append({"id": "p3", "time": "2024-05-01T09:00:00+08:00", "text": ""})
    response = _client(partner).post(PUSH, items, content_type="application/json")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    fields = {d["field"] for d in body["detail"]}
    assert "1.time" in fields and any(f.startswith("2") for f in fields)
    assert not RawItem.objects.exists()


def test_a_body_that_is_not_a_list_is_refused(feed_source: Source, partner: Any) -> None:
    response = _client(partner).post(PUSH, {"id": "x"}, content_type="application/json")
    assert response.status_code == 422


def test_too_many_items_in_one_push_are_refused(feed_source: Source, partner: Any) -> None:
    items = [
        {"id": f"p{n}", "time": "2024-05-01T08:00:00+08:00", "text": "多"} for n in range(1001)
    ]
    response = _client(partner).post(PUSH, items, content_type="application/json")
    assert response.status_code == 413 and response.json()["code"] == "push_too_many"


def test_a_token_of_an_account_that_is_not_the_partner_cannot_push(
    feed_source: Source, analyst: Any
) -> None:
    response = _client(analyst).post(PUSH, _items(), content_type="application/json")
    assert response.status_code == 403 and response.json()["code"] == "push_not_allowed"


def test_naming_another_partners_source_is_forbidden(
    feed_source: Source, partner: Any, admin: Any
) -> None:
    Source.objects.create(name="other", kind=Kind.PUSH, partner=admin)
    response = _client(partner).post(
        f"{PUSH}?source=other", _items(), content_type="application/json"
    )
    assert response.status_code == 403


def test_a_disabled_source_refuses_pushes(feed_source: Source, partner: Any) -> None:
    Source.objects.filter(pk=feed_source.pk).update(enabled=False)
    response = _client(partner).post(PUSH, _items(), content_type="application/json")
    assert response.status_code == 409 and response.json()["code"] == "source_disabled"


def test_push_without_a_token_is_refused(feed_source: Source, partner: Any) -> None:
    response = Client().post(PUSH, _items(), content_type="application/json")
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"


def test_a_signed_in_session_cannot_push(
    feed_source: Source, partner: Any, client_for: Any
) -> None:
    response = client_for(partner).post(PUSH, _items(), content_type="application/json")
    assert response.status_code == 401
