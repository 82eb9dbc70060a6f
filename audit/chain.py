"""How an entry's hash is computed: the one definition the writer and the verifier share.

The canonical form is JSON with sorted keys, no whitespace and UTF-8 text, over every stored
field except the row id and the hash itself. Times are UTC ISO-8601 with microseconds, so the
value read back from SQLite or PostgreSQL hashes the same as the value written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

HASHED_FIELDS = (
    "seq",
    "created_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "before",
    "after",
    "reason",
    "ip",
    "request_id",
    "prev_hash",
)


def canonical_time(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_payload(fields: dict[str, Any]) -> bytes:
    data = {name: fields[name] for name in HASHED_FIELDS}
    data["created_at"] = canonical_time(fields["created_at"])
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def entry_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_payload(fields)).hexdigest()


def fields_of(entry: Any) -> dict[str, Any]:
    """The hashed fields of a stored ``AuditEntry`` (or anything with the same attributes)."""
    return {name: getattr(entry, name) for name in HASHED_FIELDS}
