"""The 舆情 engine on real Weibo cascades: event clustering, burst alerts and speed.

    .venv/bin/python bench/opinion.py [DATA] [--baseline-grid 0.1,0.15,...] [--quick]

DATA is the shared data folder (default ../shared/data beside the repository). The stream is the
240 visible cascades of ced_weibo_rumor: each source post (ced_events.csv; id = its event id,
reach = its author's followers) and its reposts (ced_reposts_sample240.csv; id = mid; parent =
parent_mid, or the source post when parent_mid is empty), in time order. The four dates written
``MM月DD日 HH:MM`` take the year of their source post (the next year if that would put them
before it). 53 mids occur twice; the second copy gets the id ``mid~2``.

**Events.** Ground truth is the cascade. Scored items: those with at least 10 characters of
their own text, as opinion.engine.text.own_text_length defines it (the text before the first
``//@``, without ``回复@name:``, @mentions, URLs and emoticon codes; letters and digits counted).
Items the engine leaves without an event count as singletons. Figures: B-cubed precision, recall
and F1, and NMI (arithmetic normalisation), (1) with parent_id given, (2) with text alone (every
parent_id withheld), (3) a single-pass TF-IDF cosine baseline on the same stream: sklearn
``TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True)`` fitted on all the
stream's texts (more than an online method can know), every item with text compared with the
centroid of every cluster so far (exact, no candidate pruning, no time), joining the best at or
above a threshold or starting a new cluster.

**Fairness of thresholds.** The cascades are split by the parity of the first byte of
sha1(event id) into A (tuning) and B (held out). The baseline's threshold is the best B-cubed F1
on A over ``--baseline-grid``; the engine's options are its defaults, which were chosen on A
(docs/opinion-eval.md says how). Both are reported on A, on B and on all 240.

**Bursts** (parent_id given, default rules): for the cascades whose 100th item comes within 24 h of
their source post, the share with an alert on their event at or before their 100th item and the
median stream time from the source post to that alert; false alerts = alerts whose event's
majority cascade never exceeds 20 items (and, for information, alerts on cascades that never
reach 100 items within 24 h).

**Speed**: the whole stream written as JSONL, then read, replayed and reported by
opinion.engine.replay in this process at full speed: items per CPU second (per core) end to end,
and the wall-clock seconds from the batch holding the threshold-crossing item entering the engine
to its alert being appended. Once without models, once with a textkit sentiment model trained on
the SMP2020-EWECT training split (training not timed).

The last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parent
if __name__ == "__main__":
    # Run as a script, bench/ is sys.path[0] and this file would shadow the opinion package.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
    sys.path.insert(0, str(_REPO))

import argparse  # noqa: E402
import csv  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from opinion.engine import Engine, EngineOptions, Item  # noqa: E402
from opinion.engine.model import BEIJING  # noqa: E402
from opinion.engine.replay import build_report, read_items, replay  # noqa: E402
from opinion.engine.text import own_text_length  # noqa: E402

MIN_OWN_CHARS = 10


@dataclass
class Stream:
    items: list[Item]
    truth: dict[str, str]  # item id → cascade (event id)
    scored: list[str]  # item ids with ≥ MIN_OWN_CHARS own characters


def split_of(event_id: str) -> str:
    digest = hashlib.sha1(event_id.encode(), usedforsecurity=False).digest()
    return "A" if digest[0] % 2 == 0 else "B"


def _parse_date(raw: str, source_time: datetime) -> datetime:
    raw = raw.strip()
    if raw[:4].isdigit():
        return datetime.fromisoformat(raw).replace(tzinfo=BEIJING)
    # "MM月DD日 HH:MM": Weibo leaves the year out for the current year.
    month, rest = raw.split("月", 1)
    day, clock = rest.split("日", 1)
    hour, minute = clock.strip().split(":")
    t = datetime(source_time.year, int(month), int(day), int(hour), int(minute), tzinfo=BEIJING)
    if t < source_time:
        t = t.replace(year=t.year + 1)
    return t


def load_stream(data: Path, split: str | None = None) -> Stream:
    folder = data / "ced_weibo_rumor"
    with (folder / "ced_reposts_sample240.csv").open(encoding="utf-8", newline="") as fh:
        reposts = list(csv.DictReader(fh))
    wanted = {r["event_id"] for r in reposts}
    if split is not None:
        wanted = {e for e in wanted if split_of(e) == split}
    sources: dict[str, dict[str, str]] = {}
    with (folder / "ced_events.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["event_id"] in wanted:
                sources[row["event_id"]] = row
    items: list[Item] = []
    truth: dict[str, str] = {}
    source_time: dict[str, datetime] = {}
    for eid, row in sources.items():
        t = datetime.fromisoformat(row["time"]).replace(tzinfo=BEIJING)
        source_time[eid] = t
        followers = row.get("user_followers") or "0"
        items.append(
            Item(id=eid, time=t, text=row["text"], source="weibo", reach=int(float(followers)))
        )
        truth[eid] = eid
    seen: set[str] = set()
    for r in reposts:
        eid = r["event_id"]
        if eid not in wanted:
            continue
        mid = r["mid"]
        if mid in seen:
            mid = mid + "~2"
        seen.add(mid)
        items.append(
            Item(
                id=mid,
                time=_parse_date(r["date"], source_time[eid]),
                text=r["text"],
                source="weibo",
                author=r["uid_hash"],
                parent_id=r["parent_mid"] or eid,
            )
        )
        truth[mid] = eid
    items.sort(key=lambda it: it.time)  # stable: a source post precedes reposts of its second
    scored = [it.id for it in items if own_text_length(it.text) >= MIN_OWN_CHARS]
    return Stream(items, truth, scored)


# -- scores ---------------------------------------------------------------------------------


def bcubed(pred: dict[str, str], truth: dict[str, str], ids: list[str]) -> dict[str, float]:
    """B-cubed precision/recall/F1 and NMI over ``ids``; a missing prediction is a singleton."""
    from sklearn.metrics import normalized_mutual_info_score

    labels_p = [pred.get(i) or f"single:{i}" for i in ids]
    labels_t = [truth[i] for i in ids]
    pair = Counter(zip(labels_p, labels_t, strict=True))
    size_p = Counter(labels_p)
    size_t = Counter(labels_t)
    precision = sum(n * n / size_p[p] for (p, _), n in pair.items()) / len(ids)
    recall = sum(n * n / size_t[t] for (_, t), n in pair.items()) / len(ids)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    nmi = float(normalized_mutual_info_score(labels_t, labels_p))
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "nmi": round(nmi, 4),
        "items": len(ids),
        "clusters": len(size_p),
    }


def run_engine(
    stream: Stream, *, with_parent: bool, options: EngineOptions | None = None
) -> tuple[Engine, dict[str, str]]:
    items = stream.items if with_parent else [replace(it, parent_id=None) for it in stream.items]
    engine = Engine(options=options)
    engine.process(items)
    pred = {}
    for it in items:
        ev = engine.event_of(it.id)
        if ev is not None:
            pred[it.id] = ev
    return engine, pred


def baseline_clusters(stream: Stream, threshold: float) -> dict[str, str]:
    """Single-pass TF-IDF cosine clustering (see the module doc), exact and vectorised."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from textkit.normalise import normalise_many

    texts = normalise_many([it.text for it in stream.items])
    rows = [i for i, t in enumerate(texts) if t.strip()]
    vec = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), sublinear_tf=True, dtype=np.float32)
    x = vec.fit_transform([texts[i] for i in rows]).tocsr()
    n = x.shape[0]
    label = np.full(n, -1, dtype=np.int64)
    sq_norm: list[float] = []  # |centroid sum|² per cluster
    xt = x.T.tocsr()
    chunk = 512
    for c0 in range(0, n, chunk):
        c1 = min(n, c0 + chunk)
        # Dot products of this chunk with every item up to its end; centroid dots are sums.
        dots = np.asarray((x[c0:c1] @ xt[:, :c1]).todense(), dtype=np.float64)
        for j in range(c1 - c0):
            i = c0 + j
            k = len(sq_norm)
            if k:
                cdots = np.bincount(label[:i], weights=dots[j, :i], minlength=k)
                cos = cdots / np.sqrt(np.maximum(np.asarray(sq_norm), 1e-12))
                best = int(np.argmax(cos))
                if cos[best] >= threshold:
                    label[i] = best
                    sq_norm[best] += 2 * cdots[best] + dots[j, i]
                    continue
            label[i] = k
            sq_norm.append(float(dots[j, i]))
    return {stream.items[rows[r]].id: f"B{label[r]}" for r in range(n)}


# -- bursts ---------------------------------------------------------------------------------


def burst_figures(stream: Stream, engine: Engine, pred: dict[str, str]) -> dict[str, Any]:
    times: dict[str, list[datetime]] = defaultdict(list)
    order: dict[str, list[str]] = defaultdict(list)
    for it in stream.items:
        times[stream.truth[it.id]].append(it.time)
        order[stream.truth[it.id]].append(it.id)
    members: dict[str, Counter[str]] = defaultdict(Counter)
    for item_id, ev in pred.items():
        members[ev][stream.truth[item_id]] += 1
    majority = {ev: c.most_common(1)[0][0] for ev, c in members.items()}
    fast = {
        c for c, ts in times.items() if len(ts) >= 100 and ts[99] - ts[0] <= timedelta(hours=24)
    }
    small = {c for c, ts in times.items() if len(ts) <= 20}
    first_alert: dict[str, datetime] = {}
    false_alerts = 0
    slow_alerts = 0
    for a in engine.alerts():
        now = engine.event_of(a.item_id) if a.item_id else None
        cascade = majority.get(now or a.event_id)
        if cascade is None:
            continue
        if cascade in small:
            false_alerts += 1
        if cascade not in fast:
            slow_alerts += 1
        if cascade not in first_alert or a.time < first_alert[cascade]:
            first_alert[cascade] = a.time
    hit = [c for c in fast if c in first_alert and first_alert[c] <= times[c][99]]
    delays = [(first_alert[c] - times[c][0]).total_seconds() / 3600 for c in hit]
    to_100 = [(times[c][99] - times[c][0]).total_seconds() / 3600 for c in fast]
    return {
        "fast_cascades": len(fast),
        "alerted_before_100th": len(hit),
        "share_alerted_before_100th": round(len(hit) / len(fast), 4) if fast else None,
        "median_hours_first_item_to_alert": round(statistics.median(delays), 3) if delays else None,
        "median_hours_first_item_to_100th": round(statistics.median(to_100), 3) if to_100 else None,
        "small_cascades": len(small),
        "false_alerts_on_small": false_alerts,
        "alerts_on_cascades_not_fast": slow_alerts,
        "alerts": len(engine.alerts()),
        "alerts_by_grade": dict(Counter(a.grade for a in engine.alerts())),
    }


# -- speed ----------------------------------------------------------------------------------


def train_sentiment(data: Path) -> Any:
    """A textkit sentiment model trained on the SMP2020-EWECT training split (not timed)."""
    from textkit.sentiment import SentimentModel

    texts: list[str] = []
    labels: list[str] = []
    with (data / "smp2020_ewect" / "smp2020_ewect_weibo_emotion.csv").open(
        encoding="utf-8", newline=""
    ) as fh:
        for row in csv.DictReader(fh):
            if row["split"] == "train" and row["content"].strip():
                texts.append(row["content"])
                labels.append(row["label"])
    return SentimentModel.train(texts, labels)


def speed(stream: Stream, batch: int, sentiment: Any = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for it in stream.items:
                row = {
                    "id": it.id,
                    "time": it.time.isoformat(),
                    "text": it.text,
                    "source": it.source,
                    "author": it.author,
                    "parent_id": it.parent_id,
                    "reach": it.reach,
                }
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        read = read_items(path)
        engine = Engine(sentiment=sentiment)
        latencies: list[float] = []
        stored: list[str] = []

        def on_alert(alert: Any, latency: float) -> None:
            # "Stored": the alert appended to the output list as it is raised.
            stored.append(json.dumps(alert.to_json(), ensure_ascii=False))
            latencies.append(latency)

        timing = replay(engine, read.items, batch_size=batch, on_alert=on_alert)
        report = build_report(engine, read, timing, source=str(path))
        (Path(tmp) / "report.json").write_text(json.dumps(report, ensure_ascii=False))
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - wall0
    n = len(stream.items)
    return {
        "items": n,
        "batch": batch,
        "cpu_seconds": round(cpu, 2),
        "wall_seconds": round(wall, 2),
        "items_per_cpu_second": round(n / cpu),
        "items_per_wall_second": round(n / wall),
        "engine_cpu_seconds": round(timing["cpu_seconds"], 2),
        "alerts": len(latencies),
        "alert_latency_median_s": round(statistics.median(latencies), 4) if latencies else None,
        "alert_latency_max_s": round(max(latencies), 4) if latencies else None,
    }


def _machine() -> str:
    model = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", default=str(_REPO.parent / "shared" / "data"))
    parser.add_argument(
        "--baseline-grid",
        default="0.02,0.05,0.1,0.15,0.2,0.3,0.4",
        help="thresholds tried for the baseline on split A",
    )
    parser.add_argument("--batch", type=int, default=256, help="items per engine call (speed)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline (faster)")
    parser.add_argument(
        "--no-sentiment",
        action="store_true",
        help="skip the speed run with a sentiment model (trained on SMP2020-EWECT train)",
    )
    args = parser.parse_args(argv)
    data = Path(args.data)
    load0 = "/".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"machine: {_machine()}; load average {load0}")

    streams = {"A": load_stream(data, "A"), "B": load_stream(data, "B"), "all": load_stream(data)}
    for name, s in streams.items():
        print(
            f"stream {name}: {len(s.items):,} items, {len(set(s.truth.values()))} cascades, "
            f"{len(s.scored):,} scored (≥{MIN_OWN_CHARS} own characters)"
        )
    results: dict[str, Any] = {"events": {}}
    for mode, with_parent in (("parent", True), ("text", False)):
        for name, s in streams.items():
            _, pred = run_engine(s, with_parent=with_parent)
            r = bcubed(pred, s.truth, s.scored)
            results["events"][f"{mode}_{name}"] = r
            print(f"engine, {mode:<6} {name:<3}: {_fmt(r)}")
    for name, s in streams.items():
        _, pred = run_engine(s, with_parent=False, options=EngineOptions(activity_weight=0.0))
        r = bcubed(pred, s.truth, s.scored)
        results["events"][f"text_no_prior_{name}"] = r
        print(f"engine, text without the activity prior, {name:<3}: {_fmt(r)}")
    if not args.no_baseline:
        grid = [float(v) for v in args.baseline_grid.split(",")]
        tuning = {}
        for th in grid:
            tuning[th] = bcubed(
                baseline_clusters(streams["A"], th), streams["A"].truth, streams["A"].scored
            )
            print(f"baseline on A, threshold {th:.2f}: {_fmt(tuning[th])}")
        best = max(grid, key=lambda th: tuning[th]["f1"])
        results["baseline_threshold"] = best
        for name in ("A", "B", "all"):
            s = streams[name]
            r = (
                tuning[best]
                if name == "A"
                else bcubed(baseline_clusters(s, best), s.truth, s.scored)
            )
            results["events"][f"baseline_{name}"] = r
            print(f"baseline ({best:.2f}) {name:<3}: {_fmt(r)}")

    s = streams["all"]
    engine, pred = run_engine(s, with_parent=True)
    results["bursts"] = burst_figures(s, engine, pred)
    print("bursts (parent_id given, all 240):", json.dumps(results["bursts"], ensure_ascii=False))
    results["speed"] = speed(s, args.batch)
    print("speed:", json.dumps(results["speed"]))
    if not args.no_sentiment:
        model = train_sentiment(data)
        results["speed_with_sentiment"] = speed(s, args.batch, sentiment=model)
        print("speed with a sentiment model:", json.dumps(results["speed_with_sentiment"]))
    results["load_average"] = [load0, "/".join(f"{v:.2f}" for v in os.getloadavg())]
    ev = results["events"]
    summary = {
        "parent_f1": ev["parent_all"]["f1"],
        "parent_f1_B": ev["parent_B"]["f1"],
        "text_f1": ev["text_all"]["f1"],
        "text_f1_B": ev["text_B"]["f1"],
        "baseline_f1": ev.get("baseline_all", {}).get("f1"),
        "baseline_f1_B": ev.get("baseline_B", {}).get("f1"),
        "text_nmi": ev["text_all"]["nmi"],
        "baseline_nmi": ev.get("baseline_all", {}).get("nmi"),
        "burst_share": results["bursts"]["share_alerted_before_100th"],
        "burst_median_hours": results["bursts"]["median_hours_first_item_to_alert"],
        "false_alerts": results["bursts"]["false_alerts_on_small"],
        "items_per_cpu_s": results["speed"]["items_per_cpu_second"],
        "items_per_cpu_s_with_sentiment": results.get("speed_with_sentiment", {}).get(
            "items_per_cpu_second"
        ),
        "alert_latency_max_s": results["speed"]["alert_latency_max_s"],
    }
    print(json.dumps(summary))
    return 0


def _fmt(r: dict[str, float]) -> str:
    return (
        f"P {r['precision']:.3f} R {r['recall']:.3f} F1 {r['f1']:.3f} NMI {r['nmi']:.3f} "
        f"({r['clusters']:,} clusters over {r['items']:,} items)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
