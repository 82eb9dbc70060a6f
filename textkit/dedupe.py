"""Exact and near-duplicate detection for streams of short texts.

``DedupeIndex`` keeps, for every distinct text it has seen, a 64-bit hash of its canonical form
(single-character NFKC mappings, case folded, whitespace and invisible format characters dropped)
for exact matches, and a MinHash signature over character shingles for near matches, found
through LSH banding and confirmed by the estimated Jaccard similarity of the signatures.

Everything is vectorised over a batch with numpy, with no Python loop per character or shingle:

* the batch is one array of code points; canonical folding is a table lookup, exact hashes are
  per-text sums of mixed (position, code point) values taken from one wrapping prefix sum;
* shingle hashes are a rolling FNV-style hash with murmur3's finaliser, over the whole batch;
* the ``num_perm`` permutations are the affine maps ``a·x + b mod 2³²`` (odd ``a``), applied as
  one broadcast uint32 product laid out (permutation, shingle) in cache-sized blocks and
  minimised per text with ``np.minimum.reduceat``. uint32 keeps the product in SIMD lanes; the
  estimates match the binomial variance of ideal MinHash on real messages (see the tests);
* signatures are stored as ``uint32``; band keys and exact hashes live in tables of sorted
  ``uint64`` runs (a small log-structured merge: each batch adds a sorted run, runs of similar
  size are merged), looked up with ``np.searchsorted``.

With the defaults (threshold 0.8, 64 permutations, 7 bands of 9 rows) an item costs about 420
bytes, so a million items take about 0.4 GB (``memory_bytes()``; bench/textkit.py measures it).

Semantics worth knowing:

* An exact duplicate of a stored text is not stored again; it refreshes that item's time, so a
  text that keeps coming back stays inside the expiry window, and matches point at its first key.
* Texts that are empty after canonicalisation are neither matched nor stored.
* ``add_many`` finds matches among items stored before and items earlier in the same batch.
  Inside a batch, a row is compared with the earliest and the nearest earlier row sharing each
  band; against the index, with at most ``bucket_cap`` oldest items per band bucket and sorted
  run, which bounds the work on a heavily re-posted text.
"""

from __future__ import annotations

import functools
import sys
import time as _time
import unicodedata
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["DedupeIndex", "Match", "canonical", "lsh_params"]

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]

_POLY64 = np.uint64(0x100000001B3)  # FNV 64-bit prime: odd, spreads bits upwards
_FMIX1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_EXACT_SEED = np.uint64(0x9E3779B97F4A7C15)
_POLY32 = np.uint32(0x01000193)  # FNV 32-bit prime
_MIX32A = np.uint32(0x85EBCA6B)
_MIX32B = np.uint32(0xC2B2AE35)
# Shingles per MinHash block: the (num_perm, block) uint32 buffer stays in the CPU cache.
_SHINGLE_BLOCK = 4096


@functools.cache
def _fold_table() -> U32:
    """Code point → canonical code point for the BMP; 0 means "drop".

    Single-character NFKC mappings plus case folding (full-width Ａ１！ → a1!), and whitespace and
    invisible format characters (zero-width spaces, BOM) dropped. Multi-character expansions
    (ligatures, ㈱) are left as they are: canonical forms only need to be consistent.
    """
    table = np.arange(0x10000, dtype=np.uint32)
    for cp in range(0x10000):
        if 0xD800 <= cp < 0xE000:
            continue
        ch = chr(cp)
        if ch.isspace() or unicodedata.category(ch) == "Cf":
            table[cp] = 0
            continue
        folded = unicodedata.normalize("NFKC", ch).casefold()
        if folded != ch and len(folded) == 1:
            table[cp] = 0 if folded.isspace() else ord(folded)
    table[0] = 0
    return table


class _Canon(NamedTuple):
    """Canonical code points of a batch of texts, concatenated, with each text's span."""

    cps: U32
    starts: I64
    lens: I64


def _canonicalise(texts: Sequence[str]) -> _Canon:
    n = len(texts)
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    raw = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    table = _fold_table()
    folded = np.where(raw < 0x10000, table[raw & 0xFFFF], raw)
    keep = folded != 0
    kept_before = np.zeros(raw.size + 1, dtype=np.int64)
    np.cumsum(keep, out=kept_before[1:])
    bounds = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=bounds[1:])
    new_bounds = kept_before[bounds]
    return _Canon(folded[keep], new_bounds[:-1], np.diff(new_bounds))


def canonical(text: str) -> str:
    """The form compared for exact duplicates and shingled for near ones."""
    c = _canonicalise([text])
    return c.cps.tobytes().decode("utf-32-le", "surrogatepass")


def _fmix64(h: U64) -> U64:
    """MurmurHash3's 64-bit finaliser, in place."""
    h ^= h >> np.uint64(33)
    h *= _FMIX1
    h ^= h >> np.uint64(33)
    h *= _FMIX2
    h ^= h >> np.uint64(33)
    return h


def _exact_hashes(c: _Canon, rows: I64) -> U64:
    """A 64-bit hash of each selected text's canonical code points.

    Each (position, code point) pair goes through a bijective 64-bit mixer and the results are
    summed per text (tabulation-style hashing, vectorised through one wrapping prefix sum); the
    length is mixed into the total. Distinct texts collide with probability about 2⁻⁶⁴.
    """
    cps = c.cps
    pos = np.arange(cps.size, dtype=np.uint64) - np.repeat(c.starts, c.lens).astype(np.uint64)
    vals = _fmix64((pos << np.uint64(21) | cps.astype(np.uint64)) ^ _EXACT_SEED)
    prefix = np.zeros(cps.size + 1, dtype=np.uint64)
    np.cumsum(vals, out=prefix[1:])
    starts, lens = c.starts[rows], c.lens[rows]
    total = prefix[starts + lens] - prefix[starts]
    return _fmix64(total + lens.astype(np.uint64) * _POLY64)


def _shingle_hashes(c: _Canon, rows: I64, exact: U64, k: int) -> tuple[U32, I64]:
    """32-bit hashes of every k-character shingle of the selected texts, and each one's offset.

    A text shorter than ``k`` has one shingle: itself (its exact hash).
    """
    cps = c.cps
    m = max(cps.size - k + 1, 1)
    h = np.zeros(m, dtype=np.uint32)
    if cps.size >= k:
        h ^= cps[:m]
        for j in range(1, k):
            h *= _POLY32
            h ^= cps[j : j + m]
        # murmur3 fmix32: every input bit reaches every output bit
        h ^= h >> np.uint32(16)
        h *= _MIX32A
        h ^= h >> np.uint32(13)
        h *= _MIX32B
        h ^= h >> np.uint32(16)
    starts, lens = c.starts[rows], c.lens[rows]
    short = lens < k
    counts = np.where(short, 1, lens - k + 1)
    offsets = np.zeros(rows.size, dtype=np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    total = int(counts.sum())
    positions = np.repeat(starts - offsets, counts) + np.arange(total, dtype=np.int64)
    x = h[np.minimum(positions, m - 1)]
    x[offsets[short]] = (exact[short] >> np.uint64(32)).astype(np.uint32)
    return x, offsets


def _minhash(x: U32, offsets: I64, a: U32, b: U32) -> U32:
    """Signatures (texts × num_perm): for each permutation ``a·x + b mod 2³²``, the minimum.

    Laid out as (num_perm, shingles) so that each reduction runs over contiguous memory.
    """
    n, p = offsets.size, a.size
    out = np.empty((p, n), dtype=np.uint32)
    ends = np.append(offsets[1:], x.size)
    buf = np.empty((p, _SHINGLE_BLOCK), dtype=np.uint32)
    a_col, b_col = a[:, None], b[:, None]
    d0 = 0
    while d0 < n:
        d1 = max(int(np.searchsorted(ends, offsets[d0] + _SHINGLE_BLOCK, side="right")), d0 + 1)
        s0, s1 = int(offsets[d0]), int(ends[d1 - 1])
        width = s1 - s0
        block = buf[:, :width] if width <= _SHINGLE_BLOCK else np.empty((p, width), np.uint32)
        np.multiply(a_col, x[None, s0:s1], out=block)
        block += b_col
        out[:, d0:d1] = np.minimum.reduceat(block, offsets[d0:d1] - s0, axis=1)
        d0 = d1
    return np.ascontiguousarray(out.T)


def lsh_params(threshold: float, num_perm: int, fp_weight: float = 0.25) -> tuple[int, int]:
    """Bands and rows per band minimising the weighted false-positive and false-negative areas.

    False negatives weigh more by default: a false candidate only costs one signature
    comparison, a missed one is a duplicate nobody sees.
    """
    s = np.linspace(0.0, 1.0, 1001)
    best: tuple[float, int, int] | None = None
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            p = 1.0 - (1.0 - s**rows) ** bands
            fp = float(np.trapezoid(np.where(s < threshold, p, 0.0), s))
            fn = float(np.trapezoid(np.where(s >= threshold, 1.0 - p, 0.0), s))
            err = fp_weight * fp + (1.0 - fp_weight) * fn
            if best is None or err < best[0]:
                best = (err, bands, rows)
    assert best is not None
    return best[1], best[2]


_Found = tuple[I64, npt.NDArray[np.float64], I64]  # (query row, similarity, reference)
_NOTHING: _Found = (np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.int64))


class _RunTable:
    """A multimap from uint64 keys to int32 ids, as sorted runs merged when of similar size."""

    def __init__(self) -> None:
        self.runs: list[tuple[U64, npt.NDArray[np.int32]]] = []

    def add(self, keys: U64, ids: npt.NDArray[np.int64]) -> None:
        if keys.size == 0:
            return
        order = np.argsort(keys, kind="stable")
        self.runs.append((keys[order], ids[order].astype(np.int32)))
        # Sizes stay at least halving from old to new runs: O(log n) runs, O(log n) amortised
        # merges per entry; a stable sort of two sorted runs is a linear merge (timsort).
        while len(self.runs) >= 2 and self.runs[-2][0].size <= 2 * self.runs[-1][0].size:
            k2, i2 = self.runs.pop()
            k1, i1 = self.runs.pop()
            k = np.concatenate([k1, k2])
            i = np.concatenate([i1, i2])
            del k1, k2, i1, i2
            order = np.argsort(k, kind="stable")
            self.runs.append((k[order], i[order]))

    def lookup(self, qkeys: U64, cap: int) -> tuple[I64, I64]:
        """Pairs (query row, id) for every stored entry equal to a query key (``cap`` per run)."""
        rows_out: list[I64] = []
        ids_out: list[I64] = []
        if not self.runs or qkeys.size == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        # Sorted needles let the binary searches reuse their lower bound, and most keys miss:
        # the upper bound is searched only for the hits.
        order = np.argsort(qkeys)
        needles = qkeys[order]
        for keys, ids in self.runs:
            lo = np.searchsorted(keys, needles, side="left")
            hit = keys[np.minimum(lo, keys.size - 1)] == needles
            if not hit.any():
                continue
            lo = lo[hit]
            cnt = np.minimum(np.searchsorted(keys, needles[hit], side="right") - lo, cap)
            total = int(cnt.sum())
            starts = np.zeros(cnt.size, dtype=np.int64)
            np.cumsum(cnt[:-1], out=starts[1:])
            pos = np.repeat(lo - starts, cnt) + np.arange(total, dtype=np.int64)
            rows_out.append(np.repeat(order[hit], cnt))
            ids_out.append(ids[pos].astype(np.int64))
        if not rows_out:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty
        return np.concatenate(rows_out), np.concatenate(ids_out)

    def remap(self, new_id: npt.NDArray[np.int64]) -> None:
        """Renumber ids (``-1`` drops the entry); the order of keys is unchanged."""
        runs = []
        for keys, ids in self.runs:
            nid = new_id[ids]
            keep = nid >= 0
            if keep.any():
                runs.append((keys[keep], nid[keep].astype(np.int32)))
        self.runs = runs

    def nbytes(self) -> int:
        return sum(k.nbytes + i.nbytes for k, i in self.runs)


@dataclass(frozen=True, slots=True)
class Match:
    """A stored item that the queried text duplicates."""

    key: Hashable
    similarity: float
    exact: bool


def _seconds(t: datetime | float | None) -> float:
    if t is None:
        return _time.time()
    if isinstance(t, datetime):
        if t.tzinfo is None:
            raise ValueError(f"naive datetime {t.isoformat()} has no time zone")
        return t.timestamp()
    return float(t)


class DedupeIndex:
    """A streaming index of texts for exact and near-duplicate lookups (see the module doc).

    ``threshold``: smallest estimated Jaccard similarity reported as a near duplicate.
    ``num_perm``: MinHash permutations (signature length); ``shingle``: characters per shingle.
    ``bands``: LSH bands (default: chosen for the threshold by :func:`lsh_params`).
    ``bucket_cap``: oldest items examined per band bucket and sorted run.
    ``limit``: matches returned per text, best first (``None`` for all).
    """

    def __init__(
        self,
        threshold: float = 0.8,
        num_perm: int = 64,
        shingle: int = 3,
        *,
        bands: int | None = None,
        seed: int = 1,
        bucket_cap: int = 64,
        limit: int | None = 10,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if num_perm < 2:
            raise ValueError(f"num_perm must be at least 2, got {num_perm}")
        if shingle < 1:
            raise ValueError(f"shingle must be at least 1 character, got {shingle}")
        self.threshold = threshold
        self.num_perm = num_perm
        self.shingle = shingle
        if bands is None:
            self.bands, self.rows = lsh_params(threshold, num_perm)
        else:
            if not 1 <= bands <= num_perm:
                raise ValueError(f"bands must be between 1 and num_perm={num_perm}, got {bands}")
            self.bands, self.rows = bands, num_perm // bands
        self.bucket_cap = bucket_cap
        self.limit = limit
        rng = np.random.default_rng(seed)
        # Odd multipliers make each a·x + b mod 2³² a permutation of the 32-bit shingle hashes.
        self._a: U32 = rng.integers(0, 2**32, size=num_perm, dtype=np.uint64).astype(np.uint32)
        self._a |= np.uint32(1)
        self._b = rng.integers(0, 2**32, size=num_perm, dtype=np.uint64).astype(np.uint32)
        self._band_seed = rng.integers(1, 2**63, size=self.bands, dtype=np.uint64)
        self._n = 0  # ids used (alive or not)
        self._dead = 0
        self._sigs = np.empty((0, num_perm), dtype=np.uint32)
        self._times = np.empty(0, dtype=np.float64)
        self._alive = np.empty(0, dtype=bool)
        self._keys: list[Hashable] = []
        self._exact = _RunTable()
        self._lsh = _RunTable()

    # -- public API ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._n - self._dead

    def add(self, key: Hashable, text: str, time: datetime | float | None = None) -> list[Match]:
        """Store one text; returns what it duplicates among items stored before it."""
        return self.add_many([key], [text], [time])[0]

    def add_many(
        self,
        keys: Sequence[Hashable],
        texts: Sequence[str],
        times: Sequence[datetime | float | None] | None = None,
        *,
        match: bool = True,
    ) -> list[list[Match]]:
        """Store a batch in order; for each text, the earlier items it duplicates (best first).

        With ``match=False`` (bulk loading) no near-duplicate search is done and empty lists are
        returned; exact duplicates are still folded into their first copy.
        """
        if len(keys) != len(texts):
            raise ValueError(f"{len(keys)} keys but {len(texts)} texts")
        if times is not None and len(times) != len(texts):
            raise ValueError(f"{len(times)} times but {len(texts)} texts")
        now = _time.time()
        if times is None:
            secs = np.full(len(texts), now, dtype=np.float64)
        else:
            secs = np.array([now if t is None else _seconds(t) for t in times], dtype=np.float64)
        results: list[list[Match]] = [[] for _ in texts]
        c = _canonicalise(texts)
        rows = np.flatnonzero(c.lens > 0)
        if rows.size == 0:
            return results
        hashes = _exact_hashes(c, rows)

        # Exact duplicates of stored items: refresh their time, store nothing.
        stored_as = self._stored_copies(hashes)
        for r in np.flatnonzero(stored_as >= 0).tolist():
            sid = int(stored_as[r])
            self._times[sid] = max(self._times[sid], secs[rows[r]])
            results[int(rows[r])] = [Match(self._keys[sid], 1.0, True)]
        # Exact duplicates inside the batch point at the first copy in it.
        fresh = stored_as < 0
        _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
        first_of = first[inverse]
        new = fresh & (first_of == np.arange(rows.size))
        for r in np.flatnonzero(fresh & ~new).tolist():
            i = int(rows[first_of[r]])
            results[int(rows[r])] = [Match(keys[i], 1.0, True)]
            secs[i] = max(secs[i], secs[rows[r]])

        new_rows = rows[new]
        if new_rows.size == 0:
            return results
        sigs = self._signatures(c, new_rows, hashes[new])
        band_keys = self._band_keys(sigs)
        if match:
            best = self._best(
                self._near_in_index(sigs, band_keys), self._near_in_batch(sigs, band_keys)
            )
            stored, batch_rows = self._keys, new_rows.tolist()
            for local, similarity, ref in zip(*best, strict=True):
                key = stored[ref] if ref >= 0 else keys[batch_rows[-ref - 1]]
                results[batch_rows[local]].append(Match(key, similarity, False))
        self._store([keys[i] for i in new_rows], sigs, band_keys, hashes[new], secs[new_rows])
        return results

    def query(self, text: str) -> list[Match]:
        """Stored items that ``text`` duplicates (best first); the index is unchanged."""
        return self.query_many([text])[0]

    def query_many(self, texts: Sequence[str]) -> list[list[Match]]:
        """``query`` for a batch, vectorised; texts in the batch are not compared with each other."""
        results: list[list[Match]] = [[] for _ in texts]
        c = _canonicalise(texts)
        rows = np.flatnonzero(c.lens > 0)
        if rows.size == 0 or len(self) == 0:
            return results
        hashes = _exact_hashes(c, rows)
        stored_as = self._stored_copies(hashes)
        for r in np.flatnonzero(stored_as >= 0).tolist():
            results[int(rows[r])] = [Match(self._keys[int(stored_as[r])], 1.0, True)]
        near = stored_as < 0
        near_rows = rows[near]
        if near_rows.size:
            sigs = self._signatures(c, near_rows, hashes[near])
            best = self._best(self._near_in_index(sigs, self._band_keys(sigs)))
            stored, query_rows = self._keys, near_rows.tolist()
            for local, similarity, ref in zip(*best, strict=True):
                results[query_rows[local]].append(Match(stored[ref], similarity, False))
        return results

    def signatures(self, texts: Sequence[str]) -> U32:
        """MinHash signatures (texts × num_perm, uint32) with this index's permutations."""
        c = _canonicalise(texts)
        rows = np.arange(len(texts), dtype=np.int64)
        return self._signatures(c, rows, _exact_hashes(c, rows))

    def expire(self, older_than: datetime | float) -> int:
        """Forget items last seen before ``older_than``; returns how many were dropped."""
        cutoff = _seconds(older_than)
        old = self._alive[: self._n] & (self._times[: self._n] < cutoff)
        dropped = int(old.sum())
        if dropped:
            self._alive[: self._n][old] = False
            self._dead += dropped
            if self._dead * 4 > self._n:
                self._compact()
        return dropped

    def memory_bytes(self) -> int:
        """Bytes held by the index: arrays (at capacity), tables, and the keys list with its keys."""
        arrays = self._sigs.nbytes + self._times.nbytes + self._alive.nbytes
        tables = self._exact.nbytes() + self._lsh.nbytes()
        keys = sys.getsizeof(self._keys) + sum(map(sys.getsizeof, self._keys))
        return arrays + tables + keys

    # -- internals ----------------------------------------------------------------------------

    def _signatures(self, c: _Canon, rows: I64, exact: U64) -> U32:
        x, offsets = _shingle_hashes(c, rows, exact, self.shingle)
        return _minhash(x, offsets, self._a, self._b)

    def _stored_copies(self, hashes: U64) -> I64:
        """For each hash, the id of the oldest live stored text with it, or -1."""
        q, ids = self._exact.lookup(hashes, cap=8)
        live = self._alive[ids]
        q, ids = q[live], ids[live]
        stored_as = np.full(hashes.size, -1, dtype=np.int64)
        stored_as[q[::-1]] = ids[::-1]  # later assignments win: reversed, the oldest does
        return stored_as

    def _band_keys(self, sigs: U32) -> U64:
        """One uint64 key per (text, band); the band's seed keeps equal rows in different bands apart."""
        n = sigs.shape[0]
        used = sigs[:, : self.bands * self.rows].reshape(n, self.bands, self.rows).astype(np.uint64)
        h = np.broadcast_to(self._band_seed, (n, self.bands)).copy()
        for j in range(self.rows):
            h ^= used[:, :, j]
            h *= _POLY64
        return _fmix64(h)

    def _similarities(self, sigs_a: U32, sigs_b: U32) -> npt.NDArray[np.float64]:
        return np.count_nonzero(sigs_a == sigs_b, axis=1) / self.num_perm

    def _near_in_index(self, sigs: U32, band_keys: U64) -> _Found:
        if self._n == 0:
            return _NOTHING
        q, ids = self._lsh.lookup(band_keys.ravel(), cap=self.bucket_cap)
        if q.size == 0:
            return _NOTHING
        q //= self.bands
        keep = self._alive[ids]
        pair = np.unique(q[keep] * self._n + ids[keep])
        q, ids = pair // self._n, pair % self._n
        sim = self._similarities(sigs[q], self._sigs[ids])
        ok = sim >= self.threshold
        return q[ok], sim[ok], ids[ok]

    def _near_in_batch(self, sigs: U32, band_keys: U64) -> _Found:
        """Matches between rows of one batch; the earlier row is encoded as ``-(row + 1)``."""
        n = sigs.shape[0]
        if n < 2:
            return _NOTHING
        row = np.arange(n, dtype=np.int64)
        pairs: list[I64] = []
        for j in range(self.bands):
            order = np.lexsort((row, band_keys[:, j]))
            k = band_keys[order, j]
            same = k[1:] == k[:-1]
            if not same.any():
                continue
            # nearest earlier row with this band key
            pairs.append(order[1:][same] * n + order[:-1][same])
            # earliest row with this band key
            group_start = np.maximum.accumulate(np.where(np.r_[True, ~same], row, 0))
            first = order[group_start]
            differ = first != order
            pairs.append(order[differ] * n + first[differ])
        if not pairs:
            return _NOTHING
        pair = np.unique(np.concatenate(pairs))
        a, b = pair // n, pair % n
        sim = self._similarities(sigs[a], sigs[b])
        ok = sim >= self.threshold
        return a[ok], sim[ok], -b[ok] - 1

    def _best(self, *found: _Found) -> tuple[list[int], list[float], list[int]]:
        """Concatenated matches, best first per row, at most ``self.limit`` per row."""
        q = np.concatenate([f[0] for f in found])
        sim = np.concatenate([f[1] for f in found])
        ref = np.concatenate([f[2] for f in found])
        if q.size == 0:
            return [], [], []
        # by row, then similarity descending, then older first: stored ids, then batch rows
        age = np.where(ref >= 0, ref, self._n - ref - 1)
        order = np.lexsort((age, -sim, q))
        q, sim, ref = q[order], sim[order], ref[order]
        if self.limit is not None:
            starts = np.r_[True, q[1:] != q[:-1]]
            rank = np.arange(q.size) - np.maximum.accumulate(np.where(starts, np.arange(q.size), 0))
            keep = rank < self.limit
            q, sim, ref = q[keep], sim[keep], ref[keep]
        return q.tolist(), sim.tolist(), ref.tolist()

    def _reserve(self, extra: int) -> None:
        need = self._n + extra
        cap = self._sigs.shape[0]
        if need <= cap:
            return
        # Grow by a quarter: the copy briefly holds old + new, so a small factor keeps the peak low.
        new_cap = max(need, cap + cap // 4, cap + 16384)
        sigs = np.empty((new_cap, self.num_perm), dtype=np.uint32)
        sigs[: self._n] = self._sigs[: self._n]
        self._sigs = sigs
        times = np.empty(new_cap, dtype=np.float64)
        times[: self._n] = self._times[: self._n]
        self._times = times
        alive = np.zeros(new_cap, dtype=bool)
        alive[: self._n] = self._alive[: self._n]
        self._alive = alive

    def _store(
        self,
        keys: list[Hashable],
        sigs: U32,
        band_keys: U64,
        hashes: U64,
        secs: npt.NDArray[np.float64],
    ) -> None:
        m = len(keys)
        self._reserve(m)
        ids = np.arange(self._n, self._n + m, dtype=np.int64)
        self._sigs[self._n : self._n + m] = sigs
        self._times[self._n : self._n + m] = secs
        self._alive[self._n : self._n + m] = True
        self._keys.extend(keys)
        self._n += m
        self._exact.add(hashes, ids)
        self._lsh.add(band_keys.ravel(), np.repeat(ids, self.bands))

    def _compact(self) -> None:
        alive = self._alive[: self._n]
        new_id = np.full(self._n, -1, dtype=np.int64)
        new_id[alive] = np.arange(int(alive.sum()), dtype=np.int64)
        self._exact.remap(new_id)
        self._lsh.remap(new_id)
        keep = np.flatnonzero(alive)
        self._sigs = np.ascontiguousarray(self._sigs[keep])
        self._times = self._times[keep].copy()
        self._alive = np.ones(keep.size, dtype=bool)
        self._keys = [self._keys[i] for i in keep]
        self._n = keep.size
        self._dead = 0
