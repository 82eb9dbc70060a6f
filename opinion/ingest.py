"""Taking posts in: ``ingest(items)`` validates them, stores them, runs them through the engine
and stores what it made of them (relevance, duplicates, events, alerts), then opens response
tasks and queues notifications after the commit.

Items are dicts from a source (the ``sources`` app, an import, the push API)::

    {"id": "…", "time": datetime or ISO 8601 (no zone = Beijing time), "text": "…",
     "title": "…", "source": "weibo", "url": "…", "author": "…", "parent_id": "…", "reach": 0}

``id`` is unique per ``source``; a second delivery of the same (source, id) is counted in
``IngestResult.already`` and changes nothing, so a source may resend a page safely. A bad item
is refused with a reason in ``IngestResult.rejected``; the rest of the batch goes on.

The engine: one ``opinion.engine.Engine`` per process, kept in memory between calls. Its state
is persisted in ``EngineState`` (zlib-compressed JSON from ``Engine.state_dict``) in the same
transaction as the rows it produced, with a version number; a process whose engine is not at
the row's version (another process ingested, or a transaction rolled back) reloads it with
``Engine.from_state``. The row is locked (``select_for_update``; SQLite's IMMEDIATE transactions
serialise writers already), so two processes never run the same engine state twice. A restart
resumes where the last committed ingest left off. The gazetteer (GazetteerTerm rows plus the
names of active units) and the rules (the newest AlertRule) are re-read when they change.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from opinion.engine import Engine, EngineOptions, EventSummary, Gazetteer, Rules, RulesError
from opinion.engine import Item as EngineItem
from opinion.models import (
    Alert,
    EngineState,
    Event,
    GazetteerTerm,
    Item,
    ResponseTask,
    engine_item_id,
    grade_rank,
)

log = logging.getLogger("minsheng.opinion")

BEIJING = dt.timezone(dt.timedelta(hours=8))
ID_LIMIT = 200
SOURCE_LIMIT = 64
TEXT_LIMIT = 100_000
# Live engines forget closed events three days after they close, so the state stays bounded.
DEFAULT_OPTIONS: dict[str, Any] = {"forget_after_hours": 72.0}


@dataclass
class Rejected:
    index: int
    id: str
    reason: str


@dataclass
class IngestResult:
    received: int = 0
    stored: int = 0
    already: int = 0  # (source, id) seen before: nothing changed
    relevant: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    events: list[int] = field(default_factory=list)  # Event pks created or changed
    alerts: list[int] = field(default_factory=list)  # Alert pks raised by this batch
    tasks: list[int] = field(default_factory=list)  # ResponseTask pks opened

    def to_json(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "stored": self.stored,
            "already": self.already,
            "relevant": self.relevant,
            "rejected": [r.__dict__ for r in self.rejected],
            "events": self.events,
            "alerts": self.alerts,
            "tasks": self.tasks,
        }


@dataclass
class _Clean:
    source: str
    id: str
    time: dt.datetime
    text: str
    title: str
    url: str
    author: str
    parent_id: str
    reach: int


# --- validation -------------------------------------------------------------------------------
def _parse_time(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        parsed = dt.datetime.fromtimestamp(float(value), dt.UTC)
    elif isinstance(value, str) and value.strip():
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    else:
        raise ValueError("time is missing")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=BEIJING)
    return parsed


def _text(raw: dict[str, Any], key: str, limit: int) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise ValueError(f"{key} must be text")
    return str(value).strip()[:limit]


def _clean(raw: Any) -> _Clean:
    if not isinstance(raw, dict):
        raise ValueError("an item must be an object")
    ident = raw.get("id")
    if not isinstance(ident, str | int) or isinstance(ident, bool) or not str(ident).strip():
        raise ValueError("id is missing")
    ident = str(ident).strip()
    if len(ident) > ID_LIMIT:
        raise ValueError(f"id is longer than {ID_LIMIT} characters")
    source = _text(raw, "source", 1000)
    if not source:
        raise ValueError("source is missing")
    if len(source) > SOURCE_LIMIT:
        raise ValueError(f"source is longer than {SOURCE_LIMIT} characters")
    try:
        time = _parse_time(raw.get("time"))
    except (ValueError, OverflowError, OSError) as exc:
        raise ValueError(f"time cannot be read: {exc}") from None
    text = _text(raw, "text", TEXT_LIMIT)
    title = _text(raw, "title", 300)
    if not text and not title:
        raise ValueError("text is empty")
    url = _text(raw, "url", 1000)
    if url and not url.startswith(("http://", "https://")):
        raise ValueError("url must start with http:// or https://")
    reach = raw.get("reach") or 0
    if isinstance(reach, bool) or not isinstance(reach, int | float) or reach < 0:
        raise ValueError("reach must be a whole number ≥ 0")
    parent = raw.get("parent_id")
    parent_id = "" if parent in (None, "") else str(parent).strip()[:ID_LIMIT]
    return _Clean(
        source=source,
        id=ident,
        time=time,
        text=text,
        title=title,
        url=url,
        author=_text(raw, "author", 128),
        parent_id=parent_id,
        reach=int(reach),
    )


# --- the engine of this process ---------------------------------------------------------------
@dataclass
class _Runtime:
    engine: Engine
    generation: int
    version: int
    config: tuple[Any, ...]


_lock = threading.RLock()
_runtime: _Runtime | None = None
_config_cache: tuple[tuple[Any, ...], Gazetteer, Rules] | None = None


def forget_engine() -> None:
    """Drop this process's engine: the next ingest reloads it from the stored state."""
    global _runtime
    with _lock:
        _runtime = None


def forget_config() -> None:
    """The gazetteer or the rules changed: read them again at the next ingest."""
    global _config_cache
    with _lock:
        _config_cache = None


def _config_stamp() -> tuple[Any, ...]:
    from opinion.models import AlertRule
    from org.models import Unit

    terms = GazetteerTerm.objects.aggregate(n=Count("pk"), t=Max("updated"))
    units = Unit.objects.aggregate(n=Count("pk"), t=Max("updated"))
    rule = AlertRule.objects.aggregate(v=Max("version"))
    return (terms["n"], terms["t"], units["n"], units["t"], rule["v"])


def build_gazetteer() -> Gazetteer:
    """The analysts' terms plus every active unit's name and short name (units count as ours)."""
    from org.models import Unit

    gazetteer = Gazetteer()
    for kind, term in GazetteerTerm.objects.filter(active=True).values_list("kind", "term"):
        gazetteer.terms_of(kind).add(term)
    for name, short in Unit.objects.filter(active=True).values_list("name", "short_name"):
        gazetteer.units.add(name)
        if short:
            gazetteer.units.add(short)
    return gazetteer


def build_rules() -> Rules:
    from opinion.services import current_rules

    try:
        return Rules.from_json(current_rules())
    except RulesError:  # saved rules were validated; a hand-edited row must not stop intake
        log.exception("stored opinion rules are invalid; using the defaults")
        return Rules()


def _config() -> tuple[tuple[Any, ...], Gazetteer, Rules]:
    global _config_cache
    stamp = _config_stamp()
    if _config_cache is None or _config_cache[0] != stamp:
        _config_cache = (stamp, build_gazetteer(), build_rules())
    return _config_cache


def _models() -> tuple[Any, Any]:
    """The route model (appeals' router, if trained) and a sentiment model in
    ``DATA_DIR/models/sentiment`` (if installed); either may be None."""
    from appeals.suggest import load_model

    route = load_model()
    return route, _sentiment_model()


_sentiment_cache: dict[str, Any] = {}


def _sentiment_model() -> Any:
    folder = Path(settings.DATA_DIR) / "models" / "sentiment"
    meta = folder / "model.json"
    try:
        stamp = (meta.stat().st_mtime_ns, meta.stat().st_size)
    except FileNotFoundError:
        return None
    cached = _sentiment_cache.get("model")
    if cached is not None and cached[0] == stamp:
        return cached[1]
    from textkit.sentiment import SentimentModel

    try:
        model = SentimentModel.load(folder)
    except (OSError, ValueError) as exc:
        log.warning("sentiment model cannot be loaded: %s", exc)
        return None
    _sentiment_cache["model"] = (stamp, model)
    return model


def _options() -> EngineOptions:
    return EngineOptions.from_json({**DEFAULT_OPTIONS, **getattr(settings, "OPINION_ENGINE", {})})


def _state_row() -> EngineState:
    row = EngineState.objects.select_for_update().order_by("-generation").first()
    if row is None:
        EngineState.objects.create(generation=1)
        row = EngineState.objects.select_for_update().order_by("-generation").first()
        assert row is not None
    return row


def _engine_for(row: EngineState) -> Engine:
    """This process's engine at the row's version, with the current gazetteer and rules."""
    global _runtime
    stamp, gazetteer, rules = _config()
    route, sentiment = _models()
    config = (stamp, id(route), id(sentiment))
    rt = _runtime
    if rt is None or rt.generation != row.generation or rt.version != row.version:
        if row.state:
            state = json.loads(zlib.decompress(bytes(row.state)))
            engine = Engine.from_state(
                state, gazetteer=gazetteer, rules=rules, route=route, sentiment=sentiment
            )
        else:
            engine = Engine(
                gazetteer=gazetteer,
                rules=rules,
                route=route,
                sentiment=sentiment,
                options=_options(),
            )
        rt = _runtime = _Runtime(engine, row.generation, row.version, config)
    elif rt.config != config:
        rt.engine.gazetteer = gazetteer
        rt.engine.rules = rules
        rt.engine.route = route
        rt.engine.sentiment = sentiment
        rt.config = config
    return rt.engine


def _save_state(row: EngineState, engine: Engine) -> None:
    assert _runtime is not None
    state = engine.state_dict()
    blob = zlib.compress(json.dumps(state, separators=(",", ":")).encode(), 3)
    row.version += 1
    EngineState.objects.filter(pk=row.pk).update(
        version=row.version,
        state=blob,
        items_seen=int(state.get("items_seen") or 0),
        updated=timezone.now(),
    )
    _runtime.version = row.version


# --- ingest -----------------------------------------------------------------------------------
def ingest(items: list[dict[str, Any]], *, now: dt.datetime | None = None) -> IngestResult:
    """Store and process a batch of items (any order; the engine sees them in time order)."""
    now = now or timezone.now()
    result = IngestResult(received=len(items))
    cleaned: list[_Clean] = []
    seen: set[tuple[str, str]] = set()
    for index, raw in enumerate(items):
        try:
            item = _clean(raw)
        except ValueError as exc:
            ident = str(raw.get("id", "")) if isinstance(raw, dict) else ""
            result.rejected.append(Rejected(index, ident[:ID_LIMIT], str(exc)))
            continue
        key = (item.source, item.id)
        if key in seen:
            result.already += 1
            continue
        seen.add(key)
        cleaned.append(item)
    if not cleaned:
        return result
    with _lock:
        try:
            with transaction.atomic():
                _ingest_locked(cleaned, result, now)
        except BaseException:
            # The engine has moved on in memory but nothing was stored: start from the row.
            forget_engine()
            raise
    return result


def _existing(cleaned: list[_Clean]) -> set[tuple[str, str]]:
    by_source: dict[str, list[str]] = {}
    for c in cleaned:
        by_source.setdefault(c.source, []).append(c.id)
    found: set[tuple[str, str]] = set()
    for source, ids in by_source.items():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            found.update(
                (source, ext)
                for ext in Item.objects.filter(source=source, external_id__in=chunk).values_list(
                    "external_id", flat=True
                )
            )
    return found


def _ingest_locked(cleaned: list[_Clean], result: IngestResult, now: dt.datetime) -> None:
    row = _state_row()
    existing = _existing(cleaned)
    fresh = [c for c in cleaned if (c.source, c.id) not in existing]
    result.already += len(cleaned) - len(fresh)
    if not fresh:
        return
    fresh.sort(key=lambda c: c.time)
    stored = Item.objects.bulk_create(
        [
            Item(
                source=c.source,
                external_id=c.id,
                time=c.time,
                title=c.title,
                text=c.text,
                url=c.url,
                author=c.author,
                parent_id=c.parent_id,
                reach=c.reach,
                stored_at=now,
            )
            for c in fresh
        ],
        batch_size=500,
    )
    if any(s.pk is None for s in stored):  # a backend that does not return ids
        keys = {(s.source, s.external_id) for s in stored}
        lookup = {
            (i.source, i.external_id): i
            for i in Item.objects.filter(
                source__in={k[0] for k in keys}, external_id__in=[k[1] for k in keys]
            )
        }
        stored = [lookup[(s.source, s.external_id)] for s in stored]
    result.stored = len(stored)
    by_engine_id = {s.engine_id: s for s in stored}

    engine = _engine_for(row)
    outcomes = engine.process(
        [
            EngineItem(
                id=engine_item_id(c.source, c.id),
                time=c.time,
                text=f"{c.title}\n{c.text}" if c.title and c.title not in c.text else c.text,
                source=c.source,
                url=c.url,
                author=c.author,
                parent_id=engine_item_id(c.source, c.parent_id) if c.parent_id else None,
                reach=c.reach,
            )
            for c in fresh
        ]
    )
    _store_outcomes(engine, row.generation, outcomes, by_engine_id, result, now)
    _save_state(row, engine)


def _store_outcomes(
    engine: Engine,
    generation: int,
    outcomes: list[Any],
    items: dict[str, Item],
    result: IngestResult,
    now: dt.datetime,
) -> None:
    from opinion import notifications, services

    # Events the batch touched (and those they merged into), plus the open ones of this
    # generation, which the engine may have closed or forgotten while time moved on.
    touched: set[str] = set()
    unit_terms: dict[str, list[str]] = {}
    for o in outcomes:
        if o.event_id:
            touched.add(o.event_id)
            units = [term for kind, term in o.matched_terms if kind == "unit"]
            if units:
                unit_terms.setdefault(o.event_id, []).extend(units)
        for a in o.alerts:
            touched.add(a.event_id)
    open_ids = set(
        Event.objects.filter(generation=generation, status=Event.Status.OPEN).values_list(
            "engine_id", flat=True
        )
    )
    summaries: dict[str, EventSummary | None] = {}
    pending = list(touched | open_ids)
    while pending:
        eid = pending.pop()
        if eid in summaries:
            continue
        summary = engine.event(eid)
        summaries[eid] = summary
        if summary is not None and summary.merged_into and summary.merged_into not in summaries:
            pending.append(summary.merged_into)
    rows = _upsert_events(generation, summaries, unit_terms)
    result.events = sorted({r.pk for eid, r in rows.items() if eid in touched})

    # Items: what the engine decided, and the event each belongs to now (after merges).
    dup_ids = {o.duplicate_of for o in outcomes if o.duplicate_of and o.duplicate_of not in items}
    dups = _items_by_engine_id(dup_ids)
    changed: list[Item] = []
    for o in outcomes:
        item = items.get(o.item_id)
        if item is None:
            continue
        item.relevant = bool(o.relevant)
        result.relevant += int(item.relevant)
        target = items.get(o.duplicate_of) if o.duplicate_of else None
        item.duplicate_of = target or (dups.get(o.duplicate_of) if o.duplicate_of else None)
        item.category = (o.category or "")[:128]
        item.sentiment = (o.sentiment or "")[:16]
        item.matched_terms = [list(m) for m in o.matched_terms]
        current = engine.event_of(o.item_id) if o.event_id else None
        item.event = rows.get(current) if current else None
        changed.append(item)
    Item.objects.bulk_update(
        changed,
        ["relevant", "duplicate_of", "category", "sentiment", "matched_terms", "event"],
        batch_size=500,
    )

    # Alerts, each opening (or tightening) a response task; notifications after the commit.
    for o in outcomes:
        for a in o.alerts:
            event = rows.get(a.event_id)
            if event is None:  # pragma: no cover - the engine alerts only on events it keeps
                log.warning("alert on unknown event %s dropped", a.event_id)
                continue
            while event.merged_into_id is not None and event.merged_into is not None:
                event = event.merged_into
            alert = Alert.objects.create(
                event=event,
                grade=a.grade,
                reason=a.reason,
                kind=a.kind,
                keyword=(a.keyword or "")[:128],
                rule=a.rule[:64],
                features=a.features,
                item=items.get(a.item_id) if a.item_id else None,
                raised_at=a.time,
                stored_at=now,
            )
            result.alerts.append(alert.pk)
            if grade_rank(a.grade) > grade_rank(event.grade):
                Event.objects.filter(pk=event.pk).update(grade=a.grade)
                event.grade = a.grade
            task, created = services.open_task_for_alert(alert, now=now)
            if created:
                result.tasks.append(task.pk)
            notifications.notify_alert(alert.pk, task.pk)


def _items_by_engine_id(ids: set[str]) -> dict[str, Item]:
    out: dict[str, Item] = {}
    by_source: dict[str, list[str]] = {}
    for eid in ids:
        source, _sep, ext = eid.partition(":")
        by_source.setdefault(source, []).append(ext)
    for source, exts in by_source.items():
        for item in Item.objects.filter(source=source, external_id__in=exts):
            out[item.engine_id] = item
    return out


def _upsert_events(
    generation: int,
    summaries: dict[str, EventSummary | None],
    unit_terms: dict[str, list[str]],
) -> dict[str, Event]:
    existing = {
        e.engine_id: e
        for e in Event.objects.filter(generation=generation, engine_id__in=list(summaries))
    }
    rows: dict[str, Event] = {}
    for eid, s in summaries.items():
        row = existing.get(eid)
        if s is None:
            # Forgotten by the engine (closed long ago): it stays as it was, closed.
            if row is not None and row.status == Event.Status.OPEN:
                Event.objects.filter(pk=row.pk).update(status=Event.Status.CLOSED)
                row.status = Event.Status.CLOSED
            if row is not None:
                rows[eid] = row
            continue
        fields = {
            "first_time": s.first_time,
            "last_time": s.last_time,
            "size": s.size,
            "reach": s.reach,
            "key_terms": s.key_terms,
            "representative_text": s.representative_text,
            "sentiment": s.sentiment,
            "sensitive_terms": s.sensitive_terms,
            "category": (s.category or "")[:128],
            "status": (
                Event.Status.MERGED
                if s.merged_into
                else (Event.Status.OPEN if s.open else Event.Status.CLOSED)
            ),
        }
        if row is None:
            row = Event(generation=generation, engine_id=eid, **fields)
            if s.grade:
                row.grade = s.grade
            row.unit_terms = list(dict.fromkeys(unit_terms.get(eid, [])))
            row.save()
        else:
            for key, value in fields.items():
                setattr(row, key, value)
            if s.grade and grade_rank(s.grade) > grade_rank(row.grade):
                row.grade = s.grade
            row.unit_terms = list(dict.fromkeys([*row.unit_terms, *unit_terms.get(eid, [])]))
            row.save()
        rows[eid] = row
    # Merges: the absorbed event points at its absorber and hands over its items and tasks.
    for eid, s in summaries.items():
        if s is None or not s.merged_into:
            continue
        row, target = rows[eid], rows.get(s.merged_into)
        if target is None or row.merged_into_id == target.pk:
            continue
        row.merged_into = target
        row.save(update_fields=["merged_into"])
        Item.objects.filter(event=row).update(event=target)
        Alert.objects.filter(event=row).update(event=target)
        ResponseTask.objects.filter(event=row).update(event=target)
        if grade_rank(row.grade) > grade_rank(target.grade):
            Event.objects.filter(pk=target.pk).update(grade=row.grade)
            target.grade = row.grade
    return rows


def reset_engine() -> EngineState:
    """Start a fresh engine generation (after an engine upgrade changes its state format).
    Stored events stay; new events get new engine ids in the new generation."""
    with transaction.atomic():
        last = EngineState.objects.select_for_update().order_by("-generation").first()
        row = EngineState.objects.create(generation=(last.generation + 1) if last else 1)
    forget_engine()
    return row
