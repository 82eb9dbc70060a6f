"""Writing to the audit trail: ``record`` for state changes, ``record_access`` for looks at
personal data. Both append to one hash chain inside the caller's transaction, so an entry exists
if and only if the change it describes committed.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from audit import chain
from audit.models import ACCESS_ACTION, GENESIS_HASH, AccessLogEntry, AuditEntry
from minsheng import rows
from minsheng.rows import Batch

ENCRYPTED = "[encrypted]"
# Keys that hold personal data whatever model they come from; vault fields are found by type.
SENSITIVE_KEYS = frozenset(
    {"phone", "mobile", "id_number", "id_card", "id_card_number", "password", "otp", "code_hash"}
)
# One constant lock id for the whole chain (pg_advisory_xact_lock takes a bigint): "audit" in hex.
_PG_LOCK_ID = 0x6175646974


def _json_safe(value: Any) -> Any:
    """JSON that reads back identically from SQLite text and PostgreSQL jsonb.

    jsonb rewrites large or tiny floats (1e20 comes back as an integer), which would change the
    hash, so such floats are stored as strings.
    """
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and (
        not math.isfinite(value) or (value != 0 and not 1e-6 <= abs(value) < 1e15)
    ):
        return repr(value)
    return value


def _encrypted_field_names(obj: Any) -> frozenset[str]:
    if not isinstance(obj, models.Model):
        return frozenset()
    # __class__, not type(): request.user is a SimpleLazyObject, which passes isinstance by
    # answering __class__ with the wrapped model while type() is the wrapper.
    return _encrypted_fields_of(obj.__class__)


@functools.cache
def _encrypted_fields_of(model: type[models.Model]) -> frozenset[str]:
    # Per model class, not per entry: the fields of a model do not change while it runs.
    from vault.fields import EncryptedCharField

    return frozenset(
        {f.name for f in model._meta.get_fields() if isinstance(f, EncryptedCharField)}
        | {f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedCharField)}
    )


def redact(
    data: Mapping[str, Any] | None, extra_sensitive: Iterable[str] = ()
) -> dict[str, Any] | None:
    """Replace personal-data values by ``[encrypted]``; None stays None."""
    if data is None:
        return None
    hidden = SENSITIVE_KEYS | set(extra_sensitive)
    cleaned: dict[str, Any] = {}
    for key, value in data.items():
        if key in hidden or key.endswith("_hash"):
            cleaned[key] = ENCRYPTED if value not in (None, "") else value
        else:
            cleaned[key] = value
    normalised = json.loads(json.dumps(cleaned, cls=DjangoJSONEncoder, ensure_ascii=False))
    return _json_safe(normalised)  # type: ignore[no-any-return]


def diff(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose value changed, as (before, after) ready for ``record``."""
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of ``obj`` (foreign keys by id), for a before/after pair."""
    out: dict[str, Any] = {}
    for name in fields:
        field = obj._meta.get_field(name)
        attname = getattr(field, "attname", name)
        out[name] = getattr(obj, attname)
    return out


def actor_label(actor: Any) -> str:
    if actor is None:
        return "system"
    username = getattr(actor, "username", "") or str(getattr(actor, "pk", ""))
    name = getattr(actor, "display_name", "") or ""
    return f"{name} ({username})" if name and name != username else str(username)


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    raw = request.META.get("REMOTE_ADDR") or ""
    try:
        return ipaddress.ip_address(raw).compressed
    except ValueError:
        return None


def _request_id(request: HttpRequest | None) -> str:
    from minsheng.middleware import request_id_var

    rid = request_id_var.get()
    if rid == "-" and request is not None:
        rid = getattr(request, "request_id", "") or request.headers.get("X-Request-Id", "")
    return "" if rid == "-" else str(rid)[:64]


def _lock_chain() -> None:
    """Serialise appends so two writers never both extend the same head.

    PostgreSQL: a transaction-scoped advisory lock, released at the caller's commit or rollback.
    SQLite: the IMMEDIATE transaction already holds the database write lock.

    The lock is held until the commit has finished, and a synchronous commit waits for its WAL
    to reach the disk (about 5 ms here): every audited change in the whole system would queue
    behind the previous one's disk flush, which caps them at one flush time each (under 200 a
    second). So the chain's transaction commits asynchronously — it releases the lock as soon as
    its commit record is in the WAL buffers — and ``_flush_wal`` then waits, outside the lock,
    until the WAL is on disk, before the caller's code after the commit (the HTTP answer, the
    notices) runs. Concurrent writers' flushes are one fsync (PostgreSQL's group commit). The
    WAL is written in order, so a crash in between loses a suffix of commits, never an entry
    whose successor survives, and nothing was yet acknowledged for what it loses.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # One round trip: the lock, then SET LOCAL synchronous_commit TO OFF.
            cursor.execute(_LOCK_SQL, [_PG_LOCK_ID])
        _after_lock()


def _after_lock() -> None:
    if not any(hook[1] is _flush_wal for hook in connection.run_on_commit):
        transaction.on_commit(_flush_wal)


def _flush_wal() -> None:
    """Return once the WAL up to the commit just made is on disk.

    A synchronous commit of a transaction that wrote WAL flushes all WAL before its own commit
    record, which includes the asynchronous commit before it. A transactional logical message is
    the smallest such write: no table, no row lock (so no queue), any role may send one.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_logical_emit_message(true, 'minsheng.audit', '')")


_HEAD_SQL = "SELECT seq, hash FROM {table} ORDER BY seq DESC LIMIT 1"
_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s), set_config('synchronous_commit', 'off', true)"


def _head_for_append() -> tuple[int, str]:
    """(next seq, previous hash), read under the chain lock; plain SQL, it runs on every append."""
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_HEAD_SQL.format(table=table))
        row = cursor.fetchone()
    return _next(row)


def _next(row: Sequence[Any] | None) -> tuple[int, str]:
    return (int(row[0]) + 1, str(row[1])) if row else (1, GENESIS_HASH)


def _lock_and_head(batch: Batch | None) -> tuple[int, str]:
    """Take the chain lock and read the head: on PostgreSQL in one round trip, together with
    whatever the caller queued in ``batch`` (run first, before the lock is taken, so the lock is
    held for as short a time as possible). Each statement of the string reads with its own
    snapshot, so the head is read after the lock is granted and sees the previous holder's entry.
    """
    if connection.vendor != "postgresql":
        if batch is not None:
            batch.run()
        _lock_chain()
        return _head_for_append()
    batch = batch if batch is not None else Batch()
    batch.add(_LOCK_SQL, [_PG_LOCK_ID])
    at = batch.add(_HEAD_SQL.format(table=connection.ops.quote_name(AuditEntry._meta.db_table)))
    results = batch.run()
    _after_lock()
    return _next(results[at][0] if results[at] else None)


def _object_fields(obj: Any) -> tuple[str, str, str]:
    if obj is None:
        return "", "", ""
    if isinstance(obj, models.Model):
        object_type = obj._meta.label_lower
        object_id = "" if obj.pk is None else str(obj.pk)
    else:
        object_type = type(obj).__name__.lower()
        object_id = str(getattr(obj, "pk", getattr(obj, "id", "")) or "")
    return object_type, object_id[:64], str(obj)[:200]


def _append(
    model: type[AuditEntry],
    actor: Any,
    action: str,
    obj: Any,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    reason: str,
    request: HttpRequest | None,
    batch: Batch | None = None,
) -> AuditEntry:
    if not action or len(action) > 80 or " " in action:
        raise ValueError(f"audit action {action!r} must be a dotted name up to 80 characters")
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if actor is not None and not getattr(actor, "pk", None):
        actor = None
    object_type, object_id, object_repr = _object_fields(obj)
    hidden = _encrypted_field_names(obj)
    values: dict[str, Any] = {
        "created_at": timezone.now(),
        "actor_id": getattr(actor, "pk", None),
        "actor_label": actor_label(actor)[:150],
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "object_repr": object_repr,
        "before": redact(before, hidden),
        "after": redact(after, hidden),
        "reason": reason or "",
        "ip": _client_ip(request),
        "request_id": _request_id(request),
    }
    # No savepoint inside the caller's transaction (two round trips fewer on every audited
    # change): if the append fails, the caller's whole transaction is marked for rollback, so a
    # change can never commit without its entry even when the caller catches the error.
    with transaction.atomic(savepoint=False):
        values["seq"], values["prev_hash"] = _lock_and_head(batch)
        values["hash"] = chain.entry_hash(values)
        sql, params = rows.insert(model, values, returning="id")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            pk = cursor.fetchone()[0]
    entry: AuditEntry = rows.instance(model, values, pk)
    if actor is not None:
        entry.actor = actor
    return entry


def record(
    actor: Any,
    action: str,
    obj: Any = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    request: HttpRequest | None = None,
    batch: Batch | None = None,
) -> AuditEntry:
    """Append one entry describing a state change. Call it inside the change's transaction.

    ``before``/``after`` should hold only the changed fields (see ``diff``); personal-data fields
    are stored as ``[encrypted]``. ``actor`` None means the system (or the request's user).
    ``batch``: the caller's own statements of the change, not yet run; they are sent with the
    chain lock (one round trip on PostgreSQL) and run before it.
    """
    return _append(AuditEntry, actor, action, obj, before, after, reason, request, batch)


def record_access(
    actor: Any, subject: Any, field: str, purpose: str, request: HttpRequest | None = None
) -> AccessLogEntry:
    """Log that ``actor`` looked at ``field`` of ``subject``'s personal data, and why."""
    if not purpose.strip():
        raise ValueError("a look at personal data needs a stated purpose")
    entry = _append(
        AccessLogEntry, actor, ACCESS_ACTION, subject, None, {"field": field}, purpose, request
    )
    assert isinstance(entry, AccessLogEntry)
    return entry


def head() -> tuple[int, str]:
    """(seq, hash) of the newest entry; (0, genesis) for an empty trail."""
    row = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)
