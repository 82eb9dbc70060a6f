"""The Redis cache that keeps serving when Redis is away: it falls back to local memory.

What the cache holds here is either a rebuildable copy (hot issues, suggestions) or a counter of
a rate limit (sign-in failures, SMS codes, votes, anonymous questionnaire answers, Open311
posts). When Redis cannot be reached, every call goes to a per-process local-memory cache
instead of raising, so intake and voting go on. For the rate limits this means they hold per
process rather than across the deployment while Redis is down: with N serving processes a
client could reach at most N times the limit for as long as the outage lasts. That is the
deliberate choice (docs/reliability.md): failing closed would turn a cache outage into a refusal
of every citizen, and failing open (no limit) would hand a flood its moment; the per-account
lockout of staff sign-in lives in the database and holds regardless.

After a failure Redis is not asked again for ``COOLDOWN`` seconds, so an outage costs one
connect timeout per process per cooldown, not one per call.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from minsheng.redisclient import ReusedClientRedisCacheClient

log = logging.getLogger("minsheng.cache")

COOLDOWN = 5.0
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError, OSError)
_FORWARDED = (
    "add",
    "get",
    "set",
    "touch",
    "delete",
    "get_many",
    "has_key",
    "incr",
    "set_many",
    "delete_many",
    "clear",
)


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        # One redis.Redis per connection pool instead of one per call (minsheng/redisclient.py).
        self._class = ReusedClientRedisCacheClient
        self._fallback = LocMemCache(f"minsheng-redis-fallback-{id(self)}", params)
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def degraded(self) -> bool:
        """True while calls go to local memory because Redis failed within the cooldown."""
        return time.monotonic() < self._down_until

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if not self.degraded:
            try:
                return getattr(super(), name)(*args, **kwargs)
            except _UNREACHABLE as exc:
                with self._lock:
                    first = not self.degraded
                    self._down_until = time.monotonic() + COOLDOWN
                if first:
                    log.warning(
                        "Redis cache unreachable (%s: %s): local memory for %.0f s",
                        type(exc).__name__,
                        exc,
                        COOLDOWN,
                        extra={"event": "cache_degraded"},
                    )
        return getattr(self._fallback, name)(*args, **kwargs)


def _forwarder(name: str) -> Any:
    def method(self: ResilientRedisCache, *args: Any, **kwargs: Any) -> Any:
        return self._call(name, *args, **kwargs)

    method.__name__ = name
    return method


for _name in _FORWARDED:
    setattr(ResilientRedisCache, _name, _forwarder(_name))
