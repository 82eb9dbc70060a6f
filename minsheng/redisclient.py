"""Django's Redis cache client, with one ``redis.Redis`` object per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` on every cache call; its
constructor fills a table of about 170 response callbacks each time, which cost more CPU than
the round trip to Redis itself (three cache calls per questionnaire response, one per vote).
A ``redis.Redis`` is safe to share between threads (each command borrows a connection from
the pool), so one per pool is kept.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCacheClient


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._clients_lock = threading.Lock()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            with self._clients_lock:
                make = self._client  # type: ignore[attr-defined]
                client = self._clients.setdefault(id(pool), make(connection_pool=pool))
        return client
