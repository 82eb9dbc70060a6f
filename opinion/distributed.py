"""The 舆情 pipeline over a large historical stream, with its per-post steps on Dask workers.

A backfill reads a JSON Lines file of posts (the replay format: ``id``, ``time``, ``text`` and
optionally ``source``, ``url``, ``author``, ``parent_id``, ``reach``) in file order and writes
one JSON line per post. docs/distributed.md gives the design and the measured figures.

**Distributed (map, one task per byte range of the file, on any worker):** parsing, textkit
normalisation, gazetteer relevance, own text, the sentiment and route models, garbled-text
detection, segmentation, and for every post long enough to be deduplicated the canonical exact
hash, MinHash signature and LSH band keys of its feature text. These read no state, so a task's
result does not depend on which worker ran it or how the file was cut.

**Not distributed (reduce, in the driver, in file order):** everything that depends on earlier
posts: the streaming dedupe (the precomputed signatures are looked up in and added to the one
``DedupeIndex`` in the same order and with the same expiry as the single-process engine, so the
duplicate decisions are identical), relevance through a parent, online clustering into events,
the idf, bursts and graded alerts. The reduce is ``Engine._apply``, the same code the
single-process engine runs after its own ``Engine._prepare``.

``run_single`` is the single-process reference; ``run_distributed`` maps chunks over a Dask
cluster (a LocalCluster of N processes, or an existing scheduler) and keeps at most a few chunks
in flight, so memory is bounded whatever the size of the file.
"""

from __future__ import annotations

import functools
import json
import resource
import time as _time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from opinion.engine import Engine, EngineOptions, Gazetteer, Item, Outcome
from opinion.engine.engine import Prepared
from opinion.engine.replay import item_from_row
from opinion.engine.text import count_chars, feature_text
from textkit.dedupe import DedupeIndex, Match, _canonicalise, _exact_hashes, _seconds
from textkit.normalise import find_garbled
from textkit.segment import Segmenter

__all__ = [
    "BackfillConfig",
    "BackfillError",
    "BackfillSummary",
    "ChunkResult",
    "byte_ranges",
    "check_input",
    "map_chunk",
    "run_distributed",
    "run_single",
]

DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"


class BackfillError(ValueError):
    """The input or the configuration cannot be used (the message says what to change)."""


@dataclass(frozen=True)
class BackfillConfig:
    """Everything a worker needs to build the per-post steps; plain data, cheap to ship.

    ``gazetteer``: Gazetteer.to_json() or None (every post relevant). ``route``/``sentiment``:
    folders of saved textkit models, loaded once per worker process. ``options``:
    EngineOptions.to_json(). ``tokens``: write each post's words into the output.
    """

    gazetteer: dict[str, list[str]] | None = None
    route: str | None = None
    sentiment: str | None = None
    options: dict[str, Any] = field(default_factory=lambda: EngineOptions().to_json())
    tokens: bool = False

    def key(self) -> str:
        return json.dumps(
            [self.gazetteer, self.route, self.sentiment, self.options, self.tokens],
            sort_keys=True,
            ensure_ascii=False,
        )

    def engine(self) -> Engine:
        """A fresh engine with this configuration (models loaded from their folders)."""
        from textkit.route import RouteModel
        from textkit.sentiment import SentimentModel

        try:
            route = RouteModel.load(self.route) if self.route else None
            sentiment = SentimentModel.load(self.sentiment) if self.sentiment else None
        except (OSError, ValueError) as exc:
            raise BackfillError(f"cannot load model: {exc}") from exc
        return Engine(
            gazetteer=Gazetteer.from_json(self.gazetteer) if self.gazetteer else None,
            route=route,
            sentiment=sentiment,
            options=EngineOptions.from_json(self.options),
        )


# -- map: per-post steps that read no state --------------------------------------------------


@dataclass
class Signed:
    """Dedupe inputs computed ahead: for ``rows`` of a chunk, the canonical exact hashes, the
    MinHash signatures and the LSH band keys of their feature texts."""

    rows: npt.NDArray[np.int64]
    hashes: npt.NDArray[np.uint64]
    sigs: npt.NDArray[np.uint32]
    bands: npt.NDArray[np.uint64]


@dataclass
class ChunkResult:
    """One chunk of the file after the map: good items, their precomputed steps, bad lines."""

    start: int
    end: int
    lines: int  # lines in the chunk, for line numbers of bad lines
    items: list[Item]
    prepared: Prepared
    signed: Signed
    garbled: list[list[str]]  # kinds of garbled spans per item
    words: list[list[str]]
    bad: list[tuple[int, str]]  # (line within the chunk, starting at 1; reason)
    cpu_seconds: float


class _Stage:
    """The per-process state of the map: models, segmenter, the dedupe permutations."""

    def __init__(self, config: BackfillConfig) -> None:
        self.engine = config.engine()
        opts = self.engine.options
        self.min_chars = opts.dedupe_min_chars
        self.signer = DedupeIndex(threshold=opts.dedupe_threshold, limit=1)
        self.segmenter = Segmenter()


@functools.lru_cache(maxsize=4)
def _stage(key: str) -> _Stage:
    gazetteer, route, sentiment, options, tokens = json.loads(key)
    return _Stage(BackfillConfig(gazetteer, route, sentiment, options, tokens))


def parse_lines(data: bytes) -> tuple[list[Item], list[tuple[int, str]], int]:
    """Items of JSON Lines ``data`` (whole lines), the bad lines with reasons, the line count."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    items: list[Item] = []
    bad: list[tuple[int, str]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            bad.append((number, f"malformed JSON ({exc.msg} at column {exc.colno})"))
            continue
        except UnicodeDecodeError:
            bad.append((number, "not UTF-8"))
            continue
        try:
            items.append(item_from_row(row))
        except ValueError as exc:
            bad.append((number, str(exc)))
    return items, bad, len(lines)


def sign(signer: DedupeIndex, min_chars: int, texts: list[str]) -> Signed:
    """Dedupe inputs for the normalised ``texts`` the engine would deduplicate, in one numpy pass.

    The same computation as ``DedupeIndex.add_many`` does on the engine's ``feature_text``:
    rows too short (``count_chars < min_chars``) or empty once canonical get none.
    """
    feats = [feature_text(t) for t in texts]
    long_enough = [i for i, f in enumerate(feats) if count_chars(f) >= min_chars]
    canon = _canonicalise([feats[i] for i in long_enough])
    keep = np.flatnonzero(canon.lens > 0)
    hashes = _exact_hashes(canon, keep)
    sigs = signer._signatures(canon, keep, hashes)
    return Signed(
        rows=np.asarray(long_enough, dtype=np.int64)[keep],
        hashes=hashes,
        sigs=sigs,
        bands=signer._band_keys(sigs),
    )


def map_items(
    stage: _Stage, items: list[Item]
) -> tuple[Prepared, Signed, list[list[str]], list[list[str]]]:
    prepared = stage.engine._prepare(items)
    texts = prepared.texts
    signed = sign(stage.signer, stage.min_chars, texts)
    garbled = [[s.kind for s in find_garbled(t)] for t in texts]
    words = stage.segmenter.cut_many(texts)
    return prepared, signed, garbled, words


def map_chunk(config_key: str, path: str, start: int, end: int) -> ChunkResult:
    """The map task: bytes ``[start, end)`` of the file (whole lines) through the per-post steps."""
    cpu0 = _time.process_time()
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(end - start)
    if start == 0 and data.startswith(_BOM):
        data = data[len(_BOM) :]
    items, bad, lines = parse_lines(data)
    stage = _stage(config_key)
    prepared, signed, garbled, words = map_items(stage, items)
    return ChunkResult(
        start=start,
        end=end,
        lines=lines,
        items=items,
        prepared=prepared,
        signed=signed,
        garbled=garbled,
        words=words,
        bad=bad,
        cpu_seconds=_time.process_time() - cpu0,
    )


def byte_ranges(
    path: str | Path, chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> Iterator[tuple[int, int]]:
    """Byte ranges of about ``chunk_bytes`` that end at line ends; found by seeking, not reading."""
    p = Path(path)
    size = p.stat().st_size
    with p.open("rb") as fh:
        start = 0
        while start < size:
            fh.seek(min(start + chunk_bytes, size))
            if fh.tell() < size:
                fh.readline()
            end = fh.tell()
            yield start, end
            start = end


# -- reduce: the stateful steps, in file order -------------------------------------------------


class SignedDedupeIndex(DedupeIndex):
    """A DedupeIndex that takes a text's hash, signature and band keys from ``presigned`` when
    they were computed ahead (keyed by item id) and computes them itself otherwise.

    ``add`` then does what ``add_many`` does for a batch of one: an exact copy of a stored text
    refreshes its time; otherwise the index is searched and the text stored.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.presigned: dict[Hashable, tuple[Any, Any, Any]] = {}

    def add(self, key: Hashable, text: str, time: datetime | float | None = None) -> list[Match]:
        ahead = self.presigned.pop(key, None)
        if ahead is None:
            return super().add(key, text, time)
        hashes, sigs, bands = ahead
        t = _seconds(time)
        stored_as = int(self._stored_copies(hashes)[0])
        if stored_as >= 0:
            self._times[stored_as] = max(self._times[stored_as], t)
            return [Match(self._keys[stored_as], 1.0, True)]
        _, sims, refs = self._best(self._near_in_index(sigs, bands))
        found = [Match(self._keys[r], s, False) for s, r in zip(sims, refs, strict=True)]
        self._store([key], sigs, bands, hashes, np.array([t], dtype=np.float64))
        return found


class _ReduceEngine(Engine):
    def _new_dedupe(self) -> DedupeIndex:
        return SignedDedupeIndex(threshold=self.options.dedupe_threshold, limit=1)

    def apply_chunk(self, chunk: ChunkResult) -> list[Outcome]:
        dedupe = self._dedupe
        assert isinstance(dedupe, SignedDedupeIndex)
        s = chunk.signed
        items = chunk.items
        for j, row in enumerate(s.rows.tolist()):
            dedupe.presigned[items[row].id] = (
                s.hashes[j : j + 1],
                s.sigs[j : j + 1],
                s.bands[j : j + 1],
            )
        try:
            return self._apply(items, chunk.prepared)
        finally:
            dedupe.presigned.clear()  # irrelevant items never asked for theirs


def record(
    outcome: Outcome, garbled: list[str], words: list[str], *, tokens: bool
) -> dict[str, Any]:
    """One output line: what the pipeline made of one post."""
    out: dict[str, Any] = {
        "id": outcome.item_id,
        "relevant": outcome.relevant,
        "duplicate_of": outcome.duplicate_of,
        "category": outcome.category,
        "sentiment": outcome.sentiment,
        "emotion": outcome.emotion,
        "event_id": outcome.event_id,
        "garbled": garbled,
        "words": len(words),
    }
    if tokens:
        out["tokens"] = words
    if outcome.alerts:
        out["alerts"] = [a.grade for a in outcome.alerts]
    return out


@dataclass
class BackfillSummary:
    posts: int = 0
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    relevant: int = 0
    duplicates: int = 0
    events_started: int = 0
    alerts: int = 0
    garbled: int = 0
    wall_seconds: float = 0.0
    map_cpu_seconds: float = 0.0
    reduce_cpu_seconds: float = 0.0
    driver_peak_mb: float = 0.0
    worker_peak_mb: list[float] = field(default_factory=list)
    workers: int = 0
    engine: Engine | None = None  # the engine after the run: its events and alerts

    def to_json(self) -> dict[str, Any]:
        rate = self.posts / self.wall_seconds if self.wall_seconds > 0 else None
        reduce_rate = self.posts / self.reduce_cpu_seconds if self.reduce_cpu_seconds > 0 else None
        return {
            "workers": self.workers,
            "posts": self.posts,
            "bad_lines": len(self.bad_lines),
            "relevant": self.relevant,
            "duplicates": self.duplicates,
            "events_started": self.events_started,
            "alerts": self.alerts,
            "garbled": self.garbled,
            "wall_seconds": round(self.wall_seconds, 3),
            "posts_per_second": None if rate is None else round(rate, 1),
            "map_cpu_seconds": round(self.map_cpu_seconds, 3),
            "reduce_cpu_seconds": round(self.reduce_cpu_seconds, 3),
            "reduce_posts_per_cpu_second": None if reduce_rate is None else round(reduce_rate, 1),
            "driver_peak_mb": round(self.driver_peak_mb, 1),
            "worker_peak_mb": [round(m, 1) for m in self.worker_peak_mb],
        }


class _Writer:
    """Writes output lines and keeps the counts; the reduce side shared by both runners."""

    def __init__(self, out: IO[str] | None, tokens: bool) -> None:
        self.out = out
        self.tokens = tokens
        self.summary = BackfillSummary()
        self._events: set[str] = set()
        self.lines_before = 0

    def write(self, chunk: ChunkResult, outcomes: list[Outcome]) -> None:
        s = self.summary
        for line, reason in chunk.bad:
            s.bad_lines.append((self.lines_before + line, reason))
        self.lines_before += chunk.lines
        s.posts += len(outcomes)
        lines = []
        for i, o in enumerate(outcomes):
            s.relevant += o.relevant
            s.duplicates += o.duplicate_of is not None
            s.alerts += len(o.alerts)
            s.garbled += bool(chunk.garbled[i])
            if self.out is not None:
                lines.append(
                    json.dumps(
                        record(o, chunk.garbled[i], chunk.words[i], tokens=self.tokens),
                        ensure_ascii=False,
                    )
                )
        if self.out is not None and lines:
            self.out.write("\n".join(lines) + "\n")


def check_input(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise BackfillError(f"{p} does not exist or is not a file")
    if p.suffix.lower() not in {".jsonl", ".ndjson"}:
        raise BackfillError(
            f"{p}: a backfill reads JSON Lines (.jsonl), one post a line, so that the file can "
            f"be cut into byte ranges (got {p.suffix or 'no suffix'})"
        )
    return p


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited through exec,
    so a spawned worker reports its own)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


Progress = Callable[[int, int], None]  # (bytes done, posts done)


def run_single(
    path: str | Path,
    config: BackfillConfig,
    out: IO[str] | None = None,
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: Progress | None = None,
) -> BackfillSummary:
    """The single-process pipeline: the plain ``Engine`` in this process, chunk by chunk.

    ``Engine.process`` is ``_apply(_prepare(batch))`` per batch; here the same two steps run on
    each chunk, with garbled detection and segmentation on the prepared texts.
    """
    p = check_input(path)
    eng = config.engine()
    segmenter = Segmenter()
    empty = Signed(
        np.empty(0, np.int64),
        np.empty(0, np.uint64),
        np.empty((0, 0), np.uint32),
        np.empty((0, 0), np.uint64),
    )
    writer = _Writer(out, config.tokens)
    wall0, cpu0 = _time.perf_counter(), _time.process_time()
    for start, end in byte_ranges(p, chunk_bytes):
        with p.open("rb") as fh:
            fh.seek(start)
            data = fh.read(end - start)
        if start == 0 and data.startswith(_BOM):
            data = data[len(_BOM) :]
        items, bad, lines = parse_lines(data)
        prepared = eng._prepare(items)
        outcomes = eng._apply(items, prepared)
        garbled = [[s.kind for s in find_garbled(t)] for t in prepared.texts]
        words = segmenter.cut_many(prepared.texts)
        chunk = ChunkResult(start, end, lines, items, prepared, empty, garbled, words, bad, 0.0)
        writer.write(chunk, outcomes)
        if progress is not None:
            progress(end, writer.summary.posts)
    s = writer.summary
    s.wall_seconds = _time.perf_counter() - wall0
    s.reduce_cpu_seconds = _time.process_time() - cpu0
    s.events_started = eng._next_num - 1
    s.driver_peak_mb = _peak_mb()
    s.engine = eng
    return s


def run_distributed(
    path: str | Path,
    config: BackfillConfig,
    out: IO[str] | None = None,
    *,
    workers: int = 2,
    scheduler: str | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    in_flight: int | None = None,
    progress: Progress | None = None,
) -> BackfillSummary:
    """The backfill with the map on Dask workers and the reduce here, in file order.

    ``workers``: processes of a LocalCluster started for the run (one thread each: the steps
    hold the GIL). ``scheduler``: address of a running Dask scheduler instead; its workers must
    see ``path`` at the same place. ``in_flight``: chunks submitted ahead (default 2 per worker
    + 1), which bounds memory. The summary's ``engine`` is the reduce engine after the run.
    """
    import logging

    from distributed import Client, LocalCluster

    p = check_input(path).resolve()
    # The project's logging would print every scheduler and worker INFO line as JSON.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    reducer = _ReduceEngine(
        gazetteer=Gazetteer.from_json(config.gazetteer) if config.gazetteer else None,
        options=EngineOptions.from_json(config.options),
    )
    writer = _Writer(out, config.tokens)
    cluster = None
    if scheduler is None:
        if workers < 1:
            raise BackfillError(
                f"--workers must be at least 1 for a distributed run, got {workers}"
            )
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: never collide with another cluster
            silence_logs=logging.ERROR,
        )
    client = Client(cluster if cluster is not None else scheduler)
    try:
        n_workers = len(client.scheduler_info()["workers"]) or workers
        ahead = in_flight or 2 * n_workers + 1
        key = config.key()
        wall0 = _time.perf_counter()
        reduce_cpu = 0.0
        pending: deque[Any] = deque()
        ranges = byte_ranges(p, chunk_bytes)
        done = False
        while True:
            while not done and len(pending) < ahead:
                r = next(ranges, None)
                if r is None:
                    done = True
                    break
                pending.append(client.submit(map_chunk, key, str(p), r[0], r[1], pure=False))
            if not pending:
                break
            future = pending.popleft()
            chunk: ChunkResult = future.result()
            future.release()
            # This thread's CPU only: the scheduler and the comms run in threads of this process.
            c0 = _time.thread_time()
            outcomes = reducer.apply_chunk(chunk)
            writer.write(chunk, outcomes)
            reduce_cpu += _time.thread_time() - c0
            writer.summary.map_cpu_seconds += chunk.cpu_seconds
            if progress is not None:
                progress(chunk.end, writer.summary.posts)
        s = writer.summary
        s.wall_seconds = _time.perf_counter() - wall0
        s.reduce_cpu_seconds = reduce_cpu
        s.events_started = reducer._next_num - 1
        s.driver_peak_mb = _peak_mb()
        s.worker_peak_mb = sorted(client.run(_peak_mb).values())
        s.workers = n_workers
        s.engine = reducer
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return s
