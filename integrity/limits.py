"""A per-address budget of failed tracking look-ups: a whistle-blower's code cannot be guessed.

Counting failures only (as the appeals' tracking page does): a reporter who types their code and
secret right is never held back, a script trying secrets is stopped after a few dozen tries an
hour. The counter lives in the cache (``minsheng.counters``: one round trip; per process while
Redis is away, docs/reliability.md).
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _

from accounts.services import client_ip
from minsheng.counters import hit_counters, peek, window_key
from minsheng.errors import RateLimited

HOUR = 3600
FAILURES_PER_IP_PER_HOUR = 20


def _key(request: HttpRequest) -> tuple[str, int]:
    return window_key("integrity-track-ip", client_ip(request), HOUR)


def check_tracking_budget(request: HttpRequest) -> None:
    """Raise ``RateLimited`` (429, with the wait) once this address failed too often this hour."""
    key, remaining = _key(request)
    if peek(key) >= FAILURES_PER_IP_PER_HOUR:
        raise RateLimited(
            _("查询失败次数太多，请 %(m)d 分钟后再试。") % {"m": max(1, -(-remaining // 60))},
            retry_after=remaining,
        )


def spend_tracking_budget(request: HttpRequest) -> None:
    """Count one failed look-up from this address."""
    key, _remaining = _key(request)
    hit_counters([key], HOUR + 5)
