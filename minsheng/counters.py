"""Counters in the cache for rate limits: one round trip however many counters a request bumps.

Django's cache API needs three Redis calls to bump one counter (``add``, then ``incr``, which
itself asks ``exists`` first); on the hot writes (votes, anonymous survey responses) those round
trips cost more CPU than the write. ``hit_counters`` increments every key with one Lua script
and falls back to the cache API while Redis is unreachable (``minsheng/cache.py`` then serves
from memory) or when the cache is not Redis at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from typing import Any

from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

_redis_clients: dict[int, Any] = {}


def _redis_client() -> Any:
    """The cache's Redis client, one per connection pool: Django's ``get_client`` builds a new
    client object on every call, which cost more than the round trip itself."""
    backend = getattr(cache, "_cache", None)
    get_client = getattr(backend, "get_client", None)
    if get_client is None:
        return None
    pool_of = getattr(backend, "_get_connection_pool", None)
    if pool_of is None:
        return get_client(None, write=True)
    pool = pool_of(True)
    client = _redis_clients.get(id(pool))
    if client is None:
        client = _redis_clients.setdefault(id(pool), get_client(None, write=True))
    return client


# Increment each key, give a new one its time to live, return the new values: one command.
_HIT_SCRIPT = (
    "local out = {} for i, key in ipairs(KEYS) do out[i] = redis.call('INCR', key) "
    "if out[i] == 1 then redis.call('EXPIRE', key, ARGV[1]) end end return out"
)
_hit_scripts: dict[int, Any] = {}


def hit_counters(keys: list[str], ttl: int) -> list[int]:
    """Increment each counter and return the new values: one round trip, one script on Redis."""
    # While Redis is unreachable the cache serves from memory (minsheng/cache.py): count there.
    client = None if getattr(cache, "degraded", False) else _redis_client()
    if client is not None:
        script = _hit_scripts.get(id(client))
        if script is None:
            script = _hit_scripts.setdefault(id(client), client.register_script(_HIT_SCRIPT))
        try:
            replies = script(keys=[cache.make_key(key) for key in keys], args=[ttl])
        except (RedisConnectionError, RedisTimeoutError):
            pass  # the cache calls below notice the outage and fall back
        else:
            return [int(v) for v in replies]
    values = []
    for key in keys:
        cache.add(key, 0, timeout=ttl)
        try:
            values.append(int(cache.incr(key)))
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=ttl)
            values.append(1)
    return values


def window_key(name: str, subject: str, seconds: int) -> tuple[str, int]:
    """The key of ``name``'s counter for ``subject`` in the fixed window of ``seconds`` holding
    now, and the seconds until that window ends. The subject (an address, a phone) is hashed:
    no personal data in the cache's keys."""
    now = int(time.time())
    bucket = now // seconds
    digest = hashlib.sha256(subject.encode()).hexdigest()[:24]
    return f"counters:{name}:{digest}:{bucket}", (bucket + 1) * seconds - now


def peek(key: str) -> int:
    """A counter's current value without bumping it (0 when it does not exist)."""
    return int(cache.get(key) or 0)


# Take one back from each key that still exists (an expired window has nothing to give back, and
# a DECR would recreate it without a time to live).
_GIVE_BACK_SCRIPT = (
    "for i, key in ipairs(KEYS) do if redis.call('EXISTS', key) == 1 then "
    "redis.call('DECR', key) end end return 0"
)
_give_back_scripts: dict[int, Any] = {}


def give_back(keys: list[str]) -> None:
    """Undo one ``hit_counters`` of each key (a reservation that was not used): one round trip."""
    client = None if getattr(cache, "degraded", False) else _redis_client()
    if client is not None:
        script = _give_back_scripts.get(id(client))
        if script is None:
            script = _give_back_scripts.setdefault(
                id(client), client.register_script(_GIVE_BACK_SCRIPT)
            )
        try:
            script(keys=[cache.make_key(key) for key in keys])
        except (RedisConnectionError, RedisTimeoutError):
            pass  # the cache call below notices the outage and falls back
        else:
            return
    for key in keys:
        with contextlib.suppress(ValueError):  # expired meanwhile: nothing to give back
            cache.decr(key)
