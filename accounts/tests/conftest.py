from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from accounts.sms import FileBackend


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Rate-limit counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def outbox(settings: Any, tmp_path: Path) -> FileBackend:
    """Messages go to a JSONL file in this test's own folder, where the test reads the code."""
    settings.SMS_BACKEND = "accounts.sms.FileBackend"
    settings.SMS_OUTBOX_DIR = tmp_path / "sms"
    return FileBackend(tmp_path / "sms")


def last_code(outbox: FileBackend, phone: str) -> str:
    import re

    messages = [m for m in outbox.messages() if m["phone"] == phone]
    assert messages, f"no SMS was sent to {phone}"
    match = re.search(r"(?<![0-9])([0-9]{6})(?![0-9])", messages[-1]["message"])
    assert match, messages[-1]["message"]
    return match.group(1)


def pass_the_resend_cooldown() -> None:
    """Move every code's send time back past the cooldown, as if a minute had gone by."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import PhoneCode

    PhoneCode.objects.update(created_at=timezone.now() - timedelta(seconds=61))
    cache.delete_many([k for k in _cooldown_keys()])


def _cooldown_keys() -> list[str]:
    from accounts.models import PhoneCode

    return [
        f"accounts:otp-send:{h}" for h in PhoneCode.objects.values_list("phone_hash", flat=True)
    ]
