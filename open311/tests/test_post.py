"""POST requests.{fmt}: a 311 app posts a service request with its api_key; it becomes an appeal."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from appeals import services as appeal_services
from appeals.models import Appeal, AppealEvent, Channel, State
from audit.models import AuditEntry
from open311 import services
from open311.models import Open311Client, Open311Request
from open311.tests.conftest import BASE, PHONE, secret_in, xml

pytestmark = pytest.mark.django_db
Post = Callable[..., Any]


def test_a_post_with_the_key_takes_an_appeal_in_through_the_intake(
    post: Post, app_client: Open311Client
) -> None:
    response = post()
    assert response.status_code == 201
    [answer] = response.json()
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    assert "token" not in answer  # realtime service: an id, never a token (the spec's rule)
    assert answer["account_id"] == "acct-7"
    appeal = Appeal.objects.get(code=answer["service_request_id"])
    assert appeal.code.startswith("MS-") and appeal.state == State.RECEIVED
    assert appeal.channel == Channel.OPEN311
    assert appeal.category is not None and appeal.category.code == "test-street-vending"
    assert appeal.contact_name == "王建国"
    assert str(appeal.contact_phone) == PHONE
    assert appeal.address == "东华路 12 号菜市场门口"
    assert float(appeal.lat or 0) == pytest.approx(39.9152)
    assert appeal.intake_unit is not None and appeal.intake_unit.code == "test-12345"
    extra = Open311Request.objects.get(appeal=appeal)
    assert extra.client == app_client
    assert extra.media_url == "https://img.example.com/p/42.jpg"
    assert extra.email == "wangjianguo@example.com"
    assert (extra.device_id, extra.account_id) == ("device-42", "acct-7")


def test_the_service_notice_carries_the_tracking_secret_that_opens_the_appeal(
    post: Post,
) -> None:
    answer = post().json()[0]
    appeal = Appeal.objects.get(code=answer["service_request_id"])
    secret = secret_in(answer["service_notice"])
    assert appeal_services.secret_matches(appeal, secret)
    assert "http://testserver/track/" in answer["service_notice"]
    # The citizen tracks it like any other appeal.
    tracked = Client().get(f"/api/appeals/track/{appeal.code}?secret={secret}")
    assert tracked.status_code == 200


def test_the_intake_is_audited_and_names_the_client(post: Post) -> None:
    code = post().json()[0]["service_request_id"]
    appeal = Appeal.objects.get(code=code)
    actions = list(
        AuditEntry.objects.filter(object_id=str(appeal.pk)).values_list("action", flat=True)
    )
    assert "appeals.submit" in actions and "open311.submit" in actions
    entry = AuditEntry.objects.get(action="open311.submit", object_id=str(appeal.pk))
    assert "街道随手拍 App" in json.dumps(entry.after, ensure_ascii=False)
    event = AppealEvent.objects.get(appeal=appeal, action="submit")
    assert event.data["open311_client"] == "街道随手拍 App"
    assert event.data["media_url"] == "https://img.example.com/p/42.jpg"


def test_a_post_answers_in_xml_with_a_service_requests_root(post: Post) -> None:
    response = post("xml")
    assert response.status_code == 201
    root = xml(response)
    assert root.tag == "service_requests"
    [request] = root.findall("request")
    assert [child.tag for child in request] == [
        "service_request_id",
        "service_notice",
        "account_id",
    ]
    assert Appeal.objects.filter(code=request.findtext("service_request_id")).exists()


def test_a_multipart_post_is_accepted_too(post_multipart: Post) -> None:
    response = post_multipart("json")
    assert response.status_code == 201
    assert Appeal.objects.filter(code=response.json()[0]["service_request_id"]).exists()


def test_a_post_needs_no_csrf_token_the_api_key_stands_for_it(post: Post) -> None:
    response = post("json", client=Client(enforce_csrf_checks=True))
    assert response.status_code == 201


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("key", [None, "", "wrong-key-wrong-key"])
def test_a_post_without_a_valid_key_is_403_and_takes_nothing_in(
    post: Post, fmt: str, key: str | None
) -> None:
    response = post(fmt, api_key=key)
    assert response.status_code == 403
    if fmt == "json":
        [error] = response.json()
        code, description = error["code"], error["description"]
    else:
        root = xml(response)
        assert root.tag == "errors"
        code, description = (
            int(root.findtext("error/code") or 0),
            root.findtext("error/description"),
        )
    assert code == 403 and "api_key" in str(description)
    assert not Appeal.objects.exists()


def test_a_revoked_key_is_refused(post: Post, app_client: Open311Client) -> None:
    assert services.do_revoke_client(app_client)
    assert post().status_code == 403
    assert not services.do_revoke_client(app_client)  # already revoked


def test_a_key_issued_for_another_jurisdiction_is_refused(post: Post) -> None:
    services.do_create_client("外市客户端", key="other-city-key-0001", jurisdiction="other.gov")
    response = post(api_key="other-city-key-0001")
    assert response.status_code == 403
    assert "other.gov" in response.json()[0]["description"]


def test_a_post_without_any_location_is_400_naming_the_three_ways(post: Post) -> None:
    response = post(lat=None, long=None, address_string=None)
    assert response.status_code == 400
    [error] = response.json()
    assert error["code"] == 400
    for name in ("lat", "long", "address_string", "address_id"):
        assert name in error["description"]
    assert not Appeal.objects.exists()


def test_an_address_id_alone_is_a_location(post: Post) -> None:
    response = post(lat=None, long=None, address_string=None, address_id="ADDR-1001")
    assert response.status_code == 201
    appeal = Appeal.objects.get(code=response.json()[0]["service_request_id"])
    assert "ADDR-1001" in appeal.address
    assert Open311Request.objects.get(appeal=appeal).address_id == "ADDR-1001"


def test_a_point_alone_is_a_location(post: Post) -> None:
    assert post(address_string=None).status_code == 201


def test_lat_without_long_is_400(post: Post) -> None:
    response = post(long=None)
    assert response.status_code == 400
    assert "lat" in response.json()[0]["description"]


def test_an_unknown_service_is_404_and_a_missing_one_400(post: Post) -> None:
    unknown = post(service_code="potholes")
    assert unknown.status_code == 404
    assert "potholes" in unknown.json()[0]["description"]
    missing = post(service_code=None)
    assert missing.status_code == 400
    assert "service_code" in missing.json()[0]["description"]


def test_every_bad_field_is_listed_in_one_400(post: Post) -> None:
    response = post(
        phone="12345",
        email="not-an-address",
        description="",
        lat="north",
        media_url="javascript:alert(1)",
    )
    assert response.status_code == 400
    descriptions = " ".join(e["description"] for e in response.json())
    for name in ("phone", "email", "description", "lat", "media_url"):
        assert name in descriptions
    assert all(e["code"] == 400 for e in response.json())
    assert not Appeal.objects.exists()


def test_a_mobile_number_in_any_common_spelling_is_accepted(post: Post) -> None:
    response = post(phone="+86 139-1234-5678")
    assert response.status_code == 201
    appeal = Appeal.objects.get(code=response.json()[0]["service_request_id"])
    assert str(appeal.contact_phone) == PHONE


def test_a_description_over_5000_characters_is_400(post: Post) -> None:
    response = post(description="占" * 5001)
    assert response.status_code == 400
    assert "description" in response.json()[0]["description"]
    assert post(description="占" * 5000).status_code == 201


def test_coordinates_out_of_range_are_400(post: Post) -> None:
    response = post(lat="91", long="200")
    assert response.status_code == 400
    assert len(response.json()) == 2


def test_the_configured_jurisdiction_is_accepted_and_another_is_404(post: Post) -> None:
    assert post(jurisdiction_id="test-city").status_code == 201
    response = post("xml", jurisdiction_id="sfgov.org")
    assert response.status_code == 404
    assert "sfgov.org" in (xml(response).findtext("error/description") or "")


def test_a_json_body_is_refused_with_a_clear_400(app_client: Open311Client) -> None:
    response = Client().post(
        f"{BASE}/requests.json",
        data=json.dumps({"api_key": "x"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "application/x-www-form-urlencoded" in response.json()[0]["description"]


def test_attributes_are_kept_as_posted(post: Post) -> None:
    response = post(**{"attribute[WHISPAWN]": "123456", "attribute[COLOR][]": ["red", "blue"]})
    assert response.status_code == 201
    extra = Open311Request.objects.get(appeal__code=response.json()[0]["service_request_id"])
    assert extra.attributes == {"WHISPAWN": ["123456"], "COLOR": ["red", "blue"]}


def test_an_address_guessing_keys_is_stopped_with_429(post: Post) -> None:
    for _ in range(services.BAD_KEYS_PER_WINDOW):
        assert post(api_key="guess-guess-guess").status_code == 403
    response = post()  # even the right key waits: the address is cooling down
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()[0]["code"] == 429


def test_a_client_over_its_budget_gets_429(post: Post, settings: Any) -> None:
    settings.OPEN311_POSTS_PER_MINUTE = 2
    assert post().status_code == 201
    assert post().status_code == 201
    response = post("xml")
    assert response.status_code == 429
    assert xml(response).findtext("error/code") == "429"
    assert Appeal.objects.count() == 2


def test_the_key_is_stored_only_as_a_keyed_hash(app_client: Open311Client) -> None:
    from open311.tests.conftest import KEY

    stored = Open311Client.objects.values_list("key_hash", flat=True).get(pk=app_client.pk)
    assert KEY not in stored and len(stored) == 64
    assert services.authenticate(KEY) == app_client
    assert services.authenticate(KEY.upper()) is None  # not folded like a blind index
