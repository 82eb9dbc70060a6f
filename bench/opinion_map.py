"""Opinion groups for 5,000 participants × 500 statements in under 10 s (consult.grouping).

Synthetic votes with planted structure: participants belong to ``--groups`` planted groups of
unequal size (40/30/20/10 % for four); every statement has a stance per group (agree-leaning,
disagree-leaning or split) except ``--consensus`` planted consensus statements that every group
leans to agree with. Sparsity is realistic: the number of statements a person votes on is
log-normal (median about 40, clipped to 3 … 500) and popular statements are seen more often
(Zipf-like exposure). Passes are 10 % of votes.

Reported: wall time of ``consult.grouping.group`` on the vote list (matrix build, PCA, k-means
for k = 2…5 with silhouettes, per-group statistics), the adjusted Rand index of the groups found
against the planted ones (participants who were grouped), and the consensus statements found
against the planted ones. Baseline in the same run: scikit-learn's PCA + KMeans + silhouette_score
on the dense matrix with zeros for unseen (the naive way), same k range.

    .venv/bin/python bench/opinion_map.py [--participants 5000 --statements 500] [--record]

The last line is JSON. ``--record`` appends the run to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from consult.grouping import adjusted_rand_index, group

SHARES = {
    2: [0.6, 0.4],
    3: [0.45, 0.35, 0.2],
    4: [0.4, 0.3, 0.2, 0.1],
    5: [0.3, 0.25, 0.2, 0.15, 0.1],
}


def synthesise(
    n: int, m: int, groups: int, consensus: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, set[int]]:
    rng = np.random.default_rng(seed)
    truth = rng.choice(groups, size=n, p=SHARES[groups])
    # Stance per group and statement: probability of agree among non-pass votes.
    stance = rng.choice([0.85, 0.15, 0.5], size=(groups, m), p=[0.4, 0.4, 0.2])
    planted = set(rng.choice(m, size=consensus, replace=False).tolist())
    for j in planted:
        stance[:, j] = rng.uniform(0.8, 0.92, size=groups)
    exposure = 1.0 / np.arange(1, m + 1) ** 0.6
    exposure = exposure[rng.permutation(m)]
    exposure /= exposure.sum()
    counts = np.clip(rng.lognormal(np.log(40), 0.8, size=n).astype(int), 3, m)
    rows, cols, values = [], [], []
    for i in range(n):
        seen = rng.choice(m, size=counts[i], replace=False, p=exposure)
        p = stance[truth[i], seen]
        draw = rng.random(len(seen))
        v = np.where(draw < p, 1, -1)
        v[rng.random(len(seen)) < 0.1] = 0
        rows.append(np.full(len(seen), i))
        cols.append(seen)
        values.append(v)
    # Planted consensus: every group leans to agree (the deliberate ones and any statement whose
    # random stances happen to be "agree-leaning" in every group).
    planted = {int(j) for j in np.flatnonzero(stance.min(0) >= 0.8)}
    return (
        np.concatenate(rows),
        np.concatenate(cols),
        np.concatenate(values).astype(np.int8),
        truth,
        planted,
    )


def baseline(n: int, m: int, rows: Any, cols: Any, values: Any, min_votes: int) -> np.ndarray:
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score

    x = np.zeros((n, m))
    x[rows, cols] = values
    seen = np.bincount(rows, minlength=n)
    keep = np.flatnonzero(seen >= min_votes)
    coords = PCA(n_components=5, random_state=0).fit_transform(x[keep])
    best: tuple[float, np.ndarray] | None = None
    for k in range(2, 6):
        labels = KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(coords)
        score = float(silhouette_score(coords, labels))
        if best is None or score > best[0]:
            best = (score, labels)
    assert best is not None
    return best[1]


def loadavg() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=5000)
    parser.add_argument("--statements", type=int, default=500)
    parser.add_argument("--groups", type=int, default=4, choices=sorted(SHARES))
    parser.add_argument("--consensus", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    n, m = args.participants, args.statements
    load_before = loadavg()
    rows, cols, values, truth, planted = synthesise(n, m, args.groups, args.consensus, args.seed)
    print(
        f"{len(values):,} votes ({len(values) / (n * m):.1%} of the matrix), "
        f"{args.groups} planted groups, {len(planted)} planted consensus statements"
    )

    cpu, wall = time.process_time(), time.perf_counter()
    result = group(n, m, rows, cols, values, seed=0)
    ours_wall, ours_cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert result is not None
    again = group(n, m, rows, cols, values, seed=0)
    assert again is not None and np.array_equal(again.assignment, result.assignment)
    ari = adjusted_rand_index(truth[result.grouped], result.assignment)
    found = {s.statement for s in result.consensus}
    hits = len(found & planted)
    print(
        f"ours: {ours_wall:.2f} s wall / {ours_cpu:.2f} s CPU; {len(result.grouped):,} grouped, "
        f"k = {len(result.groups)} (silhouette {result.silhouette:.3f}), ARI {ari:.3f}; "
        f"consensus found {len(found)}, of them planted {hits}/{len(planted)}"
    )

    base_wall = base_ari = None
    if not args.no_baseline:
        wall = time.perf_counter()
        labels = baseline(n, m, rows, cols, values, 7)
        base_wall = time.perf_counter() - wall
        base_ari = adjusted_rand_index(truth[result.grouped], labels)
        print(
            f"baseline (sklearn PCA+KMeans+silhouette_score, dense zeros): {base_wall:.2f} s wall, "
            f"k = {len(set(labels.tolist()))}, ARI {base_ari:.3f}"
        )
    line: dict[str, Any] = {
        "participants": n,
        "statements": m,
        "votes": len(values),
        "seconds": round(ours_wall, 3),
        "under_10s": ours_wall < 10,
        "k": len(result.groups),
        "planted_k": args.groups,
        "ari": round(ari, 4),
        "consensus_found": len(found),
        "consensus_planted": len(planted),
        "consensus_hits": hits,
        "baseline_seconds": None if base_wall is None else round(base_wall, 3),
        "baseline_ari": None if base_ari is None else round(base_ari, 4),
        "load_before": load_before,
        "load_after": loadavg(),
    }
    if args.record:
        record(line)
    print(json.dumps(line))


def record(line: dict[str, Any]) -> None:
    path = Path(__file__).with_name("RESULTS.md")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    text = (
        f"\n## opinion map grouping — {today}\n\n"
        f"Machine: `nproc` {os.cpu_count()}, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}; shared with other work, load average "
        f"{line['load_before']} before and {line['load_after']} after. "
        "`.venv/bin/python bench/opinion_map.py --record`:\n\n```\n"
        f"{json.dumps(line)}\n```\n"
    )
    with path.open("a", encoding="utf-8") as out:
        out.write(text)


if __name__ == "__main__":
    main()
