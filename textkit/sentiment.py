"""Emotion and negativity of short Chinese posts (Weibo, comments, messages).

Six emotions (the SMP2020-EWECT set: angry, fear, happy, neutral, sad, surprise — or whatever
labels the training data has) and a three-way negativity (negative / neutral / positive) that is
derived from the emotion probabilities through an explicit, stored mapping.

How it reads a post:

* **markup is turned into signals, not noise**: links, repost chains (``//@user:``), mentions,
  hashtags and the ``??`` that lost emoji leave behind become marker tokens; Weibo emoticon codes
  such as ``[心]`` or ``[怒]`` are kept whole as tokens (they carry much of the emotion); runs of
  ``！！！``, ``？？？``, ``……``, ``哈哈哈`` become tokens of their own.
* **words** from the jieba-compatible segmenter, word bigrams, and negation scope: the three
  words after 不/没/别/无/未… (up to the next punctuation) also appear as ``¬word``, so
  "不开心" and "开心" are different evidence.
* **characters** 1–3-grams of the cleaned text, which catch slang and words the segmenter splits.
* two tf-idf spaces (sublinear tf, l2 each), then three linear models (LinearSVC and ComplementNB
  over the same features, class-balanced where it applies) stacked by a multinomial logistic
  regression trained on out-of-fold scores, so the output is one calibrated probability per
  emotion.
* the emotion decision divides those probabilities by ``prior ** prior_power`` (the power is
  chosen on the out-of-fold predictions to maximise macro-F1, never on test data), because an
  alert about fear or surprise matters even though they are rare; negativity sums the calibrated
  probabilities of the emotions mapped to each polarity and takes the largest.

A model directory holds ``model.json`` (format version, textkit version, labels, the negativity
mapping, options, data fingerprint, metrics) and ``arrays.npz`` (vocabularies as UTF-8 bytes,
idf, coefficients) read with ``allow_pickle=False`` after its SHA-256 is checked, so loading a
model never runs code from it.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import os
import re
import time
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from textkit.modelfile import MODEL_JSON, ModelFormatError, load_folder, save_folder
from textkit.route import pair_keys

__all__ = [
    "DEFAULT_NEGATIVITY",
    "POLARITIES",
    "ModelFormatError",
    "SentimentModel",
    "SentimentOptions",
    "SentimentPrediction",
    "TrainingDataError",
    "analyse",
    "negativity_of",
]

FORMAT = "minsheng.textkit.sentiment"
FORMAT_VERSION = 1

POLARITIES = ("negative", "neutral", "positive")
# SMP2020-EWECT's own convention (its SOURCE notes): happy → positive, neutral → neutral and the
# other four → negative. Surprise goes with negative because on Weibo about public matters it is
# mostly shock (震惊, 竟然); the mapping is stored in every model and can be overridden.
DEFAULT_NEGATIVITY: dict[str, str] = {
    "angry": "negative",
    "fear": "negative",
    "sad": "negative",
    "surprise": "negative",
    "happy": "positive",
    "neutral": "neutral",
}


class TrainingDataError(ValueError):
    """Training data that cannot give a model (one class, no text, unmapped labels)."""


# ---------------------------------------------------------------------------------------------
# reading a post


_URL = re.compile(r"https?://[^\s\u4e00-\u9fff，。！？]*|\bt\.cn/\w+")
_REPOST = re.compile(r"//@[^:：\s]{1,30}[:：]?")
_MENTION = re.compile(r"@[^\s@:：,，。!！?？]{1,30}")
_EMOTICON = re.compile(r"\[[^\[\]\s]{1,10}\]")
_LOST_EMOJI = re.compile(r"\?{2,}")  # NFKC has folded ？ to ?, so this also sees ？？
_RUNS = re.compile(r"!{2,}|\?{2,}|[.。…]{3,}|…{2,}|~{2,}|～{2,}|哈{2,}|呵{2,}|啊{2,}|嘤{2,}|呜{2,}")
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
_NEGATORS = frozenset(
    [
        "不",
        "没",
        "没有",
        "别",
        "无",
        "未",
        "不要",
        "不能",
        "不会",
        "不是",
        "不想",
        "不敢",
        "不用",
        "不再",
        "难以",
        "并非",
        "绝不",
        "从不",
        "毫无",
        "从未",
        "甭",
    ]
)
_SCOPE_END = frozenset("，。！？,.!?；;、~…：:")
_NEGATION_WINDOW = 3


def _prepare(text: str) -> tuple[str, list[str]]:
    """Cleaned text for words and characters, plus marker tokens for the markup removed."""
    t = _nfkc(html.unescape(text)).lower()
    markers: list[str] = []
    # Each pattern runs only when a substring every one of its matches contains is present:
    # the same result as running them all, at a fraction of the regex scanning.
    if ("http" in t or "t.cn/" in t) and _URL.search(t):
        markers.append("⟨url⟩")
        t = _URL.sub(" ", t)
    if "//@" in t and _REPOST.search(t):
        markers.append("⟨repost⟩")
        t = _REPOST.sub("。", t)
    if "@" in t and _MENTION.search(t):
        markers.append("⟨at⟩")
        t = _MENTION.sub(" ", t)
    if "[" in t:
        markers += _EMOTICON.findall(t)
        t = _EMOTICON.sub(" ", t)
    if "#" in t:
        markers.append("⟨topic⟩")
    if _RUN_PAIR.search(t) is not None:
        markers += [f"⟨{m[:2]}⟩" for m in _RUNS.findall(t)]
    if "??" in t:
        markers.append("⟨emoji⟩")
        t = _LOST_EMOJI.sub(" ", t)
    return _DIGITS.sub("0", t), markers


# Every match of _RUNS holds one of these pairs of adjacent characters.
_RUN_PAIRS = tuple(
    [a + b for a in ".。…" for b in ".。…"]
    + ["!!", "??", "~~", "～～", "哈哈", "呵呵", "啊啊", "嘤嘤", "呜呜"]
)
_RUN_PAIR = re.compile("|".join(re.escape(pair) for pair in _RUN_PAIRS))
# NFKC's slow path runs over the whole text as soon as one character changes; the full-width
# punctuation of ordinary Chinese text is mapped to its NFKC image first (replacing a character
# by its compatibility decomposition leaves NFKC unchanged), so most texts take the quick check.
_NFKC_COMMON = tuple(
    (a, unicodedata.normalize("NFKC", a)) for a in "，！？：；（）…\u3000～［］＠＃％＆＋－＝／"
)


def _nfkc(t: str) -> str:
    if t.isascii() or unicodedata.is_normalized("NFKC", t):
        return t
    for a, b in _NFKC_COMMON:
        if a in t:
            t = t.replace(a, b)
    return unicodedata.normalize("NFKC", t)


def _prepare_reference(text: str) -> tuple[str, list[str]]:
    """The plain form of ``_prepare`` (every pattern, whole-text NFKC); the tests' oracle."""
    t = unicodedata.normalize("NFKC", html.unescape(text)).lower()
    markers: list[str] = []
    if _URL.search(t):
        markers.append("⟨url⟩")
        t = _URL.sub(" ", t)
    if _REPOST.search(t):
        markers.append("⟨repost⟩")
        t = _REPOST.sub("。", t)
    if _MENTION.search(t):
        markers.append("⟨at⟩")
        t = _MENTION.sub(" ", t)
    markers += _EMOTICON.findall(t)
    t = _EMOTICON.sub(" ", t)
    if "#" in t:
        markers.append("⟨topic⟩")
    markers += [f"⟨{m[:2]}⟩" for m in _RUNS.findall(t)]
    if _LOST_EMOJI.search(t):
        markers.append("⟨emoji⟩")
        t = _LOST_EMOJI.sub(" ", t)
    return _DIGITS.sub("0", t), markers


@dataclass
class Analysed:
    """A batch of posts read for the model, flat: what ``analyse`` gives, without per-post lists.

    ``terms`` holds every word-level term (words, ¬negated words, markers) of every post,
    ``term_counts`` how many belong to each post in order; ``bigrams`` and ``bigram_counts`` the
    same for adjacent word pairs; ``chars`` the cleaned character text of each post.
    """

    terms: list[str]
    term_counts: list[int]
    bigrams: list[tuple[str, str]]
    bigram_counts: list[int]
    chars: list[str]


def analyse_flat(texts: Sequence[str]) -> Analysed:
    """``analyse`` for prediction: the same terms per post, gathered into flat lists."""
    from textkit.segment import cut_many

    prepared = [_prepare(t) for t in texts]
    cleans = [p[0] for p in prepared]
    cuts = cut_many(cleans)
    terms: list[str] = []
    term_counts: list[int] = []
    bigrams: list[tuple[str, str]] = []
    bigram_counts: list[int] = []
    chars: list[str] = []
    space = _SPACE.search
    negators = _NEGATORS
    for (clean, markers), cut in zip(prepared, cuts, strict=True):
        if space(clean) is None:
            # No whitespace in the text: no token needs stripping and none is blank.
            toks = cut
            chars.append(clean)
        else:
            toks = [w for w in (s.strip() for s in cut) if w]
            chars.append(_SPACE.sub("", clean))
        before = len(terms)
        terms += toks
        if not negators.isdisjoint(toks):
            scope = 0
            for w in toks:
                if w in _SCOPE_END:
                    scope = 0
                    continue
                if scope:
                    terms.append("¬" + w)
                    scope -= 1
                if w in negators:
                    scope = _NEGATION_WINDOW
        terms += markers
        term_counts.append(len(terms) - before)
        bigrams += itertools.pairwise(toks)
        bigram_counts.append(len(toks) - 1 if toks else 0)
    return Analysed(terms, term_counts, bigrams, bigram_counts, chars)


def analyse(texts: Sequence[str]) -> tuple[list[list[str]], list[str]]:
    """Word-level tokens (words, ¬negated words, bigrams, markers) and cleaned character text."""
    return _analyse(texts, _prepare)


def _analyse(
    texts: Sequence[str], prepare: Callable[[str], tuple[str, list[str]]]
) -> tuple[list[list[str]], list[str]]:
    from textkit.segment import cut_many

    prepared = [prepare(t) for t in texts]
    cuts = cut_many([p[0] for p in prepared])
    words: list[list[str]] = []
    chars: list[str] = []
    for (clean, markers), cut in zip(prepared, cuts, strict=True):
        toks = [w for w in (s.strip() for s in cut) if w]
        out = list(toks)
        scope = 0
        for w in toks:
            if w in _SCOPE_END:
                scope = 0
                continue
            if scope:
                out.append("¬" + w)
                scope -= 1
            if w in _NEGATORS:
                scope = _NEGATION_WINDOW
        out += [f"{a} {b}" for a, b in itertools.pairwise(toks)]
        out += markers
        words.append(out)
        chars.append(_SPACE.sub("", clean))
    return words, chars


def _char_grams(text: str, n_max: int) -> list[str]:
    return [text[i : i + n] for n in range(1, n_max + 1) for i in range(len(text) - n + 1)]


@dataclass
class Space:
    """A tf-idf space over a fixed vocabulary (term → column), sublinear tf, l2-normalised."""

    vocab: dict[str, int]
    idf: np.ndarray  # float32, one per column

    @classmethod
    def fit(cls, docs: Sequence[Sequence[str]], min_df: int, max_terms: int) -> Space:
        df: Counter[str] = Counter()
        for d in docs:
            df.update(set(d))
        kept = [t for t, c in df.items() if c >= min_df]
        # Most frequent first; ties by term so the same data gives the same model.
        kept.sort(key=lambda t: (-df[t], t))
        kept = sorted(kept[:max_terms])
        n = len(docs)
        idf = np.array([np.log((1.0 + n) / (1.0 + df[t])) + 1.0 for t in kept], dtype=np.float32)
        return cls({t: i for i, t in enumerate(kept)}, idf)

    def transform(self, docs: Sequence[Sequence[str]]) -> sp.csr_matrix:
        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        vocab = self.vocab
        for d in docs:
            counts = Counter(vocab[t] for t in d if t in vocab)
            indices.extend(counts.keys())
            data.extend(counts.values())
            indptr.append(len(indices))
        x = sp.csr_matrix(
            (np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int64), indptr),
            shape=(len(docs), len(vocab)),
            dtype=np.float32,
        )
        x.data = (1.0 + np.log(x.data)) * self.idf[x.indices]
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.csr_matrix(sp.diags((1.0 / norms).astype(np.float32)) @ x, dtype=np.float32)

    def terms_blob(self) -> np.ndarray:
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        # Terms never contain NUL (it is not text we keep), so NUL separates them.
        return np.frombuffer("\x00".join(terms).encode("utf-8"), dtype=np.uint8).copy()

    @classmethod
    def from_blob(cls, blob: np.ndarray, idf: np.ndarray) -> Space:
        raw = blob.tobytes().decode("utf-8")
        terms = raw.split("\x00") if raw else []
        return cls({t: i for i, t in enumerate(terms)}, idf)


_CODE_BITS = 21  # every code point fits in 21 bits, so three of them fit in one uint64
_EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)  # no packed n-gram (at most 63 bits) has this value
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@dataclass
class _KeyTable:
    """An open-addressing hash table from uint64 keys to int64 values, probed in numpy.

    A sorted array searched by bisection touches about 17 cache lines per query for 200,000
    keys; at a load of at most 1/4 a query here mostly touches one. Linear probing, a
    multiplicative hash, built once from the model's arrays.
    """

    keys: np.ndarray  # uint64 slots, _EMPTY where free
    values: np.ndarray  # int64, one per slot
    shift: np.uint64

    @classmethod
    def build(cls, keys: np.ndarray, values: np.ndarray) -> _KeyTable:
        bits = max(4, int(np.ceil(np.log2(max(len(keys), 1) * 4))))
        size = 1 << bits
        table = cls(
            np.full(size, _EMPTY, dtype=np.uint64),
            np.full(size, -1, dtype=np.int64),
            np.uint64(64 - bits),
        )
        pending = np.arange(len(keys))
        pos = table._slots(keys)
        while pending.size:
            free = np.flatnonzero(table.keys[pos] == _EMPTY)
            # Of the pending keys aimed at one free slot, the first takes it; the rest move on.
            _, first = np.unique(pos[free], return_index=True)
            won = free[first]
            table.keys[pos[won]] = keys[pending[won]]
            table.values[pos[won]] = values[pending[won]]
            moving = np.ones(pending.size, dtype=bool)
            moving[won] = False
            pending, pos = pending[moving], (pos[moving] + 1) & (size - 1)
        return table

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.asarray((keys * _GOLDEN) >> self.shift, dtype=np.int64)

    def get(self, keys: np.ndarray) -> np.ndarray:
        """The value of each key, -1 where it is absent."""
        out = np.full(keys.size, -1, dtype=np.int64)
        todo = np.arange(keys.size)
        pos = self._slots(keys)
        mask = len(self.keys) - 1
        while todo.size:
            found = self.keys[pos]
            hit = found == keys[todo]
            out[todo[hit]] = self.values[pos[hit]]
            going = ~hit & (found != _EMPTY)
            todo, pos = todo[going], (pos[going] + 1) & mask
        return out


def _gram_key(term: str) -> int:
    key = 0
    for ch in term:
        key = (key << _CODE_BITS) | ord(ch)
    return key


@dataclass
class _Lookup:
    """Prediction tables derived from a model's saved arrays (never saved themselves).

    Word terms are looked up in C through ``dict.get`` over flat lists; word bigrams by their
    pair of words, so no ``"a b"`` string is built per post; character n-grams (up to three
    characters) as code points packed into one uint64, found by binary search in numpy. All
    base models are scored by one sparse product with their coefficients side by side.
    """

    terms: dict[str, int]
    bigrams: dict[tuple[str, str], int]
    char_table: _KeyTable | None  # packed character n-gram → column past the word columns
    n_words: int
    idf: np.ndarray  # float32 over word then character columns
    coef_t: np.ndarray  # float32 (columns, k * base models), C-contiguous
    intercept: np.ndarray  # float64 (k * base models,)
    nb_block: int | None  # index of the ComplementNB block, whose scores are centred

    @classmethod
    def build(cls, model: SentimentModel) -> _Lookup:
        terms: dict[str, int] = {}
        bigrams: dict[tuple[str, str], int] = {}
        for term, col in model.words.vocab.items():
            # Words, ¬words and markers never hold a space; a bigram is "word word".
            if " " in term:
                a, _, b = term.partition(" ")
                bigrams[(a, b)] = col
            else:
                terms[term] = col
        n_words = len(model.words.vocab)
        char_table: _KeyTable | None = None
        if all(1 <= len(t) <= 3 for t in model.chars.vocab):
            keys = np.fromiter(
                (_gram_key(t) for t in model.chars.vocab),
                dtype=np.uint64,
                count=len(model.chars.vocab),
            )
            cols = np.fromiter(model.chars.vocab.values(), dtype=np.int64, count=len(keys))
            char_table = _KeyTable.build(keys, cols + n_words)
        kinds = list(model.options.base_models)
        coef = np.vstack([model.base[kind][0] for kind in kinds]).astype(np.float32)
        intercept = np.concatenate([model.base[kind][1] for kind in kinds]).astype(np.float64)
        return cls(
            terms,
            bigrams,
            char_table,
            n_words,
            np.concatenate([model.words.idf, model.chars.idf]).astype(np.float32),
            np.ascontiguousarray(coef.T),
            intercept,
            kinds.index("nb") if "nb" in kinds else None,
        )

    def char_entries(self, chars: Sequence[str], n_max: int) -> tuple[np.ndarray, np.ndarray]:
        """(post, column) of every in-vocabulary character 1..n_max-gram of every post."""
        assert self.char_table is not None
        n = len(chars)
        lengths = np.fromiter(map(len, chars), dtype=np.int64, count=n)
        codes = np.frombuffer("".join(chars).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        doc = np.repeat(np.arange(n, dtype=np.int64), lengths)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        key = codes
        for g in range(1, n_max + 1):
            if g > 1:
                key = (key[:-1] << np.uint64(_CODE_BITS)) | codes[g - 1 :]
            if key.size == 0:
                break
            if g > 1:
                # Only n-grams inside one post are looked up.
                inside = np.flatnonzero(doc[: key.size] == doc[g - 1 :])
                col = self.char_table.get(key[inside])
                hit = col >= 0
                rows.append(doc[inside[hit]])
            else:
                col = self.char_table.get(key)
                hit = col >= 0
                rows.append(doc[hit])
            cols.append(col[hit])
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(rows), np.concatenate(cols)


# ---------------------------------------------------------------------------------------------
# options and results


@dataclass
class SentimentOptions:
    """Training options; every field is recorded in the model's metadata."""

    char_ngram_max: int = 3
    min_df: int = 2
    max_word_terms: int = 200_000
    max_char_terms: int = 200_000
    svc_c: float = 0.3
    nb_alpha: float = 0.3
    lr_alpha: float = 2e-5
    base_models: tuple[str, ...] = ("svc", "lr", "nb")
    stack_folds: int = 4
    meta_c: float = 1.0
    prior_powers: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "char_ngram_max": self.char_ngram_max,
            "min_df": self.min_df,
            "max_word_terms": self.max_word_terms,
            "max_char_terms": self.max_char_terms,
            "svc_c": self.svc_c,
            "nb_alpha": self.nb_alpha,
            "lr_alpha": self.lr_alpha,
            "base_models": list(self.base_models),
            "stack_folds": self.stack_folds,
            "meta_c": self.meta_c,
            "prior_powers": list(self.prior_powers),
            "seed": self.seed,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SentimentOptions:
        return cls(
            char_ngram_max=int(data["char_ngram_max"]),
            min_df=int(data["min_df"]),
            max_word_terms=int(data["max_word_terms"]),
            max_char_terms=int(data["max_char_terms"]),
            svc_c=float(data["svc_c"]),
            nb_alpha=float(data["nb_alpha"]),
            lr_alpha=float(data["lr_alpha"]),
            base_models=tuple(str(v) for v in data["base_models"]),
            stack_folds=int(data["stack_folds"]),
            meta_c=float(data["meta_c"]),
            prior_powers=tuple(float(v) for v in data["prior_powers"]),
            seed=int(data["seed"]),
        )


@dataclass
class SentimentPrediction:
    emotion: str
    negativity: str  # negative / neutral / positive
    confidence: float  # calibrated probability of the emotion
    negativity_confidence: float  # summed probability of the chosen polarity
    scores: dict[str, float]  # calibrated probability per emotion


def negativity_of(emotion: str, mapping: dict[str, str] | None = None) -> str:
    """The polarity an emotion label maps to (unknown labels are neutral)."""
    return (mapping or DEFAULT_NEGATIVITY).get(emotion, "neutral")


# ---------------------------------------------------------------------------------------------
# base classifiers (fitted with scikit-learn, kept as plain arrays)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _fit_base(
    kind: str, x: sp.csr_matrix, y: np.ndarray, k: int, opts: SentimentOptions
) -> tuple[np.ndarray, np.ndarray]:
    """Fit one base model; returns ``(coef[k, d], intercept[k])`` in label-index order."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if kind == "svc":
            from sklearn.svm import LinearSVC

            m: Any = LinearSVC(C=opts.svc_c, class_weight="balanced", random_state=opts.seed)
            m.fit(x, y)
            coef, intercept = m.coef_, m.intercept_
        elif kind == "lr":
            # Logistic loss by SGD: within a point of lbfgs here and many times faster on
            # 10^5 sparse columns, which keeps the stacking folds affordable.
            from sklearn.linear_model import SGDClassifier

            m = SGDClassifier(
                loss="log_loss",
                alpha=opts.lr_alpha,
                class_weight="balanced",
                max_iter=30,
                tol=None,
                random_state=opts.seed,
            )
            m.fit(x, y)
            coef, intercept = m.coef_, m.intercept_
        elif kind == "nb":
            from sklearn.naive_bayes import ComplementNB

            m = ComplementNB(alpha=opts.nb_alpha)
            m.fit(x, y)
            coef, intercept = m.feature_log_prob_, np.zeros(len(m.classes_))
        else:
            raise ValueError(f"unknown base model {kind!r}")
        classes = m.classes_
    if len(classes) == 2 and coef.shape[0] == 1:
        # Binary sklearn models keep one row (for class 1); score class 0 as its negation.
        coef = np.vstack([-coef[0], coef[0]]) / 2
        intercept = np.array([-intercept[0], intercept[0]]) / 2
    if len(classes) != k:
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
    s = np.asarray(x @ coef.T, dtype=np.float64) + intercept
    if kind == "nb":
        # NB log-likelihoods grow with text length; centring per row keeps only the contrast.
        s = s - s.mean(axis=1, keepdims=True)
    return s


def _stratified_folds(y: np.ndarray, n_folds: int, seed: int) -> list[np.ndarray]:
    from sklearn.model_selection import KFold, StratifiedKFold

    n_folds = max(2, n_folds)
    counts = np.bincount(y)
    if counts[counts > 0].min() < n_folds:
        return [te for _, te in KFold(n_folds, shuffle=True, random_state=seed).split(y)]
    skf = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    return [te for _, te in skf.split(np.zeros(len(y)), y)]


def _macro_f1(y: np.ndarray, p: np.ndarray, k: int) -> float:
    f1s = []
    for c in range(k):
        tp = int(((p == c) & (y == c)).sum())
        fp = int(((p == c) & (y != c)).sum())
        fn = int(((p != c) & (y == c)).sum())
        if tp + fp + fn:
            f1s.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else 0.0


# ---------------------------------------------------------------------------------------------
# the model


@dataclass
class SentimentModel:
    labels: list[str]
    negativity: dict[str, str]
    options: SentimentOptions
    words: Space
    chars: Space
    base: dict[str, tuple[np.ndarray, np.ndarray]]
    meta_coef: np.ndarray
    meta_intercept: np.ndarray
    prior: np.ndarray  # training label shares, float64
    prior_power: float
    info: dict[str, Any] = field(default_factory=dict)

    # -- training -------------------------------------------------------------------------

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        negativity: dict[str, str] | None = None,
        options: SentimentOptions | None = None,
        progress: Callable[[str], None] | None = None,
        **opts: Any,
    ) -> SentimentModel:
        """Train on posts and their emotion labels.

        ``negativity`` maps every label to negative/neutral/positive (default: the SMP2020
        convention, see DEFAULT_NEGATIVITY). Raises TrainingDataError for fewer than two labels,
        a blank text, or a label the mapping does not cover.
        """
        started = time.perf_counter()
        options = options or SentimentOptions(**opts)
        texts = [str(t) for t in texts]
        y_text = [str(v).strip() for v in labels]
        if len(texts) != len(y_text):
            raise ValueError("texts and labels differ in length")
        if not texts:
            raise TrainingDataError("no training rows")
        blank = [i for i, t in enumerate(texts) if not t.strip()]
        if blank:
            raise TrainingDataError(
                f"{len(blank)} training text(s) are empty (first at index {blank[0]})"
            )
        unlabeled = [i for i, v in enumerate(y_text) if not v]
        if unlabeled:
            raise TrainingDataError(
                f"{len(unlabeled)} training row(s) have no label (first at index {unlabeled[0]})"
            )
        label_set = sorted(set(y_text))
        if len(label_set) < 2:
            raise TrainingDataError(
                f"the label column has only one class ({label_set[0]}); "
                "an emotion model needs at least two"
            )
        mapping = dict(negativity or DEFAULT_NEGATIVITY)
        unmapped = [lab for lab in label_set if lab not in mapping]
        if unmapped:
            raise TrainingDataError(
                f"label(s) {', '.join(unmapped)} have no negativity mapping; "
                f"known labels: {', '.join(sorted(mapping))}"
            )
        bad = {lab: mapping[lab] for lab in label_set if mapping[lab] not in POLARITIES}
        if bad:
            raise TrainingDataError(f"negativity must be one of {POLARITIES}, got {bad}")
        mapping = {lab: mapping[lab] for lab in label_set}
        note = progress or (lambda _msg: None)
        index = {lab: i for i, lab in enumerate(label_set)}
        y = np.array([index[v] for v in y_text], dtype=np.int64)
        k = len(label_set)

        note("reading posts")
        words, chars = analyse(texts)
        grams = [_char_grams(c, options.char_ngram_max) for c in chars]
        note("features")
        wspace = Space.fit(words, options.min_df, options.max_word_terms)
        cspace = Space.fit(grams, options.min_df, options.max_char_terms)
        x = sp.hstack([wspace.transform(words), cspace.transform(grams)], format="csr")
        if x.shape[1] == 0:
            raise TrainingDataError(
                "no token occurs in at least min_df training texts; give more data or lower min_df"
            )

        # Out-of-fold base scores train the meta-model, so it learns how far to trust each base
        # model on unseen posts rather than on posts it has memorised.
        oof = {kind: np.zeros((len(y), k)) for kind in options.base_models}
        folds = _stratified_folds(y, min(options.stack_folds, len(y)), options.seed)
        for f, test_idx in enumerate(folds):
            note(f"stacking fold {f + 1}/{len(folds)}")
            train_idx = np.setdiff1d(np.arange(len(y)), test_idx)
            if len(np.unique(y[train_idx])) < 2:
                continue
            for kind in options.base_models:
                c, b = _fit_base(kind, x[train_idx], y[train_idx], k, options)
                oof[kind][test_idx] = _base_scores(kind, x[test_idx], c, b)
        note("base models")
        base = {kind: _fit_base(kind, x, y, k, options) for kind in options.base_models}
        meta_x = np.hstack([oof[kind] for kind in options.base_models])
        from sklearn.linear_model import LogisticRegression

        # Base scores live on very different scales (margins vs log-likelihoods); standardising
        # them makes the meta fit converge in a few dozen steps instead of a thousand. The
        # scaling is folded back into the stored coefficients.
        mu = meta_x.mean(axis=0)
        sd = meta_x.std(axis=0)
        sd[sd == 0] = 1.0
        meta = LogisticRegression(C=options.meta_c, max_iter=500)
        meta.fit((meta_x - mu) / sd, y)
        w = np.zeros((k, meta_x.shape[1]))
        b = np.full(k, -30.0)
        for row, cls_i in enumerate(meta.classes_):
            if k > 2:
                w[int(cls_i)], b[int(cls_i)] = meta.coef_[row], meta.intercept_[row]
            else:
                sign = 1 if row else -1
                w[int(cls_i)] = meta.coef_[0] * sign / 2
                b[int(cls_i)] = meta.intercept_[0] * sign / 2
        meta_coef = (w / sd).astype(np.float32)
        meta_int = (b - (w * (mu / sd)).sum(axis=1)).astype(np.float32)

        # Choose how far to lean away from the training prior on out-of-fold probabilities:
        # a second, inner use of the same folds, never the evaluation data.
        prior = np.bincount(y, minlength=k).astype(np.float64) / len(y)
        oof_p = _softmax(meta_x @ meta_coef.T.astype(np.float64) + meta_int)
        tried = {
            float(a): _macro_f1(y, np.argmax(oof_p / prior**a, axis=1), k)
            for a in options.prior_powers
        }
        power = max(tried, key=lambda a: (round(tried[a], 4), -a))

        fingerprint = hashlib.sha256()
        for t, lab in zip(texts, y_text, strict=True):
            fingerprint.update(t.encode("utf-8"))
            fingerprint.update(b"\x1f")
            fingerprint.update(lab.encode("utf-8"))
            fingerprint.update(b"\x1e")
        info = {
            "trained_rows": len(y),
            "label_counts": {lab: int(c) for lab, c in sorted(Counter(y_text).items())},
            "training_data_sha256": fingerprint.hexdigest(),
            "training_seconds": round(time.perf_counter() - started, 2),
            "word_terms": len(wspace.vocab),
            "char_terms": len(cspace.vocab),
            "prior_power_oof_macro_f1": {str(a): round(v, 4) for a, v in tried.items()},
        }
        return cls(
            label_set,
            mapping,
            options,
            wspace,
            cspace,
            base,
            meta_coef,
            meta_int,
            prior,
            power,
            info,
        )

    # -- prediction -----------------------------------------------------------------------

    def _features_reference(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Features the plain way (per-post term lists and Counters); the tests' oracle."""
        words, chars = _analyse([str(t) for t in texts], _prepare_reference)
        grams = [_char_grams(c, self.options.char_ngram_max) for c in chars]
        return sp.hstack([self.words.transform(words), self.chars.transform(grams)], format="csr")

    def _lookup(self) -> _Lookup:
        found = self.__dict__.get("_lookup_cache")
        if found is None:
            found = _Lookup.build(self)
            self.__dict__["_lookup_cache"] = found
        return found

    def _features(self, texts: Sequence[str]) -> sp.csr_matrix:
        """The tf-idf rows of ``texts``: word space then character space, each l2-normalised.

        The same matrix as ``_features_reference`` (up to float rounding), built for the whole
        batch at once: one flat list of terms looked up in C, character n-grams in numpy, and
        one sort of (post, column) keys for the counts.
        """
        lk = self._lookup()
        n = len(texts)
        a = analyse_flat([str(t) for t in texts])
        if lk.char_table is None:
            grams = [_char_grams(c, self.options.char_ngram_max) for c in a.chars]
            char_rows = np.repeat(np.arange(n, dtype=np.int64), [len(g) for g in grams])
            flat = list(itertools.chain.from_iterable(grams))
            vocab = self.chars.vocab
            char_cols = np.fromiter(
                (vocab.get(t, -1 - lk.n_words) + lk.n_words for t in flat),
                dtype=np.int64,
                count=len(flat),
            )
        else:
            char_rows, char_cols = lk.char_entries(a.chars, self.options.char_ngram_max)
        docs = np.arange(n, dtype=np.int64)
        rows = np.concatenate(
            [np.repeat(docs, a.term_counts), np.repeat(docs, a.bigram_counts), char_rows]
        )
        cols = np.concatenate(
            [
                np.fromiter(
                    map(lk.terms.get, a.terms, itertools.repeat(-1)),
                    dtype=np.int64,
                    count=len(a.terms),
                ),
                np.fromiter(
                    map(lk.bigrams.get, a.bigrams, itertools.repeat(-1)),
                    dtype=np.int64,
                    count=len(a.bigrams),
                ),
                char_cols,
            ]
        )
        keep = cols >= 0
        width = len(lk.idf)
        # int32 keys when they fit: the sort below is the largest single cost of a batch.
        keys, counts = np.unique(pair_keys(rows[keep], cols[keep], width, n), return_counts=True)
        row, col = keys // width, keys % width
        data = (1.0 + np.log(counts.astype(np.float32))) * lk.idf[col]
        # l2 norm per post and space (word columns, then character columns).
        group = row * 2 + (col >= lk.n_words)
        sq = np.bincount(group, weights=np.square(data, dtype=np.float32), minlength=2 * n)
        norms = np.sqrt(sq.astype(np.float32))
        norms[norms == 0] = 1.0
        data = data * (np.float32(1.0) / norms)[group]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=n), out=indptr[1:])
        return sp.csr_matrix(
            (data.astype(np.float32), col, indptr), shape=(n, width), dtype=np.float32
        )

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probability of each label (columns in ``self.labels`` order)."""
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)))
        lk = self._lookup()
        x = self._features(texts)
        s = np.asarray(x @ lk.coef_t, dtype=np.float64) + lk.intercept
        if lk.nb_block is not None:
            # NB log-likelihoods grow with text length; centring per row keeps only the contrast.
            k = len(self.labels)
            nb = s[:, lk.nb_block * k : (lk.nb_block + 1) * k]
            nb -= nb.mean(axis=1, keepdims=True)
        z = s @ self.meta_coef.T.astype(np.float64) + self.meta_intercept
        return _softmax(z)

    def probabilities_reference(self, texts: Sequence[str]) -> np.ndarray:
        """``probabilities`` computed the plain way, base model by base model; the tests' oracle."""
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)))
        x = self._features_reference(texts)
        scores = [_base_scores(kind, x, *self.base[kind]) for kind in self.options.base_models]
        z = np.hstack(scores) @ self.meta_coef.T.astype(np.float64) + self.meta_intercept
        return _softmax(z)

    def predict(self, texts: Sequence[str], *, batch_size: int = 4096) -> list[SentimentPrediction]:
        """Emotion, negativity and per-emotion probabilities for each text."""
        polarity_of = np.array(
            [POLARITIES.index(self.negativity[lab]) for lab in self.labels], dtype=np.int64
        )
        weights = self.prior**self.prior_power
        out: list[SentimentPrediction] = []
        for start in range(0, len(texts), batch_size):
            p = self.probabilities(texts[start : start + batch_size])
            emo = np.argmax(p / weights, axis=1)
            pol = np.zeros((p.shape[0], len(POLARITIES)))
            for j, g in enumerate(polarity_of):
                pol[:, g] += p[:, j]
            neg = np.argmax(pol, axis=1)
            neg_p = pol[np.arange(len(neg)), neg]
            # Whole-array conversions to Python floats instead of one numpy scalar at a time.
            labels = self.labels
            columns = (p.tolist(), emo.tolist(), neg.tolist(), neg_p.tolist())
            for row, e, g, gp in zip(*columns, strict=True):
                out.append(
                    SentimentPrediction(
                        emotion=labels[e],
                        negativity=POLARITIES[g],
                        confidence=row[e],
                        negativity_confidence=gp,
                        scores=dict(zip(labels, row, strict=True)),
                    )
                )
        return out

    # -- persistence ----------------------------------------------------------------------

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {
            "word_terms": self.words.terms_blob(),
            "word_idf": self.words.idf.astype(np.float32),
            "char_terms": self.chars.terms_blob(),
            "char_idf": self.chars.idf.astype(np.float32),
            "meta_coef": self.meta_coef.astype(np.float32),
            "meta_intercept": self.meta_intercept.astype(np.float32),
            "prior": self.prior.astype(np.float64),
        }
        for kind, (c, b) in self.base.items():
            arrays[f"{kind}_coef"] = c.astype(np.float32)
            arrays[f"{kind}_intercept"] = b.astype(np.float32)
        return arrays

    def save(
        self, directory: str | os.PathLike[str], *, metrics: dict[str, Any] | None = None
    ) -> Path:
        """Write the model into ``directory`` (created if needed), each file replaced atomically."""
        arrays = self._arrays()
        meta = {
            "labels": self.labels,
            "negativity": self.negativity,
            "prior_power": self.prior_power,
            "options": self.options.to_json(),
            "training": self.info,
            "metrics": metrics or {},
        }
        return save_folder(directory, fmt=FORMAT, version=FORMAT_VERSION, arrays=arrays, meta=meta)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> SentimentModel:
        """Load a saved model. Raises ModelFormatError for anything but an intact model."""
        meta, arrays = load_folder(directory, fmt=FORMAT, version=FORMAT_VERSION, kind="sentiment")
        meta_path = Path(directory) / MODEL_JSON
        try:
            options = SentimentOptions.from_json(meta["options"])
            labels = [str(v) for v in meta["labels"]]
            mapping = {str(k): str(v) for k, v in meta["negativity"].items()}
            model = cls(
                labels=labels,
                negativity=mapping,
                options=options,
                words=Space.from_blob(arrays["word_terms"], arrays["word_idf"]),
                chars=Space.from_blob(arrays["char_terms"], arrays["char_idf"]),
                base={
                    k: (arrays[f"{k}_coef"], arrays[f"{k}_intercept"]) for k in options.base_models
                },
                meta_coef=arrays["meta_coef"],
                meta_intercept=arrays["meta_intercept"],
                prior=arrays["prior"],
                prior_power=float(meta["prior_power"]),
                info=dict(meta.get("training") or {}),
            )
        except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
            raise ModelFormatError(f"{meta_path}: incomplete model metadata ({exc})") from exc
        model._check(meta_path)
        model.info["metrics"] = meta.get("metrics", {})
        return model

    def _check(self, where: Path) -> None:
        k = len(self.labels)
        if k < 2 or sorted(self.negativity) != sorted(self.labels):
            raise ModelFormatError(f"{where}: labels and negativity mapping do not match")
        if any(v not in POLARITIES for v in self.negativity.values()):
            raise ModelFormatError(f"{where}: negativity values must be one of {POLARITIES}")
        for space in (self.words, self.chars):
            if len(space.vocab) != space.idf.shape[0]:
                raise ModelFormatError(f"{where}: a vocabulary does not match its idf array")
        d = len(self.words.vocab) + len(self.chars.vocab)
        for kind, (c, b) in self.base.items():
            if c.shape != (k, d) or b.shape != (k,):
                raise ModelFormatError(f"{where}: {kind} coefficients do not fit the features")
        if self.meta_coef.shape != (k, k * len(self.base)) or self.meta_intercept.shape != (k,):
            raise ModelFormatError(f"{where}: meta-model does not fit the base models")
        if self.prior.shape != (k,):
            raise ModelFormatError(f"{where}: prior does not fit the labels")


# ---------------------------------------------------------------------------------------------
# the baseline the model is measured against


@dataclass
class Baseline:
    """TF-IDF over segmented words + multinomial logistic regression, scikit-learn defaults.

    The plain recipe most teams start from; kept here so every benchmark trains it on the same
    rows in the same run.
    """

    vectorizer: Any
    classifier: Any

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str]) -> Baseline:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        from textkit.segment import cut

        vec = TfidfVectorizer(tokenizer=cut, token_pattern=None, lowercase=True)
        x = vec.fit_transform(list(texts))
        clf = LogisticRegression(max_iter=1000)
        clf.fit(x, list(labels))
        return cls(vec, clf)

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [str(v) for v in self.classifier.predict(self.vectorizer.transform(list(texts)))]


# ---------------------------------------------------------------------------------------------
# evaluation


def negative_vs_rest(
    gold_polarity: Sequence[str], predicted_polarity: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, precision, recall and F1 of "negative" against everything else."""
    g = np.array([v == "negative" for v in gold_polarity])
    p = np.array([v == "negative" for v in predicted_polarity])
    n = len(g)
    tp = int((g & p).sum())
    precision = tp / int(p.sum()) if p.sum() else 0.0
    recall = tp / int(g.sum()) if g.sum() else 0.0
    return {
        "n": n,
        "accuracy": float((g == p).mean()) if n else 0.0,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "gold_negative_share": float(g.mean()) if n else 0.0,
    }


def evaluate_model(
    model: SentimentModel | Baseline,
    texts: Sequence[str],
    gold: Sequence[str],
    *,
    mapping: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Metrics of a model on labelled texts.

    ``gold`` holds emotion labels (then emotion and negativity metrics are computed, the gold
    polarity through ``mapping``) or polarities negative/neutral/positive (negativity only).
    """
    mapping = mapping or (
        model.negativity if isinstance(model, SentimentModel) else DEFAULT_NEGATIVITY
    )
    gold = [str(v).strip() for v in gold]
    gold_is_polarity = all(v in POLARITIES for v in gold) and not all(v in mapping for v in gold)
    if isinstance(model, SentimentModel):
        preds = model.predict(texts)
        emotions = [p.emotion for p in preds]
        polarity = [p.negativity for p in preds]
    else:
        emotions = model.predict(texts)
        polarity = [negativity_of(e, mapping) for e in emotions]
    gold_polarity = gold if gold_is_polarity else [negativity_of(v, mapping) for v in gold]
    result: dict[str, Any] = {"n": len(gold)}
    if not gold_is_polarity:
        result["emotion"] = classification_metrics(gold, emotions)
    result["negativity"] = classification_metrics(gold_polarity, polarity, POLARITIES)
    result["negative_vs_rest"] = negative_vs_rest(gold_polarity, polarity)
    result["predicted_polarity_counts"] = dict(sorted(Counter(polarity).items()))
    if isinstance(model, SentimentModel) and "neutral" not in set(gold_polarity):
        # Gold without a neutral class (e.g. review stars): also the forced choice between the
        # negative and the positive probability mass, since "neutral" cannot be right there.
        neg_i = [j for j, lab in enumerate(model.labels) if model.negativity[lab] == "negative"]
        pos_i = [j for j, lab in enumerate(model.labels) if model.negativity[lab] == "positive"]
        p = model.probabilities(texts) if len(texts) else np.zeros((0, len(model.labels)))
        forced = np.where(p[:, neg_i].sum(axis=1) > p[:, pos_i].sum(axis=1), "negative", "positive")
        result["forced_negative_or_positive_accuracy"] = (
            float(np.mean([f == g for f, g in zip(forced, gold_polarity, strict=True)]))
            if len(gold)
            else 0.0
        )
    return result


def _pct(v: float) -> str:
    return f"{v:.4f}"


def classification_metrics(
    true: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = ()
) -> dict[str, Any]:
    """Accuracy, macro-F1 (over labels present in truth or prediction), per-class P/R/F1, confusion."""
    labs = sorted(set(labels) | set(true) | set(predicted))
    idx = {lab: i for i, lab in enumerate(labs)}
    cm = np.zeros((len(labs), len(labs)), dtype=np.int64)
    for t, p in zip(true, predicted, strict=True):
        cm[idx[t], idx[p]] += 1
    per: dict[str, dict[str, float]] = {}
    f1s = []
    for lab, i in idx.items():
        tp, col, row = cm[i, i], cm[:, i].sum(), cm[i, :].sum()
        prec = float(tp / col) if col else 0.0
        rec = float(tp / row) if row else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[lab] = {"precision": prec, "recall": rec, "f1": f1, "support": int(row)}
        if row or col:
            f1s.append(f1)
    n = int(cm.sum())
    return {
        "n": n,
        "accuracy": float(np.trace(cm) / n) if n else 0.0,
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "labels": labs,
        "per_class": per,
        "confusion": {"rows_true_columns_predicted": cm.tolist()},
    }


def classification_markdown(d: dict[str, Any], title: str) -> str:
    labels = list(d["labels"])
    lines = [
        f"#### {title}",
        "",
        f"- rows: {d['n']}; accuracy **{d['accuracy']:.4f}**; macro-F1 **{d['macro_f1']:.4f}**",
        "",
        "| label | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for lab in labels:
        c = d["per_class"][lab]
        lines.append(
            f"| {lab} | {c['precision']:.4f} | {c['recall']:.4f} | {c['f1']:.4f} | {int(c['support'])} |"
        )
    lines += ["", "Confusion matrix (rows: true, columns: predicted):", ""]
    lines.append("| true \\ predicted | " + " | ".join(labels) + " |")
    lines.append("|---" * (len(labels) + 1) + "|")
    for lab, row in zip(labels, d["confusion"]["rows_true_columns_predicted"], strict=True):
        lines.append(f"| {lab} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def metrics_markdown(title: str, m: dict[str, Any]) -> str:
    """A Markdown section for one ``evaluate_model`` result."""
    nvr = m["negative_vs_rest"]
    lines = [f"### {title}", ""]
    if "emotion" in m:
        lines += [classification_markdown(m["emotion"], "Emotion"), ""]
    lines += [
        "#### Negativity",
        "",
        f"- negative-vs-rest accuracy: **{_pct(nvr['accuracy'])}** (precision {_pct(nvr['precision'])}, "
        f"recall {_pct(nvr['recall'])}, F1 {_pct(nvr['f1'])}; gold negative share "
        f"{nvr['gold_negative_share']:.1%})",
        f"- three-way polarity accuracy: {_pct(m['negativity']['accuracy'])}, macro-F1 "
        f"{_pct(m['negativity']['macro_f1'])}",
        "- predicted polarity counts: "
        + ", ".join(f"{k} {v}" for k, v in m["predicted_polarity_counts"].items()),
    ]
    if "forced_negative_or_positive_accuracy" in m:
        lines.append(
            "- forced negative-or-positive accuracy (negative vs positive probability mass, "
            f"neutral not allowed): {_pct(m['forced_negative_or_positive_accuracy'])}"
        )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# benchmark: the model against the baseline, trained on the same rows in the same run


def benchmark(
    *,
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    test_texts: Sequence[str],
    test_labels: Sequence[str],
    test_domains: Sequence[str] | None = None,
    chnsenticorp: tuple[Sequence[str], Sequence[str]] | None = None,
    negativity: dict[str, str] | None = None,
    options: SentimentOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], SentimentModel]:
    """Train model and baseline on the training rows, measure both on the test rows.

    ``chnsenticorp`` is ``(texts, polarities)`` for the out-of-domain negativity check.
    Returns the result dict (JSON-ready) and the trained model.
    """
    note = progress or (lambda _msg: None)
    mapping = dict(negativity or DEFAULT_NEGATIVITY)
    t0 = time.perf_counter()
    note(f"training the model on {len(train_texts)} rows")
    model = SentimentModel.train(
        train_texts, train_labels, negativity=mapping, options=options, progress=note
    )
    t1 = time.perf_counter()
    note("training the baseline (TF-IDF words + logistic regression)")
    baseline = Baseline.train(train_texts, train_labels)
    t2 = time.perf_counter()
    note(f"measuring both on {len(test_texts)} test rows")
    result: dict[str, Any] = {
        "train_rows": len(train_texts),
        "train_label_counts": dict(sorted(Counter(train_labels).items())),
        "test_rows": len(test_texts),
        "test_label_counts": dict(sorted(Counter(test_labels).items())),
        "negativity_mapping": model.negativity,
        "model_info": {k: v for k, v in model.info.items() if k != "metrics"},
        "prior_power": model.prior_power,
        "options": model.options.to_json(),
        "seconds": {"model_training": round(t1 - t0, 1), "baseline_training": round(t2 - t1, 1)},
        "model": evaluate_model(model, test_texts, test_labels, mapping=model.negativity),
        "baseline": evaluate_model(baseline, test_texts, test_labels, mapping=model.negativity),
    }
    if test_domains is not None:
        by: dict[str, Any] = {}
        for dom in sorted(set(test_domains)):
            idx = [i for i, d in enumerate(test_domains) if d == dom]
            tx = [test_texts[i] for i in idx]
            ty = [test_labels[i] for i in idx]
            by[dom] = {
                "model": evaluate_model(model, tx, ty, mapping=model.negativity),
                "baseline": evaluate_model(baseline, tx, ty, mapping=model.negativity),
            }
        result["by_domain"] = by
    if chnsenticorp is not None:
        texts, gold = chnsenticorp
        note(f"ChnSentiCorp check on {len(texts)} reviews")
        result["chnsenticorp"] = {
            "model": evaluate_model(model, texts, gold, mapping=model.negativity),
            "baseline": evaluate_model(baseline, texts, gold, mapping=model.negativity),
        }
    result["seconds"]["total"] = round(time.perf_counter() - t0, 1)
    return result, model


def benchmark_markdown(r: dict[str, Any]) -> str:
    m, b = r["model"], r["baseline"]

    def row(
        name: str, mm: dict[str, Any], bb: dict[str, Any], key: Callable[[dict[str, Any]], float]
    ) -> str:
        a, c = key(mm), key(bb)
        sa, sc = f"{a:.4f}", f"{c:.4f}"
        if a > c:
            sa = f"**{sa}**"
        elif c > a:
            sc = f"**{sc}**"
        return f"| {name} | {sa} | {sc} | {a - c:+.4f} |"

    lines = [
        "# Sentiment benchmark: SMP2020-EWECT",
        "",
        f"Data: `{r.get('input', '?')}`; trained on splits {', '.join(r.get('train_splits', []))} "
        f"({r['train_rows']} posts), tested on {', '.join(r.get('test_splits', []))} "
        f"({r['test_rows']} posts). Model and baseline are trained on the same rows in the same run; "
        "nothing was tuned on the test rows (the model's only data-driven choice, the prior power "
        f"{r['prior_power']}, is made on out-of-fold training predictions).",
        "",
        "Negativity mapping: "
        + ", ".join(f"{k}→{v}" for k, v in r["negativity_mapping"].items())
        + ". The model's negativity is the polarity with the largest summed emotion probability; "
        "the baseline's is its predicted emotion mapped the same way.",
        "",
        "| metric (test) | model | baseline TF-IDF+LR | difference |",
        "|---|---|---|---|",
        row("six-emotion macro-F1", m, b, lambda x: x["emotion"]["macro_f1"]),
        row("six-emotion accuracy", m, b, lambda x: x["emotion"]["accuracy"]),
        row("negative-vs-rest accuracy", m, b, lambda x: x["negative_vs_rest"]["accuracy"]),
        row("negative F1", m, b, lambda x: x["negative_vs_rest"]["f1"]),
        row("three-way polarity macro-F1", m, b, lambda x: x["negativity"]["macro_f1"]),
    ]
    if "by_domain" in r:
        for dom, d in r["by_domain"].items():
            lines.append(
                row(
                    f"{dom}: macro-F1 ({d['model']['n']} posts)",
                    d["model"],
                    d["baseline"],
                    lambda x: x["emotion"]["macro_f1"],
                )
            )
            lines.append(
                row(
                    f"{dom}: negative-vs-rest accuracy",
                    d["model"],
                    d["baseline"],
                    lambda x: x["negative_vs_rest"]["accuracy"],
                )
            )
    if "chnsenticorp" in r:
        c = r["chnsenticorp"]
        lines += [
            row(
                "ChnSentiCorp hotel reviews: negative-vs-rest accuracy (out of domain)",
                c["model"],
                c["baseline"],
                lambda x: x["negative_vs_rest"]["accuracy"],
            ),
        ]
    secs = r["seconds"]
    lines += [
        "",
        f"Training time: model {secs['model_training']} s, baseline {secs['baseline_training']} s "
        f"(whole run {secs['total']} s). Model features: {r['model_info'].get('word_terms')} word "
        f"terms, {r['model_info'].get('char_terms')} character n-grams; out-of-fold macro-F1 by prior "
        f"power: {r['model_info'].get('prior_power_oof_macro_f1')}.",
        "",
        "Reproduce: `minsheng text sentiment benchmark --input smp2020_ewect_weibo_emotion.csv "
        "--chnsenticorp ChnSentiCorp_htl_all.csv --report sentiment-report.md` (paths to the "
        "shared data files). The general-Weibo (usual) test split is held back from this data, "
        "so the visible test rows are all from the epidemic (virus) domain.",
        "",
        "## Details",
        "",
        metrics_markdown("Model on the test split", m),
        metrics_markdown("Baseline on the test split", b),
    ]
    if "chnsenticorp" in r:
        c = r["chnsenticorp"]
        lines += [
            "## ChnSentiCorp (hotel reviews, out of domain)",
            "",
            f"`{r.get('chnsenticorp_input', 'ChnSentiCorp')}`, {c['model']['n']} non-empty reviews, "
            "labels 1→positive and 0→negative. The model was trained on Weibo posts only; this is a "
            "check that its negativity transfers, not a tuned result. Reviews have no neutral "
            "class, so a 'neutral' prediction counts as not-negative in negative-vs-rest "
            "accuracy and as wrong in the three-way accuracy.",
            "",
            metrics_markdown("Model on ChnSentiCorp", c["model"]),
            metrics_markdown("Baseline on ChnSentiCorp", c["baseline"]),
        ]
    return "\n".join(lines) + "\n"
