"""Polling, storing and handing on: every state change of the sources app goes through here.

``poll_source`` claims a source (a conditional UPDATE, so two schedulers never poll it at once),
runs its plug-in, stores the new items as ``RawItem`` rows (committed before anything else looks
at them), saves the plug-in's state, writes one ``FetchLog`` row and moves ``next_poll_at``:
one interval on success, exponentially later after failures (capped). A plug-in's failure is
caught here and recorded; it never reaches the scheduler, and the other sources go on.

Stored items are then handed to ``opinion.ingest.ingest`` when that module exists; items whose
ingestion fails stay ``ingested=False`` and are handed on again by the next ``poll_due``.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.services import record
from sources.models import FetchLog, Kind, RawItem, Source
from sources.plugins import FETCHERS
from sources.plugins.base import (
    FetchError,
    FetchResult,
    ItemDict,
    Progress,
    SourceConfig,
    parse_time,
)

log = logging.getLogger("minsheng.sources")

MAX_BACKOFF = timedelta(hours=6)
LEASE = timedelta(minutes=15)
STORE_BATCH = 1000
INGEST_BATCH = 1000
PROBLEMS_LOGGED = 200


# --- items as stored --------------------------------------------------------------------------
def to_payload(item: ItemDict) -> dict[str, Any]:
    return {**item, "time": item["time"].isoformat()}


def from_payload(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "time": parse_time(payload["time"])}


def config_of(source: Source) -> SourceConfig:
    return SourceConfig(
        name=source.name,
        kind=source.kind,
        url=source.url,
        path=source.path,
        article_pattern=source.article_pattern,
        max_articles=source.max_articles,
        field_map=dict(source.field_map or {}),
        file_format=source.file_format,
    )


@dataclass
class StoreResult:
    found: int = 0
    new_ids: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return self.found - len(self.new_ids)


def store_items(
    source: Source, items: Sequence[ItemDict], *, now: datetime | None = None
) -> StoreResult:
    """Keep each item not yet kept for this source; idempotent by item id."""
    moment = now or timezone.now()
    result = StoreResult(found=len(items))
    for start in range(0, len(items), STORE_BATCH):
        batch: dict[str, ItemDict] = {}
        for item in items[start : start + STORE_BATCH]:
            batch.setdefault(item["id"], item)  # a repeat inside one batch counts once
        known = set(
            RawItem.objects.filter(source=source, item_id__in=list(batch)).values_list(
                "item_id", flat=True
            )
        )
        fresh = [
            RawItem(source=source, item_id=item_id, payload=to_payload(item), fetched_at=moment)
            for item_id, item in batch.items()
            if item_id not in known
        ]
        # ignore_conflicts: a concurrent push of the same ids must not fail the batch.
        RawItem.objects.bulk_create(fresh, ignore_conflicts=True)
        result.new_ids.extend(r.item_id for r in fresh)
    return result


# --- handing on to the 舆情 pipeline ------------------------------------------------------------
IngestFunction = Callable[[list[dict[str, Any]]], Any]


def ingest_function() -> IngestFunction | None:
    """``opinion.ingest.ingest`` when the opinion app provides it, else None (items wait)."""
    try:
        if importlib.util.find_spec("opinion.ingest") is None:
            return None
    except ModuleNotFoundError:
        return None
    module = importlib.import_module("opinion.ingest")
    function = getattr(module, "ingest", None)
    return function if callable(function) else None


def ingest_pending(
    *, source: Source | None = None, limit: int = 20_000, ingest: IngestFunction | None = None
) -> int:
    """Hand stored items not yet ingested to the pipeline, oldest first, in batches. Returns how
    many were ingested. A failing batch is marked with its error and left for the next call."""
    function = ingest or ingest_function()
    if function is None:
        return 0
    done = 0
    while done < limit:
        with transaction.atomic():
            rows = RawItem.objects.pending().order_by("fetched_at", "pk")
            if source is not None:
                rows = rows.filter(source=source)
            # skip_locked: another worker already handing these on is left to it (PostgreSQL).
            batch = list(
                rows.select_for_update(skip_locked=True)[: min(INGEST_BATCH, limit - done)]
            )
            if not batch:
                break
            items = sorted((from_payload(r.payload) for r in batch), key=lambda i: i["time"])
            ids = [r.pk for r in batch]
            try:
                with transaction.atomic():
                    outcome = function(items)
            except Exception as exc:  # the pipeline's failure must not lose the items
                log.exception("ingesting %d stored items failed", len(batch))
                RawItem.objects.filter(pk__in=ids).update(
                    ingest_attempts=F("ingest_attempts") + 1, ingest_error=str(exc)[:2000]
                )
                break
            RawItem.objects.filter(pk__in=ids).update(
                ingested=True,
                ingested_at=timezone.now(),
                ingest_attempts=F("ingest_attempts") + 1,
                ingest_error="",
            )
            # Items the pipeline refused are handed on all the same (its verdict is final);
            # the reason stays on the raw item for whoever wonders where a post went.
            for rejected in getattr(outcome, "rejected", None) or []:
                reason = str(getattr(rejected, "reason", ""))[:2000]
                RawItem.objects.filter(pk__in=ids, item_id=getattr(rejected, "id", None)).update(
                    ingest_error=reason
                )
            done += len(batch)
    return done


# --- polling ------------------------------------------------------------------------------------
def backoff_delay(interval: int, failures: int) -> timedelta:
    """How long after its ``failures``-th failure in a row a source is tried again: the interval
    doubled per failure, never more than MAX_BACKOFF (nor less than the interval)."""
    base = timedelta(seconds=max(1, interval))
    if failures <= 0:
        return base
    return max(base, min(base * 2 ** min(failures, 30), MAX_BACKOFF))


def claim(source: Source, now: datetime) -> bool:
    """Take the source for polling now; False when another process holds it."""
    taken = (
        Source.objects.filter(pk=source.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )
    return bool(taken)


def _log_problems(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept = problems[:PROBLEMS_LOGGED]
    if len(problems) > PROBLEMS_LOGGED:
        kept.append({"message": f"… and {len(problems) - PROBLEMS_LOGGED} more"})
    return kept


def poll_source(
    source: Source,
    *,
    now: datetime | None = None,
    trigger: str = FetchLog.Trigger.SCHEDULE,
    actor: Any = None,
    progress: Progress | None = None,
) -> FetchLog | None:
    """Poll one source now. None when another process is polling it; else its fetch log."""
    started = now or timezone.now()
    fetcher = FETCHERS.get(source.kind)
    if fetcher is None:
        return None
    if not claim(source, started):
        return None
    fetch_log = FetchLog(source=source, started_at=started, trigger=trigger, actor=actor)
    result: FetchResult | None = None
    try:
        result = fetcher.fetch(config_of(source), dict(source.state or {}), progress=progress)
    except FetchError as exc:
        fetch_log.status = FetchLog.Status.ERROR
        fetch_log.error_reason = exc.reason
        fetch_log.error_message = exc.message
        fetch_log.http_status = exc.status
    except Exception as exc:  # a plug-in bug must not stop the scheduler: log it, back off
        log.exception("source %s: plug-in %s failed", source.name, source.kind)
        fetch_log.status = FetchLog.Status.ERROR
        fetch_log.error_reason = "internal"
        fetch_log.error_message = f"{type(exc).__name__}: {exc}"
    finished = timezone.now()
    fetch_log.finished_at = finished
    with transaction.atomic():
        if result is not None:
            stored = store_items(source, result.items, now=finished)
            fetch_log.items_found = stored.found
            fetch_log.items_new = len(stored.new_ids)
            fetch_log.http_status = result.http_status
            fetch_log.problems = _log_problems(result.problems)
            if result.not_modified and not result.items:
                fetch_log.status = FetchLog.Status.NOT_MODIFIED
            elif result.problems:
                fetch_log.status = FetchLog.Status.PARTIAL
            else:
                fetch_log.status = FetchLog.Status.OK
            source.state = result.state
            source.failures = 0
            source.last_ok_at = finished
            source.last_error = ""
        else:
            source.failures += 1
            source.last_error = f"{fetch_log.error_reason}: {fetch_log.error_message}"[:2000]
        source.last_polled_at = finished
        source.next_poll_at = started + backoff_delay(source.interval, source.failures)
        source.lease_until = None
        source.save(
            update_fields=[
                "state",
                "failures",
                "last_ok_at",
                "last_error",
                "last_polled_at",
                "next_poll_at",
                "lease_until",
            ]
        )
        fetch_log.save()
    if result is not None and fetch_log.items_new:
        ingest_pending(source=source)
    return fetch_log


def poll_due(now: datetime | None = None, *, limit: int = 200) -> list[FetchLog]:
    """Poll every enabled source whose time has come, most overdue first, then hand on any
    stored items still waiting for the pipeline."""
    moment = now or timezone.now()
    logs: list[FetchLog] = []
    for source in due_sources(moment, limit=limit):
        fetch_log = poll_source(source, now=timezone.now())
        if fetch_log is not None:
            logs.append(fetch_log)
    ingest_pending()
    return logs


def due_sources(now: datetime, *, limit: int = 200) -> list[Source]:
    return list(
        Source.objects.due(now).order_by(F("next_poll_at").asc(nulls_first=True), "pk")[:limit]
    )


# --- what people do -----------------------------------------------------------------------------
def poll_now(actor: Any, sources: Iterable[Source]) -> list[FetchLog]:
    """A person asks for an immediate poll (admin "poll now", ``minsheng sources poll``)."""
    logs: list[FetchLog] = []
    for source in sources:
        if source.kind not in FETCHERS or (source.kind == Kind.IMPORT and not source.path):
            continue
        with transaction.atomic():
            record(actor, "sources.poll_requested", source, after={"source": source.name})
        fetch_log = poll_source(source, trigger=FetchLog.Trigger.MANUAL, actor=actor)
        if fetch_log is not None:
            logs.append(fetch_log)
    return logs


def import_data(
    actor: Any,
    source: Source,
    data: bytes,
    *,
    name: str,
    progress: Progress | None = None,
) -> FetchLog:
    """Take in an uploaded or named JSONL/CSV file for ``source`` (an import source). Bad lines
    are reported in the log with their numbers and skipped; the rest are stored."""
    from sources.errors import wrong_kind
    from sources.plugins import imports

    if source.kind != Kind.IMPORT:
        raise wrong_kind(source, Kind.IMPORT)
    started = timezone.now()
    items, problems, count = imports.parse(
        data, name=name, source=config_of(source), progress=progress
    )
    with transaction.atomic():
        stored = store_items(source, items)
        fetch_log = FetchLog.objects.create(
            source=source,
            started_at=started,
            finished_at=timezone.now(),
            trigger=FetchLog.Trigger.IMPORT,
            status=FetchLog.Status.PARTIAL if problems else FetchLog.Status.OK,
            items_found=stored.found,
            items_new=len(stored.new_ids),
            problems=_log_problems(problems),
            actor=actor if getattr(actor, "pk", None) else None,
            error_message=f"{name}: {count} records",
        )
        record(
            actor,
            "sources.imported",
            source,
            after={
                "file": name,
                "records": count,
                "new": len(stored.new_ids),
                "bad_lines": sum(1 for p in problems if p.get("line")),
            },
        )
    if stored.new_ids:
        ingest_pending(source=source)
    return fetch_log


@dataclass
class PushResult:
    received: int
    new: int
    duplicates: int
    ingested: int


def push_items(source: Source, items: Sequence[ItemDict], *, actor: Any) -> PushResult:
    """Store items a partner pushed (already validated); idempotent by item id."""
    started = timezone.now()
    with transaction.atomic():
        stored = store_items(source, items)
        FetchLog.objects.create(
            source=source,
            started_at=started,
            finished_at=timezone.now(),
            trigger=FetchLog.Trigger.PUSH,
            status=FetchLog.Status.OK,
            items_found=stored.found,
            items_new=len(stored.new_ids),
            actor=actor if getattr(actor, "pk", None) else None,
        )
        Source.objects.filter(pk=source.pk).update(last_ok_at=timezone.now())
    ingested = ingest_pending(source=source) if stored.new_ids else 0
    return PushResult(len(items), len(stored.new_ids), stored.duplicates, ingested)


def save_source(actor: Any, source: Source, *, changed: Sequence[str] = ()) -> Source:
    """Create or change a source's configuration (the admin's form), audited."""
    created = source.pk is None
    if source.kind == Kind.PUSH and source.partner_id is None:
        from sources.errors import push_needs_partner

        raise push_needs_partner()
    try:
        with transaction.atomic():
            if not created and ({"interval", "enabled", "url", "kind"} & set(changed)):
                source.next_poll_at = None  # a changed configuration is read at the next turn
            source.save()
            record(
                actor,
                "sources.source.created" if created else "sources.source.changed",
                source,
                after={
                    "name": source.name,
                    "kind": source.kind,
                    "url": source.url,
                    "enabled": source.enabled,
                    "changed": list(changed),
                },
            )
    except IntegrityError as exc:
        from sources.errors import name_taken

        raise name_taken(source.name) from exc
    return source
