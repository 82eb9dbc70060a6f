"""Filtering and keyset pagination of the trail, shared by the workbench pages and the API.

Pages are cut by ``seq`` (``before``/``after`` a sequence number), never by OFFSET, so the last
page of ten million entries costs what the first one does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.models import AuditEntry

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
E = TypeVar("E", bound=AuditEntry)


@dataclass(frozen=True)
class TrailFilter:
    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    since: dt.date | None = None
    until: dt.date | None = None
    text: str = ""

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TrailFilter:
        return cls(
            actor=(data.get("actor") or "").strip(),
            action=(data.get("action") or "").strip(),
            object_type=(data.get("object_type") or "").strip().lower(),
            object_id=(data.get("object_id") or "").strip(),
            since=data.get("since"),
            until=data.get("until"),
            text=(data.get("text") or "").strip(),
        )

    def apply(self, qs: QuerySet[E]) -> QuerySet[E]:
        if self.actor:
            # The label snapshot: still matches after the account was renamed or removed.
            qs = qs.filter(actor_label__icontains=self.actor)
        if self.action:
            prefix = self.action.rstrip(".")
            qs = qs.filter(Q(action=prefix) | Q(action__startswith=prefix + "."))
        if self.object_type:
            qs = qs.filter(object_type=self.object_type)
        if self.object_id:
            qs = qs.filter(object_id=self.object_id)
        if self.since:
            qs = qs.filter(created_at__gte=_day_start(self.since))
        if self.until:
            qs = qs.filter(created_at__lt=_day_start(self.until + dt.timedelta(days=1)))
        if self.text:
            qs = qs.filter(reason__icontains=self.text)
        return qs


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@dataclass(frozen=True)
class Page(Generic[E]):
    entries: list[E]
    older: int | None  # pass as ``before`` for the next (older) page
    newer: int | None  # pass as ``after`` for the previous (newer) page


def keyset_page(
    qs: QuerySet[E], *, before: int | None = None, after: int | None = None, size: int = PAGE_SIZE
) -> Page[E]:
    """Newest first. ``before``: entries older than that seq; ``after``: newer than that seq."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    if after is not None:
        rows = list(qs.filter(seq__gt=after).order_by("seq")[: size + 1])
        more_newer = len(rows) > size
        entries = list(reversed(rows[:size]))
        return Page(
            entries,
            older=entries[-1].seq if entries else after + 1,
            newer=entries[0].seq if entries and more_newer else None,
        )
    if before is not None:
        qs = qs.filter(seq__lt=before)
    rows = list(qs.order_by("-seq")[: size + 1])
    entries = rows[:size]
    return Page(
        entries,
        older=entries[-1].seq if len(rows) > size else None,
        newer=entries[0].seq if entries and before is not None else None,
    )
