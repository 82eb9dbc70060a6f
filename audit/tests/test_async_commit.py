"""The chain's transaction commits asynchronously, then waits for the WAL flush outside the lock."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from audit import services
from audit.services import record
from audit.verify import verify_chain

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the WAL flush is PostgreSQL's (DATABASE_URL)"
)


def _flush_hooks() -> int:
    return sum(1 for hook in connection.run_on_commit if hook[1] is services._flush_wal)


@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_records_twice_waits_for_one_wal_flush_after_its_commit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flushed: list[str] = []
    real_flush = services._flush_wal

    def flush_and_note() -> None:
        # Runs after the commit, in autocommit: the session's own (synchronous) setting again.
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            flushed.append(cursor.fetchone()[0])
        real_flush()

    monkeypatch.setattr(services, "_flush_wal", flush_and_note)
    with transaction.atomic():
        record(None, "test.first")
        record(None, "test.second")
        assert _flush_hooks() == 1
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "off"
        assert flushed == []
    assert flushed == ["on"]
    result = verify_chain()
    assert result.ok and result.count == 2


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_leaves_no_entry_and_no_flush(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flushed: list[bool] = []
    monkeypatch.setattr(services, "_flush_wal", lambda: flushed.append(True))
    with pytest.raises(RuntimeError), transaction.atomic():
        record(None, "test.doomed")
        raise RuntimeError("the change failed")
    assert flushed == []
    record(None, "test.after")
    assert flushed == [True]
    result = verify_chain()
    assert result.ok and result.count == 1
