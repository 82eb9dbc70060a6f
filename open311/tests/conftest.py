"""Fixtures for Open311: a client with a known key, a poster, and appeals walked along the loop."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.test.client import MULTIPART_CONTENT

from open311 import services
from open311.models import Open311Client

KEY = "test-open311-key-0001"
BASE = "/open311/v2"
PHONE = "13912345678"


@pytest.fixture(autouse=True)
def _tasks_inline_and_fresh_budgets(settings: Any) -> Iterator[None]:
    """Run the citizen's notifications in the test's process, and give every test rate-limit
    windows of its own: they live in the cache (Redis in CI), shared by parallel workers and
    outliving a test's transaction, so clearing it would disturb other tests."""
    from minsheng.celery import app

    settings.OPEN311_CACHE_PREFIX = f"open311-test-{uuid.uuid4().hex}"
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def app_client(category_tree: Any) -> Open311Client:
    client, _key = services.do_create_client("街道随手拍 App", key=KEY)
    return client


def form(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "api_key": KEY,
        "service_code": "test-street-vending",
        "lat": "39.915200",
        "long": "116.403900",
        "address_string": "东华路 12 号菜市场门口",
        "description": "东华路菜市场门口流动摊贩占道经营，早高峰人行道被堵。",
        "first_name": "建国",
        "last_name": "王",
        "phone": PHONE,
        "email": "wangjianguo@example.com",
        "device_id": "device-42",
        "account_id": "acct-7",
        "media_url": "https://img.example.com/p/42.jpg",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


@pytest.fixture
def post(app_client: Open311Client) -> Callable[..., Any]:
    """POST requests.{fmt} form-encoded, like a 311 app does."""

    def send(fmt: str = "json", client: Client | None = None, **overrides: Any) -> Any:
        from urllib.parse import urlencode

        return (client or Client()).post(
            f"{BASE}/requests.{fmt}",
            data=urlencode(form(**overrides), doseq=True),
            content_type="application/x-www-form-urlencoded",
        )

    return send


@pytest.fixture
def post_multipart(app_client: Open311Client) -> Callable[..., Any]:
    def send(fmt: str = "json", **overrides: Any) -> Any:
        return Client().post(
            f"{BASE}/requests.{fmt}", data=form(**overrides), content_type=MULTIPART_CONTENT
        )

    return send


def xml(response: Any) -> ET.Element:
    assert response["Content-Type"].startswith("text/xml")
    body = response.content.decode("utf-8")
    assert body.startswith('<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)  # noqa: S314 - our own answer, read in a test


def secret_in(notice: str) -> str:
    found = re.search(r"查询码 ([A-Z0-9]{10})", notice)
    assert found, notice
    return found.group(1)
