import pytest
from django.test import Client


@pytest.mark.django_db
def test_healthz_reports_database_cache_and_broker(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert set(body["checks"]) == {"database", "cache", "broker"}
    assert body["status"] == "ok"
