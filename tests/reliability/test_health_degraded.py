"""/healthz says when the cache has fallen back to local memory: still 200, but "degraded"."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client, override_settings


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


REDIS_DOWN = {
    "default": {
        "BACKEND": "minsheng.cache.ResilientRedisCache",
        "LOCATION": f"redis://127.0.0.1:{_closed_port()}/15",
        "OPTIONS": {"socket_connect_timeout": 0.5},
    }
}


@pytest.mark.django_db
def test_healthz_answers_200_degraded_naming_the_cache_while_redis_is_away() -> None:
    with override_settings(CACHES=REDIS_DOWN):
        response = Client().get("/healthz")
        api = Client().get("/api/system/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and body["degraded"] == ["cache"]
    cache = body["checks"]["cache"]
    assert cache["ok"] is True
    assert "ResilientRedisCache" in cache["detail"] and "local memory" in cache["detail"]
    assert api.status_code == 200
    assert (api.json()["status"], api.json()["degraded"]) == ("degraded", ["cache"])


@pytest.mark.django_db
def test_healthz_is_ok_with_nothing_degraded_when_the_cache_answers() -> None:
    body = Client().get("/healthz").json()
    assert (body["status"], body["degraded"]) == ("ok", [])
    assert "local memory" not in body["checks"]["cache"]["detail"]


@pytest.mark.django_db
def test_the_healthcheck_command_passes_while_only_degraded(capsys: Any) -> None:
    with override_settings(CACHES=REDIS_DOWN):
        call_command("healthcheck")
    assert '"status": "degraded"' in capsys.readouterr().out
