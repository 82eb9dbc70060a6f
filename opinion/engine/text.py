"""Text of social-media items: what an item says itself, and the features it is clustered by.

Weibo reposts carry the chain they were reposted through: ``说得好//@甲: 真的吗//@乙: 原文…``.
The item's **own text** is what its author wrote:

1. the text is cut at the first ``//@`` (the repost chain);
2. ``回复@name:`` prefixes, ``@mentions``, URLs, emoticon codes such as ``[泪]`` and the
   platform's default repost texts (``转发微博``, ``轉發微博``, ``Repost``, ``分享图片``) are removed;
3. what remains is the own text; its **length** counts letters and digits only (Unicode
   categories L* and N*), so punctuation, symbols and spaces do not count.

``own_text_length`` is the definition the evaluation uses for "at least 10 characters of their
own text" (bench/opinion.py, docs/opinion-eval.md).

The **feature text** for clustering keeps the whole text, chain included (the chain's comments
belong to the same conversation), with URLs, emoticon codes and default repost texts removed; mentioned accounts
become tokens ``@name`` beside the character n-grams, because reposts of one cascade keep naming
the same accounts.
"""

from __future__ import annotations

import math
import re
import unicodedata

_CHAIN_RE = re.compile(r"//\s*@")
_REPLY_RE = re.compile(r"回复\s*@[^\s:：,，。!！?？@/]{1,30}\s*[:：]?")
_MENTION_RE = re.compile(r"@([^\s:：,，。!！?？@/()（）\[\]【】#]{1,30})")
_URL_RE = re.compile(r"(?:https?://|www\.)[A-Za-z0-9./?=&%_~:#+-]*|\bt\.cn/[A-Za-z0-9]+")
_EMOTICON_RE = re.compile(r"\[[^\[\]\s]{1,8}\]")
_HASHTAG_RE = re.compile(r"#([^#\s]{1,40})#")
# The platform's default repost text: said by the button, not by the author.
_BOILERPLATE_RE = re.compile(
    r"转发微博|轉發微博|\bRepost\b|分享图片|分享圖片|分享视频", re.IGNORECASE
)
# Runs of Han characters, Latin letters and digits (casefolded): n-grams never span punctuation.
_RUN_RE = re.compile("[0-9a-z\u00c0-\u024f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def own_text(text: str) -> str:
    """What the item's author wrote, without the repost chain, mentions, URLs and emoticons."""
    m = _CHAIN_RE.search(text)
    if m is not None:
        text = text[: m.start()]
    text = _REPLY_RE.sub(" ", text)
    text = _URL_RE.sub(" ", text)
    text = _MENTION_RE.sub(" ", text)
    text = _EMOTICON_RE.sub(" ", text)
    text = _BOILERPLATE_RE.sub(" ", text)
    return " ".join(text.split())


def count_chars(text: str) -> int:
    """Letters and digits (Unicode L* and N*)."""
    return sum(1 for ch in text if unicodedata.category(ch)[0] in "LN")


def own_text_length(text: str) -> int:
    return count_chars(own_text(text))


def mentions(text: str) -> list[str]:
    return _MENTION_RE.findall(text)


def hashtags(text: str) -> list[str]:
    return [h.strip() for h in _HASHTAG_RE.findall(text) if h.strip()]


def feature_text(text: str) -> str:
    """The text clustered on: URLs, emoticon codes and mentions out, chain kept, casefolded."""
    text = _URL_RE.sub(" ", text)
    text = _EMOTICON_RE.sub(" ", text)
    text = _MENTION_RE.sub(" ", text)
    text = _BOILERPLATE_RE.sub(" ", text)
    return text.casefold()


def term_counts(text: str, ngram_min: int, ngram_max: int) -> dict[str, int]:
    """Character n-grams of each run of letters and digits in ``feature_text(text)``, plus
    ``@name`` tokens for mentions and ``#tag#`` tokens for hashtags.

    A run shorter than ``ngram_min`` counts as one term, so "顶" or "赞" still say something.
    """
    counts: dict[str, int] = {}
    get = counts.get
    for name in _MENTION_RE.findall(text):
        key = "@" + name.casefold()
        counts[key] = get(key, 0) + 1
    for tag in _HASHTAG_RE.findall(text):
        key = "#" + tag.casefold() + "#"
        counts[key] = get(key, 0) + 1
    for run in _RUN_RE.findall(feature_text(text)):
        n_run = len(run)
        if n_run < ngram_min:
            counts[run] = get(run, 0) + 1
            continue
        for n in range(ngram_min, min(ngram_max, n_run) + 1):
            for i in range(n_run - n + 1):
                g = run[i : i + n]
                counts[g] = get(g, 0) + 1
    return counts


class IncrementalIdf:
    """Document frequencies over the stream so far; idf = ln((1 + N) / (1 + df)) + 1.

    The vocabulary is pruned when it passes ``max_terms``: terms seen in a single document are
    dropped (on a long stream most of them are typos and one-off names).
    """

    def __init__(self, max_terms: int = 2_000_000) -> None:
        self.df: dict[str, int] = {}
        self.n_docs = 0
        self.max_terms = max_terms

    def add(self, terms: dict[str, int]) -> None:
        df = self.df
        get = df.get
        for t in terms:
            df[t] = get(t, 0) + 1
        self.n_docs += 1
        if len(df) > self.max_terms:
            self.df = {t: c for t, c in df.items() if c > 1}

    def idf(self, term: str) -> float:
        return math.log((1.0 + self.n_docs) / (1.0 + self.df.get(term, 0))) + 1.0

    def vector(self, counts: dict[str, int]) -> dict[str, float]:
        """Sublinear tf × idf, L2-normalised."""
        get = self.df.get
        log_n = math.log(1.0 + self.n_docs)
        vec: dict[str, float] = {}
        total = 0.0
        for t, tf in counts.items():
            w = (1.0 + math.log(tf)) * (log_n - math.log(1.0 + get(t, 0)) + 1.0)
            vec[t] = w
            total += w * w
        if total > 0.0:
            inv = 1.0 / math.sqrt(total)
            for t in vec:
                vec[t] *= inv
        return vec

    def state_dict(self) -> dict[str, object]:
        return {"df": self.df, "n_docs": self.n_docs, "max_terms": self.max_terms}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> IncrementalIdf:
        idf = cls(int(state["max_terms"]))  # type: ignore[call-overload]
        idf.df = dict(state["df"])  # type: ignore[call-overload]
        idf.n_docs = int(state["n_docs"])  # type: ignore[call-overload]
        return idf
