"""Tampering with the trail in the database, as an attacker with direct SQL access would."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit import chain
from audit.models import AuditEntry
from audit.services import head, record
from audit.verify import verify_chain

pytestmark = pytest.mark.django_db


def sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


@pytest.fixture
def trail() -> list[AuditEntry]:
    return [record(None, f"test.step{n}", reason=f"第{n}步") for n in range(1, 7)]


@pytest.fixture
def attacker(trail: list[AuditEntry]) -> None:
    """On PostgreSQL the trigger refuses UPDATE/DELETE; a superuser switches it off first."""
    if connection.vendor == "postgresql":
        sql("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_forbid_change")


def forge_insert(seq: int, prev_hash: str, digest: str | None = None) -> int:
    """Insert an entry with raw SQL; with ``digest`` None its hash is computed correctly."""
    created_at = dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC)
    fields: dict[str, object] = {
        "seq": seq,
        "created_at": created_at,
        "actor_id": None,
        "actor_label": "system",
        "action": "test.forged",
        "object_type": "",
        "object_id": "",
        "object_repr": "",
        "before": None,
        "after": None,
        "reason": "伪造",
        "ip": None,
        "request_id": "",
        "prev_hash": prev_hash,
    }
    digest = digest or chain.entry_hash(fields)
    sql(
        "INSERT INTO audit_auditentry (seq, created_at, actor_id, actor_label, action, object_type,"
        " object_id, object_repr, before, after, reason, ip, request_id, prev_hash, hash)"
        " VALUES (%s, %s, NULL, %s, %s, '', '', '', NULL, NULL, %s, NULL, '', %s, %s)",
        [
            seq,
            connection.ops.adapt_datetimefield_value(created_at),
            "system",
            "test.forged",
            "伪造",
            prev_hash,
            digest,
        ],
    )
    return AuditEntry.objects.get(seq=seq).pk


def test_an_untouched_chain_verifies(trail: list[AuditEntry]) -> None:
    result = verify_chain()
    assert result.ok
    assert result.summary() == f"OK: 6 entries, head {trail[-1].hash}"


def test_it_names_an_edited_entry(trail: list[AuditEntry], attacker: None) -> None:
    sql("UPDATE audit_auditentry SET reason = %s WHERE seq = 3", ["改过的原因"])
    problem = verify_chain().problem
    assert problem is not None
    assert (problem.kind, problem.seq, problem.entry_id) == ("content_edited", 3, trail[2].pk)


def test_it_names_the_gap_a_deleted_entry_leaves(trail: list[AuditEntry], attacker: None) -> None:
    sql("DELETE FROM audit_auditentry WHERE seq = 3")
    problem = verify_chain().problem
    assert problem is not None
    assert (problem.kind, problem.seq, problem.entry_id) == ("entry_missing", 4, trail[3].pk)
    assert "seq 3 is absent" in str(problem)


def test_it_names_an_entry_slipped_into_the_middle(trail: list[AuditEntry], attacker: None) -> None:
    # Make room at seq 3 (two steps keep the unique index happy), then insert a well-formed entry
    # that links to seq 2.
    sql("UPDATE audit_auditentry SET seq = seq + 1000000 WHERE seq >= 3")
    sql("UPDATE audit_auditentry SET seq = seq - 999999 WHERE seq >= 1000000")
    forged_id = forge_insert(3, trail[1].hash)
    problem = verify_chain().problem
    assert problem is not None
    assert (problem.kind, problem.seq, problem.entry_id) == ("entry_inserted", 3, forged_id)


def test_it_names_a_forged_entry_appended_at_the_end(
    trail: list[AuditEntry], attacker: None
) -> None:
    forged_id = forge_insert(7, "f" * 64, digest="e" * 64)
    problem = verify_chain().problem
    assert problem is not None
    assert (problem.kind, problem.seq, problem.entry_id) == ("entry_inserted", 7, forged_id)


def test_it_names_a_rewritten_entry_whose_hash_was_recomputed(
    trail: list[AuditEntry], attacker: None
) -> None:
    sql("UPDATE audit_auditentry SET reason = %s WHERE seq = 3", ["改过的原因"])
    edited = AuditEntry.objects.get(seq=3)
    sql(
        "UPDATE audit_auditentry SET hash = %s WHERE seq = 3",
        [chain.entry_hash(chain.fields_of(edited))],
    )
    problem = verify_chain().problem
    assert problem is not None
    assert (problem.kind, problem.seq, problem.entry_id) == ("chain_relinked", 4, trail[3].pk)


def test_a_published_anchor_catches_a_rewritten_newest_entry(
    trail: list[AuditEntry], attacker: None
) -> None:
    published = head()[1]
    assert verify_chain(anchor=published).ok
    sql("UPDATE audit_auditentry SET reason = %s WHERE seq = 6", ["改过的原因"])
    newest = AuditEntry.objects.get(seq=6)
    sql(
        "UPDATE audit_auditentry SET hash = %s WHERE seq = 6",
        [chain.entry_hash(chain.fields_of(newest))],
    )
    assert verify_chain().ok  # invisible from inside the chain …
    problem = verify_chain(anchor=published).problem
    assert problem is not None and problem.kind == "anchor_not_found"


def test_it_can_start_from_a_sequence_number(trail: list[AuditEntry], attacker: None) -> None:
    sql("UPDATE audit_auditentry SET reason = %s WHERE seq = 2", ["改过的原因"])
    assert verify_chain(from_seq=4).summary() == f"OK: 3 entries, head {trail[-1].hash}"
    assert verify_chain(from_seq=2).problem is not None


def test_the_command_prints_ok_with_the_head(trail: list[AuditEntry]) -> None:
    out = io.StringIO()
    call_command("audit", "verify", "--no-progress", stdout=out)
    assert out.getvalue().strip() == f"OK: 6 entries, head {trail[-1].hash}"
    out = io.StringIO()
    call_command("audit", "head", stdout=out, stderr=io.StringIO())
    assert out.getvalue().strip() == trail[-1].hash


def test_the_command_exits_1_naming_the_broken_link(
    trail: list[AuditEntry], attacker: None
) -> None:
    sql("DELETE FROM audit_auditentry WHERE seq = 5")
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit", "verify", "--no-progress", stdout=out)
    assert exit_info.value.code == 1
    assert out.getvalue().startswith(f"BROKEN at seq 6 (entry id {trail[5].pk}): entry missing")


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only"
)
def test_postgresql_refuses_update_and_delete_from_sql(trail: list[AuditEntry]) -> None:
    for statement in (
        "UPDATE audit_auditentry SET reason = 'x' WHERE seq = 1",
        "DELETE FROM audit_auditentry",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            sql(statement)
    assert verify_chain().ok
