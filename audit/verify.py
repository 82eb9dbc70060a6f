"""Walk the chain and name the first broken link.

Each entry is checked against the one before it in ``seq`` order:

- a gap in ``seq`` means entries were deleted (``entry_missing``);
- a ``prev_hash`` that skips the row before it and points at the one before that means that row
  was slipped in (``entry_inserted``);
- a ``prev_hash`` that points nowhere, while the entry's own hash is intact, means an earlier entry
  was rewritten and its hash recomputed, or this entry was re-pointed (``chain_relinked``);
- a stored ``hash`` that no longer matches the entry's fields means it was edited
  (``content_edited``).

Edits at the very end of the chain (the newest entry rewritten with a fresh hash, or the newest
entries deleted) leave no trace inside the chain; publishing the head hash (``minsheng audit
head``) and checking it later with ``--anchor`` closes that hole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from audit import chain
from audit.models import GENESIS_HASH, AuditEntry

VALUE_FIELDS = ("id", *chain.HASHED_FIELDS, "hash")


@dataclass(frozen=True)
class Problem:
    kind: str
    seq: int
    entry_id: int | None
    message: str

    def __str__(self) -> str:
        where = f"seq {self.seq}" + (f" (entry id {self.entry_id})" if self.entry_id else "")
        return f"{where}: {self.kind.replace('_', ' ')} — {self.message}"


@dataclass(frozen=True)
class Result:
    count: int
    head_seq: int
    head_hash: str
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.problem is None:
            return f"OK: {self.count} entries, head {self.head_hash}"
        return f"BROKEN at {self.problem}"


@dataclass(frozen=True)
class _Link:
    seq: int
    id: int | None
    hash: str


def _rows(from_seq: int, chunk_size: int) -> Iterator[dict[str, Any]]:
    qs = AuditEntry.objects.filter(seq__gte=from_seq).order_by("seq").values(*VALUE_FIELDS)
    return qs.iterator(chunk_size=chunk_size)


def _start(from_seq: int) -> tuple[_Link | None, _Link]:
    """The two links before ``from_seq`` (or the genesis link at seq 0)."""
    genesis = _Link(0, None, GENESIS_HASH)
    if from_seq <= 1:
        return None, genesis
    before = list(
        AuditEntry.objects.filter(seq__lt=from_seq)
        .order_by("-seq")
        .values_list("seq", "id", "hash")[:2]
    )
    if not before:
        return None, genesis
    links = [_Link(*row) for row in before]
    return (links[1] if len(links) > 1 else None), links[0]


def _check(row: dict[str, Any], prev: _Link, pprev: _Link | None) -> Problem | None:
    seq, entry_id = row["seq"], row["id"]
    if seq != prev.seq + 1:
        missing = f"seq {prev.seq + 1}" if seq == prev.seq + 2 else f"seq {prev.seq + 1}–{seq - 1}"
        return Problem("entry_missing", seq, entry_id, f"{missing} is absent before this entry")
    hash_ok = chain.entry_hash(row) == row["hash"]
    if row["prev_hash"] != prev.hash:
        if pprev is not None and row["prev_hash"] == pprev.hash:
            return Problem(
                "entry_inserted",
                prev.seq,
                prev.id,
                f"seq {seq} links to seq {pprev.seq}, so this entry was slipped in between",
            )
        if not hash_ok:
            return Problem(
                "entry_inserted",
                seq,
                entry_id,
                "neither its previous hash nor its own hash belongs to the chain",
            )
        return Problem(
            "chain_relinked",
            seq,
            entry_id,
            f"its previous hash {row['prev_hash'][:12]}… is not the hash of seq {prev.seq} "
            f"({prev.hash[:12]}…): seq {prev.seq} was rewritten with a recomputed hash, "
            "or this entry was re-pointed",
        )
    if not hash_ok:
        return Problem("content_edited", seq, entry_id, "its stored hash does not match its fields")
    return None


def verify_chain(
    *,
    from_seq: int = 1,
    anchor: str | None = None,
    chunk_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> Result:
    """Check every entry from ``from_seq`` on; with ``anchor``, also require that hash in it.

    ``progress`` is called with the number of entries checked since the last call.
    """
    pprev, prev = _start(from_seq)
    anchor = anchor.strip().lower() if anchor else None
    anchor_seen = (
        anchor is None or anchor == prev.hash or (pprev is not None and anchor == pprev.hash)
    )
    count = 0
    pending = 0
    for row in _rows(from_seq, chunk_size):
        problem = _check(row, prev, pprev)
        if problem is not None:
            return Result(count, prev.seq, prev.hash, problem)
        count += 1
        pending += 1
        if anchor is not None and row["hash"] == anchor:
            anchor_seen = True
        pprev, prev = prev, _Link(row["seq"], row["id"], row["hash"])
        if progress is not None and pending >= chunk_size:
            progress(pending)
            pending = 0
    if progress is not None and pending:
        progress(pending)
    if not anchor_seen:
        return Result(
            count,
            prev.seq,
            prev.hash,
            Problem(
                "anchor_not_found",
                prev.seq,
                prev.id,
                f"the published hash {anchor} is no longer in the chain: "
                "the entry that had it was rewritten or removed",
            ),
        )
    return Result(count, prev.seq, prev.hash, None)
