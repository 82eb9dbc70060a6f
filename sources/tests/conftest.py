"""Fixtures for the sources tests: a live local site, fast HTTP limits, real pages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from sources.tests.server import Site

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _fast_http(settings: Any) -> Iterator[None]:
    """Short limits so failure cases finish quickly; no per-host wait unless a test sets one."""
    settings.SOURCES_HTTP = {
        "timeout": 3.0,
        "retries": 2,
        "backoff": 0.05,
        "host_interval": 0.0,
        "max_host_wait": 5.0,
    }
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site().start()
    yield server
    server.stop()


@pytest.fixture
def pages(shared_data: Path) -> Path:
    """The real raw pages of ../shared/data/web_pages_noisy_zh (read in place, never copied)."""
    return shared_data / "web_pages_noisy_zh" / "html"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
