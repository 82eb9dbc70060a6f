"""Throughput of the textkit pipeline against a naive baseline, on real short texts.

    .venv/bin/python bench/textkit.py [DATA] [--docs 100000] [--batch 1000] [--baseline-docs 10000]
    .venv/bin/python bench/textkit.py [DATA] --dedupe-scale 1000000

DATA is the shared data folder (default: ../shared/data beside the repository). The stream mixes
the tipdm2020_c citizen messages, smp2020_ewect Weibo posts, ced_weibo_rumor source posts and
reposts, and ChnSentiCorp hotel reviews, shuffled with a fixed seed; a text is repeated only when
the sources hold fewer non-empty texts than ``--docs`` (the run says how many).

Our pipeline runs normalise → segment → dedupe → route → sentiment over micro-batches; texts found
to be exact copies of an earlier text inherit its route and sentiment instead of being classified
again (``--classify-duplicates`` turns that off). The router's word features read the segment
stage's words (the same cut it would make itself). The baseline does the naive thing per document:
normalise, ``jieba.lcut``, one datasketch MinHash (128 permutations) queried and inserted into a
MinHashLSH, and ``TfidfVectorizer`` + logistic regression for route and for sentiment with one
``predict`` call each. Both train their models inside the run, on the tipdm2020_c labelled messages
and the smp2020_ewect training posts (``--train-rows`` each), so no prepared artifact is needed.

Each side runs in its own process so that its peak memory is its own. Throughput is reported per
core as documents per CPU second of that process (robust on a shared machine), and as wall-clock
documents per second. The last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parent
if __name__ == "__main__":
    # Run as a script, bench/ is sys.path[0] and this file would shadow the textkit package.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
    sys.path.insert(0, str(_REPO))

import argparse  # noqa: E402
import csv  # noqa: E402
import gc  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

# (source, file, text column)
STREAM_SOURCES = [
    ("tipdm2020_c", "tipdm2020_c/attachment2_details_partial.csv", "留言详情_clean"),
    ("tipdm2020_c", "tipdm2020_c/attachment3_hot_issue_messages.csv", "留言详情"),
    ("tipdm2020_c", "tipdm2020_c/attachment4_messages_with_replies.csv", "留言详情"),
    ("tipdm2020_c", "tipdm2020_c/eval_phase_test2801_unlabeled.csv", "留言详情"),
    ("smp2020_ewect", "smp2020_ewect/smp2020_ewect_weibo_emotion.csv", "content"),
    ("ced_weibo_rumor", "ced_weibo_rumor/ced_events.csv", "text"),
    ("ced_weibo_rumor", "ced_weibo_rumor/ced_reposts_sample240.csv", "text"),
    ("chnsenticorp_htl", "chnsenticorp_htl/ChnSentiCorp_htl_all.csv", "review"),
]
SEED = 20240601


# -- data ----------------------------------------------------------------------------------------


def _rows(path: Path) -> Iterator[dict[str, str]]:
    if not path.is_file():
        raise SystemExit(f"bench/textkit.py: {path} is missing (is DATA the shared data folder?)")
    with path.open(encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


@dataclass
class Stream:
    texts: list[str]
    per_source: dict[str, int]
    available: int
    repeated: int


def load_pool(data: Path) -> tuple[list[str], dict[str, int]]:
    """Every non-empty text of the stream sources, shuffled with a fixed seed."""
    pool: list[str] = []
    per_source: Counter[str] = Counter()
    for source, name, column in STREAM_SOURCES:
        for row in _rows(data / name):
            text = (row.get(column) or "").strip()
            if text:
                pool.append(text)
                per_source[source] += 1
    random.Random(SEED).shuffle(pool)
    return pool, dict(per_source)


def load_stream(data: Path, docs: int) -> Stream:
    pool, per_source = load_pool(data)
    texts = pool[:docs]
    while len(texts) < docs:  # repeat only as much as needed to reach ``docs``
        texts += pool[: docs - len(texts)]
    return Stream(texts, per_source, len(pool), max(0, docs - len(pool)))


def load_training(data: Path, rows: int) -> dict[str, tuple[list[str], list[str]]]:
    rng = random.Random(SEED)
    route = [
        (r["留言详情_clean"], r["一级标签"])
        for r in _rows(data / "tipdm2020_c/attachment2_details_partial.csv")
        if r["留言详情_clean"].strip()
        and r["label_conflict"] != "True"
        and "|" not in r["一级标签"]
    ]
    emotion = [
        (r["content"], r["label"])
        for r in _rows(data / "smp2020_ewect/smp2020_ewect_weibo_emotion.csv")
        if r["split"] == "train" and r["content"].strip()
    ]
    out = {}
    for name, pairs in (("route", route), ("sentiment", emotion)):
        chosen = rng.sample(pairs, min(rows, len(pairs)))
        out[name] = ([t for t, _ in chosen], [lab for _, lab in chosen])
    return out


# -- measuring -----------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Clock:
    """CPU seconds (this process, all threads) and wall seconds, per named stage."""

    def __init__(self) -> None:
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self.wall: defaultdict[str, float] = defaultdict(float)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        c, w = time.process_time(), time.perf_counter()
        yield
        self.cpu[stage] += time.process_time() - c
        self.wall[stage] += time.perf_counter() - w


# -- our pipeline --------------------------------------------------------------------------------


def run_ours(args: argparse.Namespace) -> dict[str, Any]:
    from textkit.dedupe import DedupeIndex
    from textkit.normalise import normalise_many
    from textkit.segment import Segmenter

    stream = load_stream(args.data, args.docs)
    training = load_training(args.data, args.train_rows)
    clock = Clock()
    # Each classifier gets the batch's texts and their words from the segment stage.
    classifiers: dict[str, Callable[[list[str], list[list[str]]], list[tuple[str, str]]]] = {}
    notes: list[str] = []
    try:
        from textkit.route import RouteModel

        texts, labels = training["route"]
        with clock.timed("train route"):
            route = RouteModel.train(texts, labels)
        # The router reads the segment stage's words instead of segmenting the texts again.
        classifiers["route"] = lambda b, w: [(p.label, "") for p in route.predict(b, words=w)]
    except ImportError:
        notes.append("textkit.route is not available: the route stage was skipped")
    try:
        from textkit.sentiment import SentimentModel

        texts, labels = training["sentiment"]
        with clock.timed("train sentiment"):
            sentiment = SentimentModel.train(texts, labels)
        classifiers["sentiment"] = lambda b, _w: [
            (p.emotion, p.negativity) for p in sentiment.predict(b)
        ]
    except ImportError:
        notes.append("textkit.sentiment is not available: the sentiment stage was skipped")

    segmenter = Segmenter()
    index = DedupeIndex(threshold=args.threshold)
    # Warm-up outside the clock: dictionary and table building happen once per process.
    segmenter.cut("预热分词器")
    normalise_many(["預熱"])
    DedupeIndex().add_many(["w"], ["预热去重索引"])
    for classify in classifiers.values():
        classify(["预热"], [["预热"]])

    texts = stream.texts
    n = len(texts)
    duplicate_of = [-1] * n
    exact = [False] * n
    labels_out: dict[str, list[tuple[str, str]]] = {k: [("", "")] * n for k in classifiers}
    tokens = 0
    gc.collect()
    stage = Clock()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for start in range(0, n, args.batch):
        batch = texts[start : start + args.batch]
        keys = list(range(start, start + len(batch)))
        with stage.timed("normalise"):
            norm = normalise_many(batch)
        with stage.timed("segment"):
            words = segmenter.cut_many(norm)
        tokens += sum(map(len, words))
        with stage.timed("dedupe"):
            found = index.add_many(keys, norm)
        todo = []
        for key, matches in zip(keys, found, strict=True):
            if matches:
                duplicate_of[key] = int(matches[0].key)  # type: ignore[call-overload]
                exact[key] = matches[0].exact
            if args.classify_duplicates or not exact[key]:
                todo.append(key)
        todo_texts = [norm[k - start] for k in todo]
        todo_words = [words[k - start] for k in todo]
        for name, classify in classifiers.items():
            with stage.timed(name):
                got = classify(todo_texts, todo_words)
            column = labels_out[name]
            for key, value in zip(todo, got, strict=True):
                column[key] = value
            if not args.classify_duplicates:
                for key in keys:
                    if exact[key]:
                        column[key] = column[duplicate_of[key]]
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    sample = args.baseline_docs
    return {
        "side": "ours",
        "docs": n,
        "chars": sum(map(len, texts)),
        "tokens": tokens,
        "cpu_s": cpu,
        "wall_s": wall,
        "stage_cpu_s": dict(stage.cpu),
        "train_cpu_s": dict(clock.cpu),
        "peak_rss_mb": peak_rss_mb(),
        "index_items": len(index),
        "index_bytes": index.memory_bytes(),
        "exact_duplicates": sum(exact),
        "near_duplicates": sum(
            1 for d, e in zip(duplicate_of, exact, strict=True) if d >= 0 and not e
        ),
        "classified": {k: Counter(v[0] for v in col) for k, col in labels_out.items()},
        "stages": ["normalise", "segment", "dedupe", *classifiers],
        "notes": notes,
        "stream": {
            "per_source": stream.per_source,
            "available": stream.available,
            "repeated": stream.repeated,
        },
        "dups_sample": [[duplicate_of[i], int(exact[i])] for i in range(min(sample, n))],
    }


# -- naive baseline ------------------------------------------------------------------------------


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def run_baseline(args: argparse.Namespace) -> dict[str, Any]:
    import jieba
    from datasketch import MinHash, MinHashLSH
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from textkit.normalise import normalise

    jieba.setLogLevel(60)
    jieba.initialize()
    stream = load_stream(args.data, args.docs)
    texts = stream.texts[: args.baseline_docs]
    training = load_training(args.data, args.train_rows)
    clock = Clock()
    models = {}
    for name in ("route", "sentiment"):
        train_texts, train_labels = training[name]

        def fit(tt: list[str] = train_texts, ll: list[str] = train_labels) -> Any:
            vec = TfidfVectorizer(analyzer=_identity, sublinear_tf=True)
            x = vec.fit_transform([jieba.lcut(normalise(t)) for t in tt])
            return vec, LogisticRegression(max_iter=1000).fit(x, ll)

        with clock.timed(f"train {name}"):
            models[name] = fit()

    lsh = MinHashLSH(threshold=args.threshold, num_perm=128)
    first_copy: dict[str, int] = {}
    dups: list[list[int]] = []
    gc.collect()
    stage = Clock()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i, text in enumerate(texts):
        with stage.timed("normalise"):
            norm = normalise(text)
        with stage.timed("segment"):
            words = jieba.lcut(norm)
        with stage.timed("dedupe"):
            digest = hashlib.md5(norm.encode("utf-8")).hexdigest()  # noqa: S324 - not security
            if digest in first_copy:
                dups.append([first_copy[digest], 1])
            else:
                first_copy[digest] = i
                m = MinHash(num_perm=128)
                shingles = [norm[j : j + 3] for j in range(len(norm) - 2)] or [norm]
                m.update_batch([sh.encode("utf-8") for sh in shingles])
                found = lsh.query(m)
                lsh.insert(i, m)
                dups.append([min(found), 0] if found else [-1, 0])
        for name, (vec, clf) in models.items():
            with stage.timed(name):
                clf.predict(vec.transform([words]))
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    return {
        "side": "baseline",
        "docs": len(texts),
        "chars": sum(map(len, texts)),
        "cpu_s": cpu,
        "wall_s": wall,
        "stage_cpu_s": dict(stage.cpu),
        "train_cpu_s": dict(clock.cpu),
        "peak_rss_mb": peak_rss_mb(),
        "dups_sample": dups,
    }


# -- dedupe at scale -----------------------------------------------------------------------------


def run_dedupe_scale(args: argparse.Namespace) -> dict[str, Any]:
    """Fill one index with ``--dedupe-scale`` distinct real-text items and measure its memory.

    The real pool holds about 100,000 texts; distinct items beyond that are pairs of real texts
    (text j followed by text j+r+1 in round r), generated batch by batch so that only the index
    grows in memory.
    """
    from textkit.dedupe import DedupeIndex

    pool = sorted(set(load_pool(args.data)[0]))
    target = args.dedupe_scale
    DedupeIndex(threshold=args.threshold).add_many(["warm"], ["预热去重索引"])
    index = DedupeIndex(threshold=args.threshold)
    gc.collect()
    rss0 = rss_mb()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    added = 0
    n = len(pool)
    while len(index) < target:
        r, j0 = divmod(added, n)
        take = min(args.batch * 10, target - len(index), n - j0)
        batch = [
            pool[j] if r == 0 else f"{pool[j]}，{pool[(j + r) % n]}" for j in range(j0, j0 + take)
        ]
        index.add_many([f"m{added + i:07d}" for i in range(take)], batch)
        added += take
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    gc.collect()
    return {
        "side": "dedupe-scale",
        "added": added,
        "items": len(index),
        "memory_bytes": index.memory_bytes(),
        "rss_growth_mb": rss_mb() - rss0,
        "peak_rss_mb": peak_rss_mb(),
        "cpu_s": cpu,
        "wall_s": wall,
        "bands": index.bands,
        "rows": index.rows,
        "num_perm": index.num_perm,
    }


# -- reporting -----------------------------------------------------------------------------------


def _child(args: argparse.Namespace, side: str) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        str(args.data),
        "--side",
        side,
        "--docs",
        str(args.docs),
        "--batch",
        str(args.batch),
        "--baseline-docs",
        str(args.baseline_docs),
        "--train-rows",
        str(args.train_rows),
        "--threshold",
        str(args.threshold),
        "--dedupe-scale",
        str(args.dedupe_scale),
    ]
    if args.classify_duplicates:
        cmd.append("--classify-duplicates")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"bench/textkit.py: the {side} run failed (exit {done.returncode})")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _machine() -> str:
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="ascii") as fh:
        mem_gib = int(fh.readline().split()[1]) / 1024 / 1024
    return (
        f"{os.cpu_count()} cores ({model}), {mem_gib:.1f} GiB RAM, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def _jaccard(a: str, b: str) -> float:
    from textkit.dedupe import canonical

    def shingles(t: str) -> set[str]:
        c = canonical(t)
        return {c[i : i + 3] for i in range(len(c) - 2)} or {c}

    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def compare_dedupe(
    texts: Sequence[str], ours: list[list[int]], theirs: list[list[int]], threshold: float
) -> dict[str, Any]:
    """Near-duplicate pairs from both sides judged by their true shingle Jaccard (pooled recall)."""
    from textkit.normalise import normalise

    n = min(len(ours), len(theirs))
    norm: dict[int, str] = {}

    def text(i: int) -> str:
        if i not in norm:
            norm[i] = normalise(texts[i])
        return norm[i]

    truth: dict[int, bool] = {}
    for i in range(n):
        candidates = {p[0] for p in (ours[i], theirs[i]) if p[0] >= 0 and not p[1]}
        if candidates and not ours[i][1] and not theirs[i][1]:
            truth[i] = max(_jaccard(text(i), text(j)) for j in candidates) >= threshold
    true_docs = {i for i, ok in truth.items() if ok}

    def score(side: list[list[int]]) -> dict[str, float]:
        flagged = {i for i in truth if side[i][0] >= 0 and not side[i][1]}
        correct = {i for i in flagged if _jaccard(text(i), text(side[i][0])) >= threshold}
        return {
            "near_flagged": len(flagged),
            "precision": len(correct) / len(flagged) if flagged else 1.0,
            "pooled_recall": len(flagged & true_docs) / len(true_docs) if true_docs else 1.0,
        }

    return {
        "docs": n,
        "exact_ours": sum(1 for p in ours[:n] if p[1]),
        "exact_baseline": sum(1 for p in theirs[:n] if p[1]),
        "true_near_in_pool": len(true_docs),
        "ours": score(ours),
        "baseline": score(theirs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "data",
        nargs="?",
        type=Path,
        default=_REPO.parent / "shared" / "data",
        help="the shared data folder (default: ../shared/data beside the repository)",
    )
    parser.add_argument("--docs", type=int, default=100_000, help="texts in the stream")
    parser.add_argument("--batch", type=int, default=1000, help="micro-batch size")
    parser.add_argument(
        "--baseline-docs",
        type=int,
        default=10_000,
        help="texts the naive baseline processes (the first of the same stream; it is slow)",
    )
    parser.add_argument("--train-rows", type=int, default=2000, help="training rows per model")
    parser.add_argument("--threshold", type=float, default=0.8, help="near-duplicate threshold")
    parser.add_argument(
        "--classify-duplicates",
        action="store_true",
        help="route and score exact duplicates too instead of copying their first copy's labels",
    )
    parser.add_argument(
        "--dedupe-scale",
        type=int,
        default=0,
        metavar="N",
        help="instead: fill one dedupe index with N items and print its memory",
    )
    parser.add_argument(
        "--side", choices=["ours", "baseline", "dedupe-scale"], help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)

    if args.side:
        run = {"ours": run_ours, "baseline": run_baseline, "dedupe-scale": run_dedupe_scale}
        print(json.dumps(run[args.side](args), ensure_ascii=False))
        return 0

    print(f"machine: {_machine()}")
    if args.dedupe_scale:
        r = _child(args, "dedupe-scale")
        print(
            f"dedupe index: {r['items']:,} items ({r['added']:,} added), num_perm {r['num_perm']}, "
            f"{r['bands']} bands × {r['rows']} rows"
        )
        print(
            f"  memory_bytes() {r['memory_bytes'] / 1e6:,.0f} MB "
            f"({r['memory_bytes'] / max(r['items'], 1):.0f} B/item); RSS grew {r['rss_growth_mb']:,.0f} MB; "
            f"peak RSS of the process {r['peak_rss_mb']:,.0f} MB"
        )
        print(
            f"  filled in {r['cpu_s']:.1f} CPU s ({r['added'] / r['cpu_s']:,.0f} items per CPU second)"
        )
        print(
            json.dumps(
                {
                    "dedupe_items": r["items"],
                    "memory_mb": round(r["memory_bytes"] / 1e6, 1),
                    "rss_growth_mb": round(r["rss_growth_mb"], 1),
                    "peak_rss_mb": round(r["peak_rss_mb"], 1),
                    "under_1gb": r["memory_bytes"] < 1e9 and r["rss_growth_mb"] < 1000,
                }
            )
        )
        return 0

    ours = _child(args, "ours")
    base = _child(args, "baseline")
    s = ours["stream"]
    print(
        f"stream: {ours['docs']:,} texts, {ours['chars']:,} characters "
        f"({ours['chars'] / ours['docs']:.0f} per text) from "
        + ", ".join(f"{k} {v:,}" for k, v in s["per_source"].items())
        + f"; {s['available']:,} non-empty texts available, "
        + (
            f"{s['repeated']:,} repeated to reach {ours['docs']:,}"
            if s["repeated"]
            else "none repeated"
        )
    )
    for note in ours["notes"]:
        print(f"note: {note}")
    rows = []
    for side in (ours, base):
        per_core = side["docs"] / side["cpu_s"]
        rows.append(per_core)
        print(
            f"{side['side']:>8}: {side['docs']:,} docs in {side['cpu_s']:.1f} CPU s / {side['wall_s']:.1f} wall s — "
            f"{per_core:,.0f} docs/s and {side['chars'] / side['cpu_s']:,.0f} chars/s per core "
            f"({side['docs'] / side['wall_s']:,.0f} docs/s wall); peak RSS {side['peak_rss_mb']:,.0f} MB"
        )
        total = sum(side["stage_cpu_s"].values())
        print(
            "          CPU by stage: "
            + ", ".join(
                f"{k} {v / side['docs'] * 1e6:,.0f} µs/doc ({v / total:.0%})"
                for k, v in side["stage_cpu_s"].items()
            )
        )
        print(
            "          training (not timed above): "
            + ", ".join(f"{k} {v:.1f} CPU s" for k, v in side["train_cpu_s"].items())
        )
    print(
        f"ours: {ours['exact_duplicates']:,} exact and {ours['near_duplicates']:,} near duplicates; "
        f"index {ours['index_items']:,} items, {ours['index_bytes'] / 1e6:,.1f} MB"
        + (
            ""
            if "--classify-duplicates" in (argv or sys.argv)
            else "; exact duplicates inherit labels"
        )
    )
    for name, counts in ours["classified"].items():
        top = ", ".join(f"{k} {v:,}" for k, v in Counter(counts).most_common(7))
        print(f"ours {name}: {top}")
    stream = load_stream(args.data, args.docs)
    cmp = compare_dedupe(stream.texts, ours["dups_sample"], base["dups_sample"], args.threshold)
    print(
        f"dedupe on the first {cmp['docs']:,} texts: exact copies ours {cmp['exact_ours']:,} / "
        f"baseline {cmp['exact_baseline']:,}; near duplicates judged by true 3-shingle Jaccard ≥ "
        f"{args.threshold} ({cmp['true_near_in_pool']} in the pooled set):"
    )
    for label in ("ours", "baseline"):
        m = cmp[label]
        print(
            f"  {label:>8}: {m['near_flagged']} flagged, precision {m['precision']:.3f}, "
            f"pooled recall {m['pooled_recall']:.3f}"
        )
    ratio = rows[0] / rows[1]
    print(
        json.dumps(
            {
                "docs_per_s": round(rows[0]),
                "baseline_docs_per_s": round(rows[1]),
                "ratio": round(ratio, 1),
                "peak_mb": round(ours["peak_rss_mb"]),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
