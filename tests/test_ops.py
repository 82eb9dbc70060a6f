"""Operations: health, structured logs without personal data, deploy checks, settings docs."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from minsheng.logs import JsonFormatter, RedactPersonalData, redact

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_healthz_names_the_database_cache_and_broker(client: Client) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["detail"] in {"sqlite", "postgresql"}
    expected_broker = "inline" if not os.environ.get("REDIS_URL") else "redis"
    assert expected_broker in body["checks"]["broker"]["detail"]


@pytest.mark.django_db
def test_system_health_endpoint_matches_healthz(client: Client) -> None:
    response = client.get("/api/system/health")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "cache", "broker"}


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("来电人 13812345678 反映", "来电人 138****5678 反映"),
        ("身份证 110105199003071234 核实", "身份证 110105************ 核实"),
        ("身份证 11010519900307123X", "身份证 110105************"),
        ("编号 20260101123456789012 不是号码", "编号 20260101123456789012 不是号码"),
        ("座机 010-12345678 保留", "座机 010-12345678 保留"),
    ],
)
def test_redaction_masks_mobile_and_id_numbers_and_leaves_other_numbers(
    raw: str, masked: str
) -> None:
    assert redact(raw) == masked


def test_a_log_record_with_a_phone_number_is_written_masked_as_json() -> None:
    record = logging.LogRecord(
        "minsheng.test", logging.INFO, __file__, 1, "caller %s asked", ("13912345678",), None
    )
    assert RedactPersonalData().filter(record)
    line = JsonFormatter().format(record)
    payload = json.loads(line)
    assert "13912345678" not in line
    assert payload["message"] == "caller 139****5678 asked"
    assert {"time", "level", "logger", "request_id"} <= set(payload)


def test_an_exception_traceback_quoting_an_id_number_is_masked() -> None:
    try:
        raise ValueError("bad id 110105199003071234")
    except ValueError:
        record = logging.LogRecord(
            "minsheng.test", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    RedactPersonalData().filter(record)
    line = JsonFormatter().format(record)
    assert "110105199003071234" not in line
    assert "ValueError" in line


@pytest.mark.django_db
def test_requests_are_logged_without_their_query_string(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="minsheng.access"):
        client.get("/healthz?phone=13812345678")
    lines = [r.getMessage() for r in caplog.records if r.name == "minsheng.access"]
    assert lines == ["GET /healthz 200"]
    assert all("13812345678" not in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_every_response_carries_security_headers_and_a_request_id(client: Client) -> None:
    response = client.get("/healthz")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert re.fullmatch(r"[0-9a-f]{16}", response["X-Request-Id"])


def _production_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINSHENG_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests for Playwright
    env.update(
        MINSHENG_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="minsheng.example.gov.cn",
        MINSHENG_DATA_DIR=str(tmp_path),
        MINSHENG_VAULT_KEYS="dGVzdC12YXVsdC1rZXktMzItYnl0ZXMtbG9uZyEhISE=",
        MINSHENG_VAULT_INDEX_KEY="dGVzdC12YXVsdC1rZXktMzItYnl0ZXMtbG9uZyEhISE=",
        MINSHENG_SMS_BACKEND="accounts.sms.HttpGatewayBackend",
        MINSHENG_SMS_GATEWAY_URL="https://sms.example.gov.cn/send",
    )
    return env


def _minsheng(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "minsheng.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_under_production_settings(tmp_path: Path) -> None:
    result = _minsheng(["check", "--deploy", "--fail-level", "WARNING"], _production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = _production_env(tmp_path)
    del env["SECRET_KEY"]
    result = _minsheng(["check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_malformed_boolean_setting_fails_loudly_naming_the_variable(tmp_path: Path) -> None:
    env = _production_env(tmp_path)
    env["MINSHENG_DEBUG"] = "maybe"
    result = _minsheng(["check"], env)
    assert result.returncode != 0
    assert "MINSHENG_DEBUG" in result.stderr


def test_every_setting_read_from_the_environment_is_documented() -> None:
    docs = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    sources = [REPO / "minsheng" / "settings.py"]
    names: set[str] = set()
    for source in sources:
        text = source.read_text(encoding="utf-8")
        names |= set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z0-9_]+)"', text))
    assert names, "no settings found: the pattern no longer matches settings.py"
    missing = sorted(name for name in names if f"`{name}`" not in docs)
    assert not missing, f"document these in docs/settings.md: {missing}"


def test_check_deploy_refuses_a_console_sms_backend_in_production(tmp_path: Path) -> None:
    env = _production_env(tmp_path)
    env["MINSHENG_SMS_BACKEND"] = "accounts.sms.ConsoleAndFileBackend"
    result = _minsheng(["check", "--deploy"], env)
    assert result.returncode != 0
    assert "accounts.E001" in result.stderr
