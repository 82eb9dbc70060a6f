"""Replay a historical stream (JSONL or CSV) through the engine and build the report.

Input rows have ``id``, ``time`` and ``text``, optionally ``source``, ``url``, ``author``,
``parent_id`` and ``reach``. ``time`` is ISO 8601 (``2024-05-01T08:30:00+08:00``), the same with
a space, or POSIX seconds; a time without a zone is Beijing time. Bad rows (malformed JSON, a
missing id or time, an unreadable time, a non-integer reach) are reported with their line number
and skipped; the rest of the stream goes on.

Rows are replayed in time order (a stable sort, so rows with equal times keep file order).
"""

from __future__ import annotations

import csv
import json
import math
import time as _time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from opinion.engine.engine import Engine
from opinion.engine.model import BEIJING, AlertRecord, Item

FIELDS = ("id", "time", "text", "source", "url", "author", "parent_id", "reach")


class ReplayInputError(ValueError):
    """The file as a whole cannot be used (missing, wrong format, no id/time/text columns)."""


@dataclass
class BadLine:
    line: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason}


@dataclass
class ReadResult:
    items: list[Item] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    rows: int = 0


def parse_time(value: Any) -> datetime:
    """An aware datetime from ISO 8601 text or POSIX seconds; naive times are Beijing time."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a time")
        return datetime.fromtimestamp(float(value), BEIJING)
    if not isinstance(value, str) or not value.strip():
        raise ValueError("empty time")
    text = value.strip()
    try:
        return datetime.fromtimestamp(float(text), BEIJING)
    except ValueError:
        pass
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"unreadable time {text!r} (use ISO 8601, e.g. 2024-05-01T08:30:00+08:00)"
        ) from None
    return t if t.tzinfo is not None else t.replace(tzinfo=BEIJING)


def item_from_row(row: dict[str, Any]) -> Item:
    """An Item from a JSON object or CSV row; ValueError names what is wrong."""
    if not isinstance(row, dict):
        raise ValueError("a line must hold a JSON object")
    raw_id = row.get("id")
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
        raise ValueError("missing id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        raise ValueError(f"id must be text or a whole number, got {raw_id!r}")
    if row.get("time") in (None, ""):
        raise ValueError("missing time")
    when = parse_time(row["time"])
    text = row.get("text")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise ValueError("text must be a string")
    reach_raw = row.get("reach")
    reach = 0
    if reach_raw not in (None, ""):
        try:
            reach = int(float(reach_raw))
        except (TypeError, ValueError):
            raise ValueError(f"reach must be a whole number, got {reach_raw!r}") from None
        if reach < 0:
            raise ValueError(f"reach must not be negative, got {reach}")
    parent = row.get("parent_id")
    parent_id = None if parent in (None, "") else str(parent)

    def opt(key: str) -> str:
        v = row.get(key)
        return "" if v is None else str(v)

    return Item(
        id=str(raw_id).strip(),
        time=when,
        text=text,
        source=opt("source"),
        url=opt("url"),
        author=opt("author"),
        parent_id=parent_id,
        reach=reach,
    )


def _rows(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed row or None, error) for each data line."""
    suffix = path.suffix.lower()
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ReplayInputError(f"cannot open {path}: {exc.strerror or exc}") from exc
    with handle:
        if suffix in {".jsonl", ".ndjson", ".json"}:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line), None
                except json.JSONDecodeError as exc:
                    yield number, None, f"malformed JSON ({exc.msg} at column {exc.colno})"
        elif suffix in {".csv", ".tsv"}:
            reader = csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ",")
            header = reader.fieldnames or []
            missing = [c for c in ("id", "time") if c not in header]
            if missing:
                raise ReplayInputError(
                    f"{path}: the header has no {' or '.join(missing)} column "
                    f"(found: {', '.join(header) or 'nothing'})"
                )
            for row in reader:
                yield reader.line_num, row, None
        else:
            raise ReplayInputError(
                f"{path}: use a .jsonl or .csv file (got {suffix or 'no suffix'})"
            )


def read_items(path: str | Path) -> ReadResult:
    """All good items of a file, sorted by time, and the bad lines."""
    p = Path(path)
    if not p.is_file():
        raise ReplayInputError(f"{p} does not exist or is not a file")
    result = ReadResult()
    seen: set[str] = set()
    for number, row, error in _rows(p):
        result.rows += 1
        if error is None:
            try:
                item = item_from_row(row)
            except ValueError as exc:
                error = str(exc)
            else:
                if item.id in seen:
                    error = f"duplicate id {item.id!r}"
                else:
                    seen.add(item.id)
                    result.items.append(item)
                    continue
        result.bad.append(BadLine(number, error))
    result.items.sort(key=lambda it: it.time)
    return result


def replay(
    engine: Engine,
    items: list[Item],
    *,
    batch_size: int = 256,
    progress: Callable[[int], None] | None = None,
    on_alert: Callable[[AlertRecord, float], None] | None = None,
) -> dict[str, Any]:
    """Feed ``items`` in batches; returns timings. ``on_alert(alert, latency_seconds)`` is called
    as each alert is appended, with the wall-clock seconds since its batch entered the engine
    (the item that crossed the threshold waited at most that long)."""
    cpu0, wall0 = _time.process_time(), _time.perf_counter()
    latencies: list[float] = []
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        entered = _time.perf_counter()
        outcomes = engine.process(batch)
        for outcome in outcomes:
            for alert in outcome.alerts:
                latency = _time.perf_counter() - entered
                latencies.append(latency)
                if on_alert is not None:
                    on_alert(alert, latency)
        if progress is not None:
            progress(len(batch))
    return {
        "items": len(items),
        "cpu_seconds": _time.process_time() - cpu0,
        "wall_seconds": _time.perf_counter() - wall0,
        "alert_latencies": latencies,
    }


def build_report(
    engine: Engine, read: ReadResult, timing: dict[str, Any], *, source: str
) -> dict[str, Any]:
    events = [e.to_json() for e in engine.events()]
    alerts = [a.to_json() for a in engine.alerts()]
    cpu = timing["cpu_seconds"]
    return {
        "input": source,
        "counts": {
            "rows": read.rows,
            "items": len(read.items),
            "bad_lines": len(read.bad),
            "events": len(events),
            "events_of_two_or_more": sum(1 for e in events if e["size"] >= 2),
            "alerts": len(alerts),
            "alerts_by_grade": _count(a["grade"] for a in alerts),
        },
        "bad_lines": [b.to_json() for b in read.bad],
        "events": events,
        "alerts": alerts,
        "speed": {
            "cpu_seconds": round(cpu, 3),
            "wall_seconds": round(timing["wall_seconds"], 3),
            "items_per_cpu_second": round(len(read.items) / cpu, 1) if cpu > 0 else None,
        },
    }


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out
