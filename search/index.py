"""Writing the appeal index: one appeal after intake or an edit, or everything in batches.

``index_appeals`` renders each appeal's title and text into terms (``search.text``) and writes
them for the database at hand: a tsvector on PostgreSQL, an FTS5 row on SQLite, plus the
``AppealIndex`` row that says the appeal is indexed and when.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from appeals.models import Appeal
from search.models import AppealIndex
from search.text import fts5_document, tsvector_document

Progress = Callable[[int], Any]


def render(title: str, text: str, vendor: str | None = None) -> str:
    """What the index stores for one appeal on this database (``vendor``: default the current
    connection's): a tsvector literal on PostgreSQL, the FTS5 token string on SQLite."""
    if (vendor or connection.vendor) == "postgresql":
        return tsvector_document(title, text)
    return fts5_document(title, text)


def _write(rows: Sequence[tuple[int, str, str]]) -> None:
    """Write (appeal id, title, text) rows in one transaction; replaces what was there."""
    if not rows:
        return
    now = timezone.now()
    vendor = connection.vendor
    with transaction.atomic(), connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.executemany(
                "INSERT INTO search_appealindex (appeal_id, indexed_at, document) "
                "VALUES (%s, %s, %s::tsvector) ON CONFLICT (appeal_id) DO UPDATE "
                "SET indexed_at = EXCLUDED.indexed_at, document = EXCLUDED.document",
                [(pk, now, render(title, text, vendor)) for pk, title, text in rows],
            )
        elif vendor == "sqlite":
            ids = [(pk,) for pk, _t, _x in rows]
            cursor.executemany("DELETE FROM search_appealfts WHERE rowid = %s", ids)
            cursor.executemany(
                "INSERT INTO search_appealfts (rowid, terms) VALUES (%s, %s)",
                [(pk, render(title, text, vendor)) for pk, title, text in rows],
            )
            cursor.executemany(
                "INSERT INTO search_appealindex (appeal_id, indexed_at) VALUES (%s, %s) "
                "ON CONFLICT (appeal_id) DO UPDATE SET indexed_at = excluded.indexed_at",
                [(pk, now) for pk, _t, _x in rows],
            )
        else:  # pragma: no cover - the project runs on these two
            raise NotImplementedError(f"search index on {vendor!r} databases")


def index_appeals(appeals: Iterable[Appeal]) -> int:
    """(Re)index the given appeals now; returns how many."""
    rows = [(a.pk, a.title or "", a.text or "") for a in appeals]
    _write(rows)
    return len(rows)


def index_ids(ids: Iterable[int]) -> int:
    """(Re)index appeals by id, reading their current title and text."""
    rows = list(Appeal.objects.filter(pk__in=list(ids)).values_list("pk", "title", "text"))
    _write(rows)
    return len(rows)


def reindex(
    *, batch: int = 2000, missing_only: bool = False, progress: Progress | None = None
) -> int:
    """Index every appeal (or only those without an index row), ``batch`` at a time.

    Walks the appeals by id with keyset pagination, so memory stays flat and a crash half-way
    leaves finished batches in place; run it again to go on (``missing_only``).
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    qs = Appeal.objects.order_by("pk")
    if missing_only:
        qs = qs.exclude(pk__in=AppealIndex.objects.values("appeal_id"))
    done = 0
    last = 0
    while True:
        rows = list(qs.filter(pk__gt=last).values_list("pk", "title", "text")[:batch])
        if not rows:
            return done
        _write(rows)
        done += len(rows)
        last = rows[-1][0]
        if progress is not None:
            progress(len(rows))


def to_index(missing_only: bool = False) -> int:
    """How many appeals ``reindex`` would visit."""
    qs = Appeal.objects.all()
    if missing_only:
        qs = qs.exclude(pk__in=AppealIndex.objects.values("appeal_id"))
    return qs.count()
