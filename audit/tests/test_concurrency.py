from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from audit.models import AuditEntry
from audit.services import record
from audit.verify import verify_chain

WRITERS = 8
ENTRIES_EACH = 15


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL (DATABASE_URL)"
)
@pytest.mark.django_db(transaction=True)
def test_writers_recording_at_once_keep_one_unforked_chain() -> None:
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(ENTRIES_EACH):
                with transaction.atomic():
                    record(None, "test.concurrent", reason=f"writer {n} entry {i}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    total = WRITERS * ENTRIES_EACH
    assert list(AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, total + 1))
    result = verify_chain()
    assert result.ok, result.summary()
    assert result.count == total
