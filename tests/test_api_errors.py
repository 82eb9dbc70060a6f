"""Bad input anywhere in the API gets a 4xx JSON body a person can act on, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

OTP = "/api/auth/otp/request"


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


@pytest.mark.django_db
def test_malformed_json_is_a_400_that_says_the_body_is_not_json(client: Client) -> None:
    response = client.post(OTP, data="{phone: 138", content_type="application/json")
    body = _error(response, 400, "malformed_body")
    assert "JSON" in body["message"]


@pytest.mark.django_db
def test_a_wrong_type_is_a_422_naming_the_field(client: Client) -> None:
    response = client.post(OTP, data={"phone": ["13800138000"]}, content_type="application/json")
    body = _error(response, 422, "validation_error")
    assert body["detail"][0]["field"] == "phone"
    assert "phone" in body["message"]


@pytest.mark.django_db
def test_a_missing_field_is_a_422_that_says_it_is_required(client: Client) -> None:
    body = _error(
        client.post(OTP, data={}, content_type="application/json"), 422, "validation_error"
    )
    assert any(d["field"] == "phone" and d["message"] == "必填" for d in body["detail"])


@pytest.mark.django_db
def test_the_message_follows_the_callers_language(client: Client) -> None:
    response = client.post(
        OTP, data={}, content_type="application/json", headers={"Accept-Language": "en"}
    )
    body = _error(response, 422, "validation_error")
    assert "required" in body["message"].lower()


@pytest.mark.django_db
@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_an_oversized_body_is_a_413_and_nothing_is_written(client: Client) -> None:
    from accounts.models import PhoneCode

    before = PhoneCode.objects.count()
    big = '{"phone": "13800138000", "pad": "' + "x" * 4096 + '"}'
    _error(client.post(OTP, data=big, content_type="application/json"), 413, "payload_too_large")
    assert PhoneCode.objects.count() == before


@pytest.mark.django_db
def test_an_unknown_api_path_is_a_json_404_pointing_at_the_docs(client: Client) -> None:
    body = _error(client.get("/api/no/such/thing"), 404, "not_found")
    assert "/api/docs" in body["message"]


@pytest.mark.django_db
def test_an_unknown_page_is_a_friendly_html_404(client: Client) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_query_parameter_of_the_wrong_type_is_a_422(client: Client) -> None:
    response = client.get("/api/org/calendar/deadline?start=yesterday&amount=many&unit=days")
    body = _error(response, 422, "validation_error")
    fields = {d["field"] for d in body["detail"]}
    assert {"start", "amount"} <= fields


@pytest.mark.django_db
def test_a_wrong_method_is_a_405_not_a_500(client: Client) -> None:
    assert client.get(OTP).status_code == 405


@pytest.mark.django_db
def test_a_null_character_in_an_appeal_is_never_a_500_and_nothing_half_stored(
    client: Client, org_tree: Any
) -> None:
    from appeals.models import Appeal
    from audit.models import AuditEntry

    entries = AuditEntry.objects.count()
    response = client.post(
        "/api/appeals/",
        data={"title": "路灯不亮\x00", "text": "小区门口路灯坏了一周。"},
        content_type="application/json",
    )
    if response.status_code == 201:  # SQLite stores the character as sent
        assert Appeal.objects.get().title == "路灯不亮\x00"
    else:  # PostgreSQL cannot: the sender is told which character to remove
        body = _error(response, 422, "null_character")
        assert "U+0000" in body["message"]
        assert not Appeal.objects.exists()
        assert AuditEntry.objects.count() == entries
