"""A database that goes away for a moment answers 503 with Retry-After; the retry succeeds.

The PostgreSQL tests cut the test's own server connection with ``pg_terminate_backend`` from a
second connection, exactly what a restart or a fail-over does to a pooled connection. A real
cluster restart would also cut the other test workers' databases, so it is left to
``bench/faults.py``.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.test import Client

from appeals.models import Appeal, IdempotencyKey
from minsheng import outage

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="terminating a server backend needs PostgreSQL"
)


def _admin_url() -> str:
    db = settings.DATABASES["default"]
    return (
        f"postgresql://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:"
        f"{db.get('PORT') or 5432}/postgres"
    )


def _cut_our_connection() -> int:
    """Terminate the server process behind Django's connection, as a restart would."""
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = int(cursor.fetchone()[0])
    password = settings.DATABASES["default"].get("PASSWORD") or None
    with psycopg.connect(_admin_url(), password=password, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    return pid


def _submission(text: str) -> dict[str, Any]:
    return {"text": text, "title": "路灯不亮", "contact_phone": "13800138000"}


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_an_intake_cut_off_by_a_terminated_connection_is_answered_503_and_its_retry_stored_once(
    org_tree: Any,
) -> None:
    client = Client()
    first = client.post(
        "/api/appeals/",
        _submission("小区门口的路灯坏了一个星期，晚上很黑。"),
        content_type="application/json",
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert first.status_code == 201, first.content

    key = str(uuid.uuid4())
    body = _submission("菜市场旁边的下水道堵了，污水漫到路上。")
    _cut_our_connection()
    cut = client.post(
        "/api/appeals/", body, content_type="application/json", headers={"Idempotency-Key": key}
    )
    assert cut.status_code == 503
    assert cut["Retry-After"] == str(settings.OUTAGE_RETRY_AFTER)
    answer = cut.json()
    assert answer["code"] == "database_unavailable"
    assert answer["detail"] == {"retry_after": settings.OUTAGE_RETRY_AFTER}
    # The dead connection was dropped, so this very thread's next request reconnects.
    assert connection.connection is None or connection.is_usable()
    assert not IdempotencyKey.objects.filter(key=key).exists()

    retry = client.post(
        "/api/appeals/", body, content_type="application/json", headers={"Idempotency-Key": key}
    )
    assert retry.status_code == 201, retry.content
    assert IdempotencyKey.objects.filter(key=key).count() == 1
    assert Appeal.objects.filter(text=body["text"]).count() == 1


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_page_cut_off_by_a_terminated_connection_shows_the_plain_retry_page(
    org_tree: Any,
) -> None:
    client = Client()
    assert client.get("/transparency/").status_code == 200
    _cut_our_connection()
    cut = client.get("/transparency/")
    assert cut.status_code == 503
    assert cut["Retry-After"] == str(settings.OUTAGE_RETRY_AFTER)
    assert cut["Content-Type"].startswith("text/html")
    assert "503" in cut.content.decode()
    assert client.get("/transparency/").status_code == 200


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_cut_connection_is_an_outage_and_is_closed_so_the_next_query_reconnects() -> None:
    _cut_our_connection()
    with pytest.raises(OperationalError) as cut, connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert outage.is_outage(cut.value)
    assert outage.close_broken_connections() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_locked_sqlite_database_is_an_outage_and_a_missing_table_is_not(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError) as locked:
            other.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as missing:
            other.execute("SELECT * FROM no_such_table")
    finally:
        other.close()
        holder.close()
    for raw, expected in ((locked.value, True), (missing.value, False)):
        wrapped = OperationalError(*raw.args)
        wrapped.__cause__ = raw
        assert outage.is_outage(wrapped) is expected
