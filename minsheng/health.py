"""/healthz: is the database, the cache and the broker reachable right now?

``status`` is ``ok``, ``degraded`` (still 200: the cache serves from this process's memory because
Redis is unreachable, minsheng/cache.py, so rate limits hold per process and cached copies are
rebuilt per process; ``degraded`` names what) or ``fail`` (503: a dependency is unreachable).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse


def _timed(check: Any) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # report, never raise: this endpoint must answer
        detail, ok = type(exc).__name__, False
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - start) * 1000, 1)}


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _cache() -> str:
    cache.set("healthz", "1", 5)
    if cache.get("healthz") != "1":
        raise RuntimeError("cache read-back failed")
    name = str(settings.CACHES["default"]["BACKEND"]).rsplit(".", 1)[-1]
    if getattr(cache, "degraded", False):
        return f"{name}: Redis unreachable, serving from local memory"
    return name


def _broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "inline"
    from minsheng.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return conn.transport_cls if isinstance(conn.transport_cls, str) else "broker"


def run_checks() -> dict[str, Any]:
    checks = {"database": _timed(_database), "cache": _timed(_cache), "broker": _timed(_broker)}
    # Read after the cache check: its own set/get is what notices an outage that began just now.
    degraded = ["cache"] if getattr(cache, "degraded", False) and checks["cache"]["ok"] else []
    if not all(c["ok"] for c in checks.values()):
        status = "fail"
    else:
        status = "degraded" if degraded else "ok"
    return {"status": status, "degraded": degraded, "checks": checks}


def http_status(result: dict[str, Any]) -> int:
    """Degraded still serves (200): a monitor reads ``status``; a load balancer keeps the node."""
    return 503 if result["status"] == "fail" else 200


def healthz(request: HttpRequest) -> JsonResponse:
    result = run_checks()
    return JsonResponse(result, status=http_status(result))
