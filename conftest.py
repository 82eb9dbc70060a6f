"""Shared test fixtures. Personas live in tests/personas.py (imported below)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
pytest_plugins = ["tests.personas"]


def shared_data_dir() -> Path:
    """../shared/data beside the checkout, or MINSHENG_SHARED_DATA."""
    return Path(os.environ.get("MINSHENG_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared data folder {path} is missing")
        pytest.skip(f"real data not available at {path} (set MINSHENG_SHARED_DATA)")
    return path


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> None:
    """Per-process caches must not carry rows from a test whose transaction was rolled back, and
    the shared cache (rate-limit counters, locks) starts empty for every test."""
    from django.core.cache import cache

    from appeals.services import _forget_intake_unit

    _forget_intake_unit()
    cache.clear()
