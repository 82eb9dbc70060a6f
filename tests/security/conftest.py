from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Rate-limit counters live in the cache; each test starts and ends with none."""
    cache.clear()
    yield
    cache.clear()
