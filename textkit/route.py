"""Suggest the responsible unit (a first-level category) for a citizen's appeal.

The model is a small stack of linear classifiers over hashed character n-grams, one feature
space per text field (a subject line and a body say different things at different lengths):

* features: NFKC-folded text, digits collapsed to ``0``, whitespace dropped; character 1..N-grams
  hashed with numpy (no Python loop per character, so prediction stays in the thousands of
  messages per second); sublinear tf, smoothed idf learnt at training, l2 per field.
* base models: LinearSVC, multinomial logistic regression and ComplementNB, each a plain
  ``(coef, intercept)`` pair at prediction time.
* a multinomial logistic meta-model over the base models' out-of-fold scores turns them into
  one calibrated probability per label.

A model directory holds ``model.json`` (format version, labels, options, data fingerprint,
metrics) and ``arrays.npz`` read with ``allow_pickle=False``. Loading checks the format version,
array names, shapes and dtypes and the arrays' SHA-256 against the metadata, so a model file
can only ever be data: loading it cannot run code.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import time
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from textkit.modelfile import MODEL_JSON, ModelFormatError, load_folder, save_folder

FORMAT = "minsheng.textkit.route"
# 2: word spaces beside the character spaces; version-1 models (character spaces only) load too.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)

Texts = Sequence[str] | Sequence[Sequence[str]]


BASE_MODELS = ("svc", "nb", "lr", "sgd")


class TrainingDataError(ValueError):
    """Training data that cannot give a model (one class, no text)."""


# ---------------------------------------------------------------------------------------------
# features


_SPACE = re.compile(r"\s+")
_DIGITS = re.compile(r"[0-9]+")


# Full-width punctuation that ordinary Chinese text is full of, with its NFKC image. Replacing
# such a character by its image leaves the text's NFKC form unchanged, and afterwards most texts
# pass ``normalize``'s quick check instead of taking its slow path over the whole text.
_NFKC_COMMON = tuple(
    (a, unicodedata.normalize("NFKC", a)) for a in "，！？：；（）…\u3000～［］＠＃％＆＋－＝／"
)


def _nfkc(text: str) -> str:
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text
    for a, b in _NFKC_COMMON:
        if a in text:
            text = text.replace(a, b)
    return unicodedata.normalize("NFKC", text)


def normalise_text(text: str) -> str:
    """Fold what carries no meaning for routing: width, case, whitespace and digit values."""
    text = _nfkc(text).lower()
    text = _SPACE.sub("", text)
    return _DIGITS.sub("0", text)


def normalise_text_reference(text: str) -> str:
    """``normalise_text`` with a whole-text NFKC every time; the tests' oracle."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _SPACE.sub("", text)
    return _DIGITS.sub("0", text)


_MULT = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93],
    dtype=np.uint64,
)


def _mix(h: np.ndarray) -> np.ndarray:
    # splitmix64 finaliser: spreads the low bits so that ``% n_features`` is uniform.
    h = h ^ (h >> np.uint64(30))
    h = h * np.uint64(0xBF58476D1CE4E5B9)
    h = h ^ (h >> np.uint64(27))
    h = h * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def char_ngram_entries(
    texts: Sequence[str], ngram_max: int, n_features: int, max_chars: int, ngram_min: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """(text, hashed column) of every character ngram_min..ngram_max-gram, repeats included."""
    n_docs = len(texts)
    clipped = [t[:max_chars] for t in texts]
    lengths = np.fromiter((len(t) for t in clipped), dtype=np.int64, count=n_docs)
    total = int(lengths.sum())
    empty = np.zeros(0, dtype=np.int64)
    if total == 0:
        return empty, empty
    codes = np.frombuffer("".join(clipped).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    doc = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    with np.errstate(over="ignore"):
        h = np.zeros(total, dtype=np.uint64)
        for n in range(1, ngram_max + 1):
            span = total - n + 1
            if span <= 0:
                break
            h = h[:span] + codes[n - 1 :] * _MULT[(n - 1) % len(_MULT)] + np.uint64(n)
            if n < ngram_min:
                continue
            if n == 1:
                rows.append(doc)
                cols.append((_mix(h) % np.uint64(n_features)).astype(np.int64))
                continue
            valid = doc[:span] == doc[n - 1 :]
            rows.append(doc[:span][valid])
            cols.append((_mix(h[valid]) % np.uint64(n_features)).astype(np.int64))
    if not rows:
        return empty, empty
    return np.concatenate(rows), np.concatenate(cols)


def pair_keys(doc: np.ndarray, col: np.ndarray, width: int, n_docs: int) -> np.ndarray:
    """``doc * width + col``, in int32 when it fits: sorting half the bytes is about twice as fast."""
    if n_docs * width < 2**31:
        return doc.astype(np.int32) * np.int32(width) + col.astype(np.int32)
    return doc.astype(np.int64) * width + col


def char_ngram_counts(
    texts: Sequence[str], ngram_max: int, n_features: int, max_chars: int, ngram_min: int = 1
) -> sp.csr_matrix:
    """Hashed character ngram_min..ngram_max-gram counts, one row per (normalised) text."""
    n_docs = len(texts)
    doc, col = char_ngram_entries(texts, ngram_max, n_features, max_chars, ngram_min)
    if doc.size == 0:
        return sp.csr_matrix((n_docs, n_features), dtype=np.float32)
    all_keys, counts = np.unique(doc * n_features + col, return_counts=True)
    rows = all_keys // n_features
    cols = all_keys % n_features
    return sp.csr_matrix(
        (counts.astype(np.float32), (rows, cols)), shape=(n_docs, n_features), dtype=np.float32
    )


_WORD_SALT = np.uint64(0x2545F4914F6CDD1D)


def _token_hashes(tokens: Sequence[str]) -> np.ndarray:
    """A 64-bit hash of each (non-empty) token, from its code points, without a Python loop."""
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    codes = np.frombuffer("".join(tokens).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    starts = np.zeros(len(tokens), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    longest = int(lengths.max())
    powers = np.ones(longest, dtype=np.uint64)
    if longest > 1:
        # _MULT[0] ** i modulo 2**64 (uint64 products wrap).
        powers[1:] = np.multiply.accumulate(np.full(longest - 1, _MULT[0], dtype=np.uint64))
    within = np.arange(codes.size, dtype=np.int64) - np.repeat(starts, lengths)
    with np.errstate(over="ignore"):
        h = np.add.reduceat(codes * powers[within], starts)
        return _mix(h + lengths.astype(np.uint64))


def word_ngram_entries(
    docs: Sequence[Sequence[str]], ngram_max: int, n_features: int
) -> tuple[np.ndarray, np.ndarray]:
    """(text, hashed column) of every word 1..ngram_max-gram of every list of non-empty tokens."""
    tokens = list(itertools.chain.from_iterable(docs))
    empty = np.zeros(0, dtype=np.int64)
    if not tokens or ngram_max < 1:
        return empty, empty
    lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
    doc = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    th = _token_hashes(tokens)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    with np.errstate(over="ignore"):
        h = th
        for n in range(1, ngram_max + 1):
            span = len(tokens) - n + 1
            if span <= 0:
                break
            if n > 1:
                h = h[:span] * _MULT[1] + th[n - 1 :]
            key = _mix(h ^ (_WORD_SALT + np.uint64(n)))
            col = (key % np.uint64(n_features)).astype(np.int64)
            if n == 1:
                rows.append(doc)
                cols.append(col)
            else:
                valid = doc[:span] == doc[n - 1 :]
                rows.append(doc[:span][valid])
                cols.append(col[valid])
    return np.concatenate(rows), np.concatenate(cols)


def segment_for_routing(
    texts: Sequence[str], max_chars: int, words: Sequence[Sequence[str]] | None = None
) -> list[list[str]]:
    """The words a word space reads: the text as given, cut by the default jieba-compatible
    segmenter (or ``words``, the same cut done by the caller), the words that start within the
    first ``max_chars`` characters, each folded like :func:`normalise_text`, empty ones dropped.
    """
    if words is None:
        from textkit.segment import cut_many

        words = cut_many(texts)
    elif len(words) != len(texts):
        raise ValueError("words must hold one token list per text")
    out: list[list[str]] = []
    for text, toks in zip(texts, words, strict=True):
        # A cut keeps every character, so its words are as long as the text.
        if len(text) > max_chars:
            kept, pos = [], 0
            for t in toks:
                if pos >= max_chars:
                    break
                kept.append(t)
                pos += len(t)
            toks = kept
        parts = normalise_text("\x00".join(toks)).split("\x00")
        out.append([w for w in parts if w] if "" in parts else parts)
    return out


@dataclass
class FieldSpace:
    """One feature space of one text field: the hashed columns kept and their idf weights.

    ``unit`` is ``"char"`` (character 1..ngram_max-grams) or ``"word"`` (word 1..ngram_max-grams
    of the segmented text); ``source`` is the index of the text field it reads.
    """

    ngram_max: int
    n_features: int
    max_chars: int
    weight: float
    columns: np.ndarray  # hashed column ids kept (sorted int64)
    idf: np.ndarray  # float32, one per kept column
    unit: str = "char"
    source: int = 0
    _lookup: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def entries(
        self, texts: Sequence[str], words: Sequence[Sequence[str]] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(text, hashed column) pairs; a word space needs ``segment_for_routing``'s words."""
        if self.unit == "word":
            if words is None:
                raise ValueError("a word space reads words: pass segment_for_routing(...)")
            return word_ngram_entries(words, self.ngram_max, self.n_features)
        return char_ngram_entries(texts, self.ngram_max, self.n_features, self.max_chars)

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        *,
        ngram_max: int,
        n_features: int,
        max_chars: int,
        weight: float,
        min_df: int,
        unit: str = "char",
        source: int = 0,
        words: Sequence[Sequence[str]] | None = None,
    ) -> FieldSpace:
        empty = np.zeros(0, dtype=np.int64)
        space = cls(ngram_max, n_features, max_chars, weight, empty, empty, unit, source)
        doc, col = space.entries(texts, words)
        present = np.unique(doc * n_features + col) % n_features
        df = np.bincount(present, minlength=n_features)
        columns = np.flatnonzero(df >= min_df).astype(np.int64)
        n = len(texts)
        idf = (np.log((1.0 + n) / (1.0 + df[columns])) + 1.0).astype(np.float32)
        return cls(ngram_max, n_features, max_chars, weight, columns, idf, unit, source)

    def _kept(self) -> np.ndarray:
        if self._lookup is None:
            # Hashed column → kept column index; built once, reused by every batch.
            lookup = np.full(self.n_features, -1, dtype=np.int32)
            lookup[self.columns] = np.arange(len(self.columns), dtype=np.int32)
            self._lookup = lookup
        return self._lookup

    def transform(
        self, texts: Sequence[str], words: Sequence[Sequence[str]] | None = None
    ) -> sp.csr_matrix:
        """The tf-idf rows of ``texts``: the same matrix as ``transform_reference``, faster.

        N-grams outside the kept columns are dropped before they are counted, and the counting
        is one sort of the (text, column) keys that remain. ``words`` are the texts' words
        (see :func:`segment_for_routing`) when the caller has them already.
        """
        n_docs, width = len(texts), len(self.columns)
        doc, hashed = self.entries(texts, words)
        col = self._kept()[hashed]
        keep = col >= 0
        keys, counts = np.unique(pair_keys(doc[keep], col[keep], width, n_docs), return_counts=True)
        row, col = keys // width, keys % width
        data = (1.0 + np.log(counts.astype(np.float32))) * self.idf[col]
        norms = np.sqrt(np.bincount(row, weights=np.square(data), minlength=n_docs))
        norms[norms == 0] = 1.0
        data = data * (self.weight / norms).astype(np.float32)[row]
        indptr = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=n_docs), out=indptr[1:])
        return sp.csr_matrix(
            (data.astype(np.float32), col, indptr), shape=(n_docs, width), dtype=np.float32
        )

    def transform_reference(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Counts for every hashed column, then the kept ones weighted; the tests' oracle."""
        if self.unit != "char":
            raise ValueError("the reference transform is the character space's")
        counts = char_ngram_counts(texts, self.ngram_max, self.n_features, self.max_chars)
        lookup = self._kept()
        counts = counts.tocoo()
        new_col = lookup[counts.col]
        keep = new_col >= 0
        data = (1.0 + np.log(counts.data[keep])) * self.idf[new_col[keep]]
        x = sp.csr_matrix(
            (data.astype(np.float32), (counts.row[keep], new_col[keep])),
            shape=(counts.shape[0], len(self.columns)),
            dtype=np.float32,
        )
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        scale = (self.weight / norms).astype(np.float32)
        return sp.csr_matrix(sp.diags(scale) @ x, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# options and results


@dataclass
class RouteOptions:
    """Training options; every field is recorded in the model's metadata."""

    ngram_max: tuple[int, ...] = (3, 3)  # per field; the last one repeats for further fields
    # word 1..N-grams per field beside the characters (0: none); the last one repeats too
    word_ngram_max: tuple[int, ...] = (2, 2)
    n_features: int = 1 << 20
    max_chars: int = 1000
    field_weights: tuple[float, ...] = (1.0, 1.0)
    min_df: int = 2
    svc_c: float = 0.5
    lr_c: float = 10.0
    nb_alpha: float = 0.3
    # "svc" LinearSVC, "nb" ComplementNB, "lr" LogisticRegression (lbfgs; accurate but slow),
    # "sgd" logistic loss by SGD (a fast stand-in for "lr").
    base_models: tuple[str, ...] = ("svc", "nb")
    stack_folds: int = 3
    meta_c: float = 1.0
    seed: int = 0

    def for_field(self, values: tuple[Any, ...], i: int) -> Any:
        return values[i] if i < len(values) else values[-1]

    def to_json(self) -> dict[str, Any]:
        return {
            "ngram_max": list(self.ngram_max),
            "word_ngram_max": list(self.word_ngram_max),
            "n_features": self.n_features,
            "max_chars": self.max_chars,
            "field_weights": list(self.field_weights),
            "min_df": self.min_df,
            "svc_c": self.svc_c,
            "lr_c": self.lr_c,
            "nb_alpha": self.nb_alpha,
            "base_models": list(self.base_models),
            "stack_folds": self.stack_folds,
            "meta_c": self.meta_c,
            "seed": self.seed,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RouteOptions:
        return cls(
            ngram_max=tuple(int(v) for v in data["ngram_max"]),
            # Format-1 models have no word spaces.
            word_ngram_max=tuple(int(v) for v in data.get("word_ngram_max", [0])),
            n_features=int(data["n_features"]),
            max_chars=int(data["max_chars"]),
            field_weights=tuple(float(v) for v in data["field_weights"]),
            min_df=int(data["min_df"]),
            svc_c=float(data["svc_c"]),
            lr_c=float(data["lr_c"]),
            nb_alpha=float(data["nb_alpha"]),
            base_models=tuple(str(v) for v in data["base_models"]),
            stack_folds=int(data["stack_folds"]),
            meta_c=float(data["meta_c"]),
            seed=int(data["seed"]),
        )


@dataclass
class Prediction:
    label: str
    confidence: float
    top: list[tuple[str, float]]  # best first


def _as_fields(texts: Texts) -> list[list[str]]:
    """Accept a list of strings (one field) or a list of per-row field tuples."""
    rows = list(texts)
    if not rows:
        return []
    if isinstance(rows[0], str):
        return [[str(t) for t in rows]]
    width = len(rows[0])
    for i, r in enumerate(rows):
        if isinstance(r, str) or len(r) != width:
            raise ValueError(f"row {i}: expected {width} text fields")
    return [[str(r[j]) for r in rows] for j in range(width)]


# ---------------------------------------------------------------------------------------------
# base classifiers (fitted with scikit-learn, kept as arrays)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _fit_base(
    kind: str, x: sp.csr_matrix, y: np.ndarray, k: int, opts: RouteOptions
) -> tuple[np.ndarray, np.ndarray]:
    """Fit one base model; returns ``(coef[k, d], intercept[k])`` in label-index order."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if kind == "svc":
            from sklearn.svm import LinearSVC

            svc = LinearSVC(C=opts.svc_c, class_weight="balanced", random_state=opts.seed)
            svc.fit(x, y)
            coef, intercept, classes = svc.coef_, svc.intercept_, svc.classes_
        elif kind == "lr":
            from sklearn.linear_model import LogisticRegression

            lr = LogisticRegression(
                C=opts.lr_c, max_iter=200, class_weight="balanced", solver="lbfgs"
            )
            lr.fit(x, y)
            coef, intercept, classes = lr.coef_, lr.intercept_, lr.classes_
        elif kind == "sgd":
            from sklearn.linear_model import SGDClassifier

            sgd = SGDClassifier(
                loss="log_loss",
                alpha=1.0 / (opts.lr_c * x.shape[0]),
                max_iter=30,
                tol=1e-4,
                class_weight="balanced",
                random_state=opts.seed,
            )
            sgd.fit(x, y)
            coef, intercept, classes = sgd.coef_, sgd.intercept_, sgd.classes_
        elif kind == "nb":
            from sklearn.naive_bayes import ComplementNB

            nb = ComplementNB(alpha=opts.nb_alpha)
            nb.fit(x, y)
            # ComplementNB's decision is X @ feature_log_prob_.T; the prior is ignored by design.
            coef, intercept, classes = nb.feature_log_prob_, np.zeros(len(nb.classes_)), nb.classes_
        else:
            raise ValueError(f"unknown base model {kind!r} (known: {', '.join(BASE_MODELS)})")
    if len(classes) == 2 and coef.shape[0] == 1:
        # Binary sklearn models keep one row (for class 1); score class 0 as its negation.
        coef = np.vstack([-coef[0], coef[0]]) / 2
        intercept = np.array([-intercept[0], intercept[0]]) / 2
    if len(classes) != k:
        # A fold that misses a class: spread its coefficients into the full label order.
        full_c = np.zeros((k, x.shape[1]))
        full_i = np.full(k, -1e3 if kind == "nb" else -10.0)
        for row, cls in enumerate(classes):
            full_c[int(cls)] = coef[row]
            full_i[int(cls)] = intercept[row]
        coef, intercept = full_c, full_i
    return np.asarray(coef, dtype=np.float32), np.asarray(intercept, dtype=np.float32)


def _base_scores(
    kind: str, x: sp.csr_matrix, coef: np.ndarray, intercept: np.ndarray
) -> np.ndarray:
    # A C-ordered (features × labels) matrix keeps each nonzero's label weights adjacent in
    # memory; multiplying by the strided ``coef.T`` view was the slowest step of prediction.
    s = np.asarray(x @ np.ascontiguousarray(coef.T)) + intercept
    if kind == "nb":
        # NB log-likelihoods grow with text length; centring per row keeps only the contrast.
        s = s - s.mean(axis=1, keepdims=True)
    return np.asarray(s, dtype=np.float64)


def _meta_features(scores: list[np.ndarray]) -> np.ndarray:
    return np.hstack(scores)


# ---------------------------------------------------------------------------------------------
# the model


@dataclass
class RouteModel:
    labels: list[str]
    fields: list[str]
    options: RouteOptions
    spaces: list[FieldSpace]
    base: dict[str, tuple[np.ndarray, np.ndarray]]
    meta_coef: np.ndarray
    meta_intercept: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    _coef_t: dict[str, np.ndarray] | None = field(default=None, init=False, repr=False)

    # -- training -------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        texts: Texts,
        labels: Sequence[str],
        *,
        fields: Sequence[str] | None = None,
        options: RouteOptions | None = None,
        progress: Callable[[str], None] | None = None,
        **opts: Any,
    ) -> RouteModel:
        """Train on ``texts`` (strings, or per-row tuples of field texts) and their labels.

        Raises TrainingDataError if fewer than two labels occur or no row has any text.
        """
        started = time.perf_counter()
        options = options or RouteOptions(**opts)
        cols = _as_fields(texts)
        if not cols:
            raise TrainingDataError("no training rows")
        names = list(fields) if fields else [f"text{i + 1}" for i in range(len(cols))]
        if len(names) != len(cols):
            raise ValueError("fields must name every text field")
        y_text = [str(v) for v in labels]
        if len(y_text) != len(cols[0]):
            raise ValueError("texts and labels differ in length")
        label_set = sorted(set(y_text))
        if len(label_set) < 2:
            raise TrainingDataError(
                f"the label column has only one class ({label_set[0] if label_set else 'none'}); "
                "routing needs at least two"
            )
        index = {lab: i for i, lab in enumerate(label_set)}
        y = np.array([index[v] for v in y_text], dtype=np.int64)
        norm = [[normalise_text(t) for t in col] for col in cols]
        if not any(any(t) for col in norm for t in col):
            raise TrainingDataError("every training text is empty")
        note = progress or (lambda _msg: None)

        note("features")
        spaces = [
            FieldSpace.fit(
                col,
                ngram_max=options.for_field(options.ngram_max, i),
                n_features=options.n_features,
                max_chars=options.max_chars,
                weight=options.for_field(options.field_weights, i),
                min_df=options.min_df,
                source=i,
            )
            for i, col in enumerate(norm)
        ]
        word_fields = [
            i for i in range(len(norm)) if options.for_field(options.word_ngram_max, i) > 0
        ]
        words = {i: segment_for_routing(cols[i], options.max_chars) for i in word_fields}
        spaces += [
            FieldSpace.fit(
                norm[i],
                ngram_max=options.for_field(options.word_ngram_max, i),
                n_features=options.n_features,
                max_chars=options.max_chars,
                weight=options.for_field(options.field_weights, i),
                min_df=options.min_df,
                unit="word",
                source=i,
                words=words[i],
            )
            for i in word_fields
        ]
        x = _stack(spaces, norm, cols, words)
        k = len(label_set)

        # Out-of-fold base scores train the meta-model, so it learns how far to trust each
        # base model on unseen text rather than on text it has memorised.
        oof = {kind: np.zeros((len(y), k)) for kind in options.base_models}
        folds = _stratified_folds(
            y, min(options.stack_folds, int(np.bincount(y).max())), options.seed
        )
        for f, test_idx in enumerate(folds):
            note(f"stacking fold {f + 1}/{len(folds)}")
            train_idx = np.setdiff1d(np.arange(len(y)), test_idx)
            for kind in options.base_models:
                c, b = _fit_base(kind, x[train_idx], y[train_idx], k, options)
                oof[kind][test_idx] = _base_scores(kind, x[test_idx], c, b)
        note("base models")
        base = {kind: _fit_base(kind, x, y, k, options) for kind in options.base_models}
        meta_x = _meta_features([oof[kind] for kind in options.base_models])
        from sklearn.linear_model import LogisticRegression

        meta = LogisticRegression(C=options.meta_c, max_iter=1000)
        meta.fit(meta_x, y)
        meta_coef = np.zeros((k, meta_x.shape[1]), dtype=np.float32)
        meta_int = np.full(k, -30.0, dtype=np.float32)
        for row, cls_i in enumerate(meta.classes_):
            meta_coef[int(cls_i)] = (
                meta.coef_[row] if k > 2 else (meta.coef_[0] * (1 if row else -1) / 2)
            )
            meta_int[int(cls_i)] = (
                meta.intercept_[row] if k > 2 else (meta.intercept_[0] * (1 if row else -1) / 2)
            )

        fingerprint = hashlib.sha256()
        for row_i in range(len(y)):
            for col in cols:
                fingerprint.update(col[row_i].encode("utf-8"))
                fingerprint.update(b"\x1f")
            fingerprint.update(y_text[row_i].encode("utf-8"))
            fingerprint.update(b"\x1e")
        info = {
            "trained_rows": len(y),
            "label_counts": {lab: int(c) for lab, c in sorted(Counter(y_text).items())},
            "training_data_sha256": fingerprint.hexdigest(),
            "training_seconds": round(time.perf_counter() - started, 2),
            "features_per_field": [len(s.columns) for s in spaces],
        }
        return cls(label_set, names, options, spaces, base, meta_coef, meta_int, info)

    # -- prediction -----------------------------------------------------------------------

    def probabilities(
        self, texts: Texts, *, words: Sequence[Sequence[str]] | None = None
    ) -> np.ndarray:
        """Probability of each label (columns in ``self.labels`` order).

        ``words``: for a one-field model, each text's words as ``textkit.segment.cut_many``
        gives them, when the caller has segmented the same texts already (the result is the
        same; the text is not segmented again).
        """
        cols = _as_fields(texts)
        if not cols:
            return np.zeros((0, len(self.labels)))
        if len(cols) != len(self.fields):
            raise ValueError(
                f"the model reads {len(self.fields)} text field(s) ({', '.join(self.fields)}), "
                f"got {len(cols)}"
            )
        norm = [[normalise_text(t) for t in col] for col in cols]
        given: dict[int, list[list[str]]] = {}
        if words is not None:
            if len(cols) != 1:
                raise ValueError("words can be given to a one-field model only")
            given[0] = segment_for_routing(cols[0], self.options.max_chars, words)
        x = _stack(self.spaces, norm, cols, given)
        if self._coef_t is None:
            self._coef_t = {k: np.ascontiguousarray(c.T) for k, (c, _) in self.base.items()}
        scores = [
            _base_scores(kind, x, self._coef_t[kind].T, self.base[kind][1])
            for kind in self.options.base_models
        ]
        z = _meta_features(scores) @ self.meta_coef.T.astype(np.float64) + self.meta_intercept
        return _softmax(z)

    def predict(
        self,
        texts: Texts,
        *,
        top: int = 3,
        batch_size: int = 2048,
        words: Sequence[Sequence[str]] | None = None,
    ) -> list[Prediction]:
        """Best label, its probability and the ``top`` best ``(label, probability)`` pairs.

        ``words`` as for :meth:`probabilities`.
        """
        cols = _as_fields(texts)
        n = len(cols[0]) if cols else 0
        out: list[Prediction] = []
        top = max(1, min(top, len(self.labels)))
        for start in range(0, n, batch_size):
            chunk = list(zip(*(c[start : start + batch_size] for c in cols), strict=True))
            p = self.probabilities(
                chunk, words=None if words is None else words[start : start + batch_size]
            )
            order = np.argsort(-p, axis=1, kind="stable")[:, :top]
            labels = self.labels
            for row, best_j in zip(p.tolist(), order.tolist(), strict=True):
                best = [(labels[j], row[j]) for j in best_j]
                out.append(Prediction(best[0][0], best[0][1], best))
        return out

    # -- persistence ----------------------------------------------------------------------

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {}
        for i, s in enumerate(self.spaces):
            arrays[f"field{i}_columns"] = s.columns.astype(np.int64)
            arrays[f"field{i}_idf"] = s.idf.astype(np.float32)
        for kind, (c, b) in self.base.items():
            arrays[f"{kind}_coef"] = c.astype(np.float32)
            arrays[f"{kind}_intercept"] = b.astype(np.float32)
        arrays["meta_coef"] = self.meta_coef.astype(np.float32)
        arrays["meta_intercept"] = self.meta_intercept.astype(np.float32)
        return arrays

    def save(
        self, directory: str | os.PathLike[str], *, metrics: dict[str, Any] | None = None
    ) -> Path:
        """Write the model into ``directory`` (created if needed), replacing files atomically."""
        arrays = self._arrays()
        meta = {
            "labels": self.labels,
            "fields": self.fields,
            "options": self.options.to_json(),
            "spaces": [
                {
                    "unit": s.unit,
                    "field": s.source,
                    "ngram_max": s.ngram_max,
                    "n_features": s.n_features,
                    "max_chars": s.max_chars,
                    "weight": s.weight,
                }
                for s in self.spaces
            ],
            "training": self.info,
            "metrics": metrics or {},
        }
        return save_folder(directory, fmt=FORMAT, version=FORMAT_VERSION, arrays=arrays, meta=meta)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> RouteModel:
        """Load a saved model. Raises ModelFormatError for anything but an intact model."""
        meta, arrays = load_folder(directory, fmt=FORMAT, version=READABLE_VERSIONS, kind="route")
        meta_path = Path(directory) / MODEL_JSON
        try:
            options = RouteOptions.from_json(meta["options"])
            labels = [str(v) for v in meta["labels"]]
            fields = [str(v) for v in meta["fields"]]
            spaces = [
                FieldSpace(
                    int(s["ngram_max"]),
                    int(s["n_features"]),
                    int(s["max_chars"]),
                    float(s["weight"]),
                    arrays[f"field{i}_columns"],
                    arrays[f"field{i}_idf"],
                    # Format 1 has one character space per field, in field order.
                    str(s.get("unit", "char")),
                    int(s.get("field", i)),
                )
                for i, s in enumerate(meta["spaces"])
            ]
            base = {k: (arrays[f"{k}_coef"], arrays[f"{k}_intercept"]) for k in options.base_models}
            model = cls(
                labels,
                fields,
                options,
                spaces,
                base,
                arrays["meta_coef"],
                arrays["meta_intercept"],
                dict(meta.get("training") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"{meta_path}: incomplete model metadata ({exc})") from exc
        model._check_shapes(meta_path)
        model.info["metrics"] = meta.get("metrics", {})
        return model

    def _check_shapes(self, where: Path) -> None:
        k = len(self.labels)
        if (
            k < 2
            or any(s.unit not in ("char", "word") for s in self.spaces)
            or sorted({s.source for s in self.spaces}) != list(range(len(self.fields)))
        ):
            raise ModelFormatError(f"{where}: fields or labels do not match the arrays")
        d = sum(len(s.columns) for s in self.spaces)
        for s in self.spaces:
            if s.columns.shape != s.idf.shape or (
                len(s.columns) and (s.columns.min() < 0 or s.columns.max() >= s.n_features)
            ):
                raise ModelFormatError(f"{where}: a feature space is inconsistent")
        for kind, (c, b) in self.base.items():
            if c.shape != (k, d) or b.shape != (k,):
                raise ModelFormatError(f"{where}: {kind} coefficients do not fit the features")
        if self.meta_coef.shape != (k, k * len(self.base)) or self.meta_intercept.shape != (k,):
            raise ModelFormatError(f"{where}: meta-model does not fit the base models")


def _stack(
    spaces: list[FieldSpace],
    norm: list[list[str]],
    raw: list[list[str]],
    words: dict[int, list[list[str]]] | None = None,
) -> sp.csr_matrix:
    """Every space's rows side by side; each field is segmented at most once.

    ``norm`` holds the normalised texts per field, ``raw`` the texts as given (word spaces cut
    those), ``words`` the folded words of fields already segmented.
    """
    words = dict(words or {})
    blocks = []
    for s in spaces:
        if s.unit == "word" and s.source not in words:
            words[s.source] = segment_for_routing(raw[s.source], s.max_chars)
        blocks.append(s.transform(norm[s.source], words.get(s.source)))
    return sp.hstack(blocks, format="csr")


def _stratified_folds(y: np.ndarray, n_folds: int, seed: int) -> list[np.ndarray]:
    from sklearn.model_selection import StratifiedKFold

    n_folds = max(2, n_folds)
    min_count = int(np.bincount(y)[np.bincount(y) > 0].min())
    if min_count < n_folds:
        from sklearn.model_selection import KFold

        return [te for _, te in KFold(n_folds, shuffle=True, random_state=seed).split(y)]
    skf = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    return [te for _, te in skf.split(np.zeros(len(y)), y)]


# ---------------------------------------------------------------------------------------------
# evaluation


@dataclass
class Evaluation:
    labels: list[str]
    n: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, dict[str, float]]  # precision, recall, f1, support
    confusion: list[list[int]]  # rows: true label, columns: predicted label

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "labels": self.labels,
            "per_class": self.per_class,
            "confusion": {"rows_true_columns_predicted": self.confusion},
        }


def evaluate(
    true: Sequence[str], predicted: Sequence[str], labels: Iterable[str] | None = None
) -> Evaluation:
    """Accuracy, macro-F1 (over labels that occur in truth or prediction), per-class P/R/F1."""
    if len(true) != len(predicted):
        raise ValueError("true and predicted differ in length")
    labs = sorted(set(labels or []) | set(true) | set(predicted))
    idx = {lab: i for i, lab in enumerate(labs)}
    cm = np.zeros((len(labs), len(labs)), dtype=np.int64)
    for t, p in zip(true, predicted, strict=True):
        cm[idx[t], idx[p]] += 1
    per: dict[str, dict[str, float]] = {}
    f1s = []
    for lab, i in idx.items():
        tp = cm[i, i]
        col, row = cm[:, i].sum(), cm[i, :].sum()
        prec = float(tp / col) if col else 0.0
        rec = float(tp / row) if row else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[lab] = {"precision": prec, "recall": rec, "f1": f1, "support": int(row)}
        if row or col:
            f1s.append(f1)
    n = int(cm.sum())
    return Evaluation(
        labels=labs,
        n=n,
        accuracy=float(np.trace(cm) / n) if n else 0.0,
        macro_f1=float(np.mean(f1s)) if f1s else 0.0,
        per_class=per,
        confusion=cm.tolist(),
    )


def evaluation_markdown(ev: Evaluation, title: str | None = None) -> str:
    lines = []
    if title:
        lines += [f"### {title}", ""]
    lines += [
        f"- rows: {ev.n}",
        f"- accuracy: **{ev.accuracy:.4f}**",
        f"- macro-F1: **{ev.macro_f1:.4f}**",
        "",
        "| label | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for lab in ev.labels:
        c = ev.per_class[lab]
        lines.append(
            f"| {lab} | {c['precision']:.4f} | {c['recall']:.4f} | {c['f1']:.4f} | {int(c['support'])} |"
        )
    lines += ["", "Confusion matrix (rows: true label, columns: predicted):", ""]
    lines.append("| true \\ predicted | " + " | ".join(ev.labels) + " |")
    lines.append("|---" * (len(ev.labels) + 1) + "|")
    for lab, row in zip(ev.labels, ev.confusion, strict=True):
        lines.append(f"| {lab} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# duplicates (for leak-free cross-validation)


def _shingles(texts: Sequence[str], n: int) -> sp.csr_matrix:
    """Binary hashed character n-gram sets (n-grams only, no shorter ones); short texts whole."""
    padded = [t if len(t) >= n else t + "\x00" * (n - len(t)) if t else "" for t in texts]
    m = char_ngram_counts(padded, n, 1 << 24, 1_000_000, ngram_min=n)
    m.data[:] = 1.0
    return sp.csr_matrix(m, dtype=np.float32)


def duplicate_pairs(
    a: Sequence[Sequence[str]],
    b: Sequence[Sequence[str]] | None = None,
    *,
    threshold: float = 0.6,
    shingle: int = 8,
) -> list[tuple[int, int]]:
    """Pairs (i, j) of rows that repeat each other: rows are tuples of field texts.

    Two rows are duplicates when any field is identical after normalisation (a re-posted
    subject counts), or when their joined text shares at least ``threshold`` of its character
    ``shingle``-grams (Jaccard), which catches re-posts with small edits. With ``b`` None the
    pairs are within ``a`` (i < j); otherwise between ``a`` and ``b``.
    """
    same = b is None
    b_rows = a if b is None else b
    pairs: set[tuple[int, int]] = set()
    width = len(a[0]) if a else 0
    for f in range(width):
        seen: dict[str, list[int]] = {}
        for j, row in enumerate(b_rows):
            key = normalise_text(row[f])
            if len(key) >= 4:
                seen.setdefault(key, []).append(j)
        for i, row in enumerate(a):
            key = normalise_text(row[f])
            for j in seen.get(key, []) if len(key) >= 4 else []:
                if not same or i < j:
                    pairs.add((i, j))
    joined_a = ["".join(normalise_text(t) for t in row) for row in a]
    joined_b = joined_a if same else ["".join(normalise_text(t) for t in row) for row in b_rows]
    xa = _shingles(joined_a, shingle)
    xb = xa if same else _shingles(joined_b, shingle)
    inter = (xa @ xb.T).tocoo()
    size_a = np.asarray(xa.sum(axis=1)).ravel()
    size_b = np.asarray(xb.sum(axis=1)).ravel()
    union = size_a[inter.row] + size_b[inter.col] - inter.data
    jac = np.divide(inter.data, union, out=np.zeros_like(inter.data), where=union > 0)
    for i, j in zip(inter.row[jac >= threshold], inter.col[jac >= threshold], strict=True):
        if not same or i < j:
            pairs.add((int(i), int(j)))
    return sorted(pairs)


def duplicate_groups(rows: Sequence[Sequence[str]], **kw: Any) -> np.ndarray:
    """Group id per row; rows linked by :func:`duplicate_pairs` (transitively) share one."""
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in duplicate_pairs(rows, **kw):
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    return np.array([find(i) for i in range(len(rows))], dtype=np.int64)
