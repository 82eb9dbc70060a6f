"""Opinion groups from agree/disagree votes (the idea behind Pol.is). Plain Python and numpy.

Input: the participant × statement vote matrix — agree +1, disagree −1, pass or unseen 0.

1. Participants with fewer than ``min_votes`` votes (passes count) are left out of the
   grouping: a person who saw two statements says little about where they stand.
2. Each statement's column is centred on the mean of the votes it received and unseen cells
   get that mean (they become 0 after centring), so an unseen statement neither pulls a
   participant towards agreement nor towards disagreement.
3. PCA by the eigenvectors of the statement × statement scatter matrix (``XᵀX`` is m × m, much
   cheaper than an SVD of the n × m matrix). Sign convention: each component is flipped so that
   its largest-magnitude loading is positive, so the same votes always give the same picture.
   A participant's coordinates are scaled by √(m / statements seen), as Pol.is does, so people
   who saw few statements are not all squeezed into the centre.
4. k-means (k-means++ start from a fixed seed, several starts, Lloyd iterations) on the first
   ``dims`` components for k = 2 … 5; the k with the best silhouette wins (ties: fewer groups);
   above 1,500 participants the silhouette is that of a seeded random sample of 1,500 of them.
   Groups are then numbered by size (largest first), so labels do not depend on the start.
5. Per group and statement: agree share ``(agree + 1) / (seen + 2)`` (add-one smoothing keeps
   a statement seen by one person from looking unanimous). *Consensus* statements have an
   agree share of at least ``consensus_share`` in every group; a group's *distinctive*
   statements are those where its agree (or disagree) share most exceeds the other groups'.

Everything is deterministic for a seed: same votes and seed → same groups, same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

K_RANGE = (2, 5)
SILHOUETTE_SAMPLE = 1500
GROUP_LETTERS = "ABCDEFGH"


@dataclass(frozen=True)
class StatementScore:
    statement: int  # column index
    agree: int
    disagree: int
    seen: int
    share: float  # agree share (or disagree share for a distinctive "disagree" statement)
    direction: str = "agree"  # "agree" | "disagree"
    ratio: float = 1.0

    def to_dict(self) -> dict[str, object]:
        return {
            "statement": self.statement,
            "agree": self.agree,
            "disagree": self.disagree,
            "seen": self.seen,
            "share": round(self.share, 4),
            "direction": self.direction,
            "ratio": round(self.ratio, 4),
        }


@dataclass(frozen=True)
class Group:
    label: str
    size: int
    centre: tuple[float, float]
    distinctive: tuple[StatementScore, ...]


@dataclass
class Grouping:
    participants: int  # rows given
    grouped: I64  # row indices that took part in the grouping
    assignment: I64  # group index per grouped row (aligned with ``grouped``)
    points: F32  # 2-D coordinates per grouped row
    groups: list[Group]
    consensus: list[StatementScore]
    silhouette: float
    explained: tuple[float, ...]
    per_group_share: F64 = field(repr=False)  # groups × statements agree shares

    def group_of_row(self) -> dict[int, int]:
        return {int(r): int(g) for r, g in zip(self.grouped, self.assignment, strict=True)}


def vote_matrix(n: int, m: int, rows: I64, cols: I64, values: npt.ArrayLike) -> tuple[F32, F32]:
    """Dense (votes, seen) matrices, float32: 5,000 × 500 is 10 MB each."""
    votes = np.zeros((n, m), dtype=np.float32)
    seen = np.zeros((n, m), dtype=np.float32)
    votes[rows, cols] = np.asarray(values, dtype=np.float32)
    seen[rows, cols] = 1.0
    return votes, seen


def pca(x: F32, components: int) -> tuple[F32, F64]:
    """Top principal axes (m × components) of centred ``x``, with the sign convention above,
    and the share of variance each explains."""
    from scipy.sparse.linalg import eigsh

    m = x.shape[1]
    scatter = (x.T.astype(np.float64) @ x.astype(np.float64)) / max(1, x.shape[0] - 1)
    total = float(np.clip(np.trace(scatter), 0, None)) or 1.0
    # Only the top eigenpairs (Lanczos from a fixed start vector, so the run is repeatable):
    # much faster than the full decomposition of an m × m matrix.
    if components < m - 1:
        values, vectors = eigsh(scatter, k=components, which="LA", v0=np.ones(m), tol=1e-10)
    else:
        values, vectors = np.linalg.eigh(scatter)
        values, vectors = values[-components:], vectors[:, -components:]
    order = np.argsort(values)[::-1]
    axes = vectors[:, order]
    biggest = np.argmax(np.abs(axes), axis=0)
    signs = np.sign(axes[biggest, np.arange(axes.shape[1])])
    signs[signs == 0] = 1.0
    axes = axes * signs
    explained = np.clip(values[order], 0, None) / total
    return axes.astype(np.float32), explained


def _sq_distances(x: F64, centres: F64) -> F64:
    d = (x * x).sum(1)[:, None] - 2.0 * x @ centres.T + (centres * centres).sum(1)[None, :]
    return np.maximum(d, 0.0)


def kmeans(
    x: F64, k: int, rng: np.random.Generator, starts: int = 4, iterations: int = 100
) -> tuple[I64, F64, float]:
    """Lloyd's k-means from k-means++ starts; (labels, centres, inertia) of the best start."""
    n = x.shape[0]
    best: tuple[I64, F64, float] | None = None
    for _ in range(starts):
        centres = np.empty((k, x.shape[1]))
        centres[0] = x[rng.integers(n)]
        closest = _sq_distances(x, centres[:1])[:, 0]
        for c in range(1, k):
            total = closest.sum()
            pick = rng.integers(n) if total <= 0 else rng.choice(n, p=closest / total)
            centres[c] = x[pick]
            closest = np.minimum(closest, _sq_distances(x, centres[c : c + 1])[:, 0])
        labels = np.zeros(n, dtype=np.int64)
        for step in range(iterations):
            new = np.argmin(_sq_distances(x, centres), axis=1)
            if step and np.array_equal(new, labels):
                break
            labels = new
            for c in range(k):
                members = x[labels == c]
                # An emptied cluster restarts at the point farthest from its centre.
                if len(members):
                    centres[c] = members.mean(0)
                else:
                    far = np.argmax(_sq_distances(x, centres).min(1))
                    centres[c] = x[far]
        inertia = float(_sq_distances(x, centres)[np.arange(n), labels].sum())
        if best is None or inertia < best[2] - 1e-9:
            best = (labels, centres.copy(), inertia)
    assert best is not None
    return best


def silhouette(x: F64, labels: I64, k: int, rows: I64 | None = None, chunk: int = 1024) -> float:
    """Mean silhouette of ``rows`` (all rows by default) against every point, in chunks so
    memory stays at chunk × n."""
    n = x.shape[0]
    rows = np.arange(n) if rows is None else rows
    onehot = np.zeros((n, k))
    onehot[np.arange(n), labels] = 1.0
    sizes = onehot.sum(0)
    norms = (x * x).sum(1)
    total = 0.0
    for start in range(0, len(rows), chunk):
        picked = rows[start : start + chunk]
        part = x[picked]
        d = norms[picked, None] - 2.0 * part @ x.T + norms[None, :]
        d = np.sqrt(np.maximum(d, 0.0))
        sums = d @ onehot  # chunk × k: distance sums to each cluster
        own = labels[picked]
        at = np.arange(len(part))
        own_size = sizes[own]
        a = np.where(own_size > 1, sums[at, own] / np.maximum(own_size - 1, 1), 0.0)
        means = sums / np.maximum(sizes, 1)[None, :]
        means[at, own] = np.inf
        b = means.min(1)
        s = np.where(own_size > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
        total += float(s.sum())
    return total / len(rows)


def _share(agree: F64, seen: F64) -> F64:
    return (agree + 1.0) / (seen + 2.0)


def group(
    n: int,
    m: int,
    rows: I64,
    cols: I64,
    values: npt.ArrayLike,
    *,
    seed: int = 0,
    min_votes: int = 7,
    dims: int = 5,
    k_range: tuple[int, int] = K_RANGE,
    consensus_share: float = 0.6,
    distinctive_per_group: int = 5,
) -> Grouping | None:
    """Opinion groups of ``n`` participants over ``m`` statements, or None when too few people
    voted enough to form two groups. ``rows``/``cols``/``values`` list the votes."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    votes, seen = vote_matrix(n, m, rows, cols, values)
    counts = seen.sum(1)
    grouped = np.flatnonzero(counts >= min(min_votes, m))
    if m < 2 or len(grouped) < 2 * k_range[0]:
        return None
    v, s = votes[grouped], seen[grouped]
    seen_per_statement = s.sum(0)
    means = np.divide(
        v.sum(0), seen_per_statement, out=np.zeros(m, np.float32), where=seen_per_statement > 0
    )
    x = np.where(s > 0, v - means[None, :], 0.0).astype(np.float32)
    d = max(2, min(dims, m))
    axes, explained = pca(x, d)
    scale = np.sqrt(m / np.maximum(s.sum(1), 1.0)).astype(np.float32)
    coords = (x @ axes) * scale[:, None]
    space = coords.astype(np.float64)

    rng = np.random.default_rng(seed)
    # The silhouette of a fixed random sample of rows (against all points) picks k as well as
    # the full one and costs a fraction of it (scikit-learn's sample_size does the same).
    sample = (
        np.sort(rng.choice(len(grouped), size=SILHOUETTE_SAMPLE, replace=False))
        if len(grouped) > SILHOUETTE_SAMPLE
        else None
    )
    best: tuple[float, int, I64, F64] | None = None
    for k in range(k_range[0], min(k_range[1], len(grouped) - 1) + 1):
        labels, centres, _inertia = kmeans(space, k, rng)
        if len(np.unique(labels)) < k:
            continue
        score = silhouette(space, labels, k, sample)
        if best is None or score > best[0] + 1e-9:
            best = (score, k, labels, centres)
    if best is None:
        return None
    score, k, labels, centres = best
    # Number groups by size (largest first), then by centre, so labels never depend on the start.
    sizes = np.bincount(labels, minlength=k)
    order = sorted(range(k), key=lambda c: (-sizes[c], *np.round(centres[c, :2], 9)))
    relabel = np.empty(k, dtype=np.int64)
    relabel[order] = np.arange(k)
    labels = relabel[labels]

    onehot = np.zeros((len(grouped), k))
    onehot[np.arange(len(grouped)), labels] = 1.0
    agree = onehot.T @ (v > 0).astype(np.float64)  # k × m
    disagree = onehot.T @ (v < 0).astype(np.float64)
    seen_g = onehot.T @ s.astype(np.float64)
    p_agree = _share(agree, seen_g)
    p_disagree = _share(disagree, seen_g)

    consensus: list[StatementScore] = []
    floor = p_agree.min(0)
    for j in np.argsort(-floor, kind="stable"):
        if floor[j] < consensus_share or (seen_g[:, j] == 0).any():
            continue
        consensus.append(
            StatementScore(
                int(j),
                int(agree[:, j].sum()),
                int(disagree[:, j].sum()),
                int(seen_g[:, j].sum()),
                float(floor[j]),
            )
        )

    groups: list[Group] = []
    points = coords[:, :2].astype(np.float32)
    for g in range(k):
        rest_agree = agree.sum(0) - agree[g]
        rest_disagree = disagree.sum(0) - disagree[g]
        rest_seen = seen_g.sum(0) - seen_g[g]
        ra = p_agree[g] / _share(rest_agree, rest_seen)
        rd = p_disagree[g] / _share(rest_disagree, rest_seen)
        picks: list[StatementScore] = []
        for j in range(m):
            if seen_g[g, j] < 2:
                continue
            for direction, ratio, share in (
                ("agree", ra[j], p_agree[g, j]),
                ("disagree", rd[j], p_disagree[g, j]),
            ):
                if share >= 0.5 and ratio > 1.0:
                    picks.append(
                        StatementScore(
                            int(j),
                            int(agree[g, j]),
                            int(disagree[g, j]),
                            int(seen_g[g, j]),
                            float(share),
                            direction,
                            float(ratio),
                        )
                    )
        picks.sort(key=lambda p: (-p.ratio * p.share, p.statement, p.direction))
        members = points[labels == g]
        centre = members.mean(0) if len(members) else np.zeros(2)
        groups.append(
            Group(
                GROUP_LETTERS[g],
                int(sizes[order[g]]),
                (float(centre[0]), float(centre[1])),
                tuple(picks[:distinctive_per_group]),
            )
        )
    return Grouping(
        participants=n,
        grouped=grouped,
        assignment=labels,
        points=points,
        groups=groups,
        consensus=consensus,
        silhouette=float(score),
        explained=tuple(float(e) for e in explained[:2]),
        per_group_share=p_agree,
    )


def adjusted_rand_index(truth: npt.ArrayLike, found: npt.ArrayLike) -> float:
    """ARI of two labelings (for tests and the benchmark; no sklearn needed)."""
    a = np.asarray(truth)
    b = np.asarray(found)
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1), dtype=np.int64)
    np.add.at(table, (ai, bi), 1)

    def pairs(x: npt.NDArray[np.int64]) -> float:
        return float((x * (x - 1) // 2).sum())

    index = pairs(table)
    rows_, cols_ = pairs(table.sum(1)), pairs(table.sum(0))
    total = math.comb(len(a), 2)
    expected = rows_ * cols_ / total if total else 0.0
    top = (rows_ + cols_) / 2
    return 1.0 if top == expected else (index - expected) / (top - expected)
