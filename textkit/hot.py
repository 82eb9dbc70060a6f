"""Hot issues (热点问题): group a period's messages into issues and rank them by heat.

An *issue* is one problem at one place, raised by one or more messages. Grouping works in four
steps, all deterministic (input is sorted by time and id first; ties break on ids):

1. **Normalise** every title and body (:func:`textkit.normalise.normalise_many`).
2. **Places** (:func:`extract_places`): administrative units (``A市``, ``A5区``, ``K8县``,
   ``长沙市``, ``西地省``) by pattern, and named places by their generic head — 小区/花园/苑/…,
   街道/社区/镇/乡/村, 路/街/大道/巷/桥, 学校/小学/中学/学院/医院/公司/市场/站 … A candidate is the
   run of name characters before such a head; leading tokens that cannot start a name (verbs,
   prepositions, pronouns, particles, locatives, numerals — by their part-of-speech in jieba's
   dictionary, after cutting with :class:`textkit.segment.Segmenter` and its user dictionary)
   are trimmed, and a candidate that is itself a common noun of the dictionary (步行街, 搅拌站,
   水泥路) is not a place. Places are keyed without a trailing 小区, so 魅力之城 and 魅力之城小区
   are the same place. No list of place names is involved.
3. **Problem similarity**: TF-IDF over the segmented words of the text *with the place
   expressions removed* (so sharing a place alone does not look like sharing a problem); title
   and body are vectorised separately and combined ``0.5·title + 0.5·body`` (each L2-normalised),
   and similarity is the cosine. Re-posts found by :class:`textkit.dedupe.DedupeIndex` (MinHash
   LSH over character 3-grams, Jaccard ≥ ``duplicate_threshold``) count as at least that similar.
4. **Linking**: two messages may be in one issue when they share a named place (and do not name
   different districts/counties), or when at least one of them names no place and their
   similarity is at least ``strong_similarity``, or when they are near-duplicates. Messages that
   name different places never join. The allowed similarities form a sparse graph; each connected
   component is then cut by average-linkage agglomerative clustering at ``similarity``, so a
   chain of loosely related messages does not become one issue.

Heat of an issue with ``n`` messages::

    heat = ln(1 + n)                                    count
         + w_s · ln(1 + S)      S = max(0, Σ likes − Σ dislikes)   supports
         + w_g · G                                      growth

    G = max(0, log2((r + 1) / (e · f / (1 − f) + 1)))

where the period is ``[period_start, period_end]`` (by default the first and last message time
of the input), the recent window is its last fraction ``f`` (``recent_fraction``, default 0.25),
``r`` counts the issue's messages inside the recent window and ``e`` those before it. So ``G`` is
the (add-one smoothed) log₂ ratio of the issue's message rate in the recent window to its rate
before; an issue whose messages arrive evenly, or mostly earlier, gets 0. Defaults
``w_s = 0.5`` and ``w_g = 0.5``: one more doubling of supports weighs about as much as 40 % more
messages, so a lone message with many likes can be hot, but several messages beat a few likes.
Without times ``G`` is 0; without like counts ``S`` is 0. Issues rank by heat, then by more
messages, then by the earliest message id.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from textkit.dedupe import DedupeIndex
from textkit.normalise import normalise_many
from textkit.segment import Segmenter, default_segmenter

__all__ = [
    "HeatParts",
    "HotIssue",
    "Message",
    "Place",
    "extract_places",
    "find_hot_issues",
    "heat_of",
]

F64 = npt.NDArray[np.float64]

# -- places -------------------------------------------------------------------------------------

# Anonymised (A市, A5区, K8县) and ordinary (长沙市, 岳麓区, 西地省) administrative units. The
# ordinary pattern is only tried on a name of two or three characters before the unit and
# skips everyday words that end in 市/区/县 (超市, 小区, 社区 …).
_ADMIN_CODE = re.compile(r"(?<![A-Za-z0-9])[A-Z][0-9]{0,2}(?:省|市|区|县)")
_ADMIN_UNIT = re.compile(r"(?<=[\u4e00-\u9fff])(?:省|市|区|县)")
_ADMIN_WORD_TAGS = {"ns", "nr", "nz"}
_ADMIN_CORE_TAGS = {"ns"}
_NOT_ADMIN_TAIL = [
    "小区",
    "社区",
    "园区",
    "景区",
    "校区",
    "片区",
    "厂区",
    "街区",
    "山区",
    "禁区",
    "辖区",
    "市区",
    "郊区",
    "新区",
    "老区",
    "湖区",
    "库区",
    "营区",
    "院区",
    "矿区",
    "学区",
    "专区",
    "停车区",
    "服务区",
    "开发区",
    "示范区",
    "保护区",
    "商业区",
    "住宅区",
    "生活区",
    "超市",
    "城市",
    "门市",
    "股市",
    "楼市",
    "菜市",
    "夜市",
    "都市",
    "上市",
    "闹市",
    "集市",
    "早市",
    "花市",
    "黑市",
    "县城",
]
# Heads that make a run of name characters a place, longest first so 小区 wins over 区.
_SITE_HEADS = [
    "小区",
    "花园",
    "家园",
    "公寓",
    "大厦",
    "广场",
    "新城",
    "新村",
    "公馆",
    "山庄",
    "华府",
    "雅苑",
    "名苑",
    "苑",
    "园",
    "湾",
    "城",
    "街道",
    "社区",
    "镇",
    "乡",
    "村",
    "大道",
    "路",
    "街",
    "巷",
    "桥",
    "隧道",
    "立交",
    "幼儿园",
    "小学",
    "中学",
    "大学",
    "学院",
    "学校",
    "医院",
    "卫生院",
    "诊所",
    "公司",
    "工厂",
    "厂",
    "市场",
    "商场",
    "车站",
    "站",
    "机场",
    "码头",
    "酒店",
    "宾馆",
]
_HEADS_RE = "|".join(sorted(set(_SITE_HEADS), key=lambda h: (-len(h), h)))
_NAME_CHARS = r"[\u4e00-\u9fffA-Za-z0-9]"
_LONG_HEADS_RE = "|".join(h for h in _HEADS_RE.split("|") if len(h) > 1)
# 城 ends estate names (魅力之城, 辉煌国际城) but not 城市 or 城区.
_SITE = re.compile(
    rf"{_NAME_CHARS}{{1,8}}?(?:{_HEADS_RE})(?<!城(?=[市区镇乡]))(?:{_LONG_HEADS_RE})*"
)
# Part-of-speech tags (jieba's dictionary) of tokens that cannot begin a place name.
_HARD_STOP = re.compile(r"^(?:p|r|rr|rz|c|u|uj|ul|uz|ud|ug|uv|d|f|q|y|e|o|x|w|zg)$")
_SOFT_STOP = re.compile(r"^(?:v|vd|vn|vg|ad|ag|a|t|tg)$")
_PROPER_TAGS = {"ns", "nr", "nrt", "nrfg", "nz", "nt", "j"}
_KEY_STRIP = ("小区",)
_ADMIN_LEVEL = re.compile(r"(?:区|县)$")


@dataclass(frozen=True, slots=True)
class Place:
    """A place expression found in a text: its words as written, and the key used to compare."""

    text: str
    key: str
    admin: bool


@functools.cache
def _dictionary_tags() -> dict[str, str]:
    """word → part-of-speech tag from jieba's own dictionary (the one rjieba embeds)."""
    tags: dict[str, str] = {}
    path = resources.files("jieba") / "dict.txt"
    with path.open("r", encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 3:
                tags[parts[0]] = parts[2]
    return tags


def _tag(word: str, seg: Segmenter) -> str | None:
    user = seg.user_words.get(word)
    if user is not None and user[1]:
        return user[1]
    return _dictionary_tags().get(word)


def _admin_spans(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _ADMIN_CODE.finditer(text)]
    tags = _dictionary_tags()
    for m in _ADMIN_UNIT.finditer(text):
        end = m.end()
        if any(a < end and m.start() < b for a, b in spans):
            continue
        # The dictionary is the gazetteer: 长沙市, 朝阳区 as words, or 长沙, 宁乡 as place names.
        for length in range(5, 2, -1):
            start = end - length
            if start < 0:
                continue
            word = text[start:end]
            whole = tags.get(word)
            generic = any(word.endswith(tail) for tail in _NOT_ADMIN_TAIL)
            if whole in _ADMIN_WORD_TAGS or (
                not generic and tags.get(word[:-1]) in _ADMIN_CORE_TAGS
            ):
                if not any(a < end and start < b for a, b in spans):
                    spans.append((start, end))
                break
    return sorted(spans)


def _trim_name(candidate: str, seg: Segmenter) -> str:
    """Cut a candidate back to the name: 反映我们魅力之城小区 → 魅力之城小区.

    From the head backwards, the name ends at a function word (preposition, pronoun, particle,
    adverb, locative like 附近 …); 之 is kept because names use it (魅力之城). Then leading verbs
    and adjectives are dropped while at least two name characters remain, because road names
    are often made of verbs (解放西路, 劳动东路, 建设路).
    """
    tokens = seg.cut(candidate)
    start = len(tokens) - 1
    while start > 0:
        prev = tokens[start - 1]
        tag = _tag(prev, seg)
        if prev != "之" and tag is not None and _HARD_STOP.match(tag):
            break
        # A head further back closes an earlier place (中学配套周南中学 → 周南中学); right
        # before the final head it is part of the name (丽发新城小区, 魅力之城小区).
        if prev in _HEAD_SET and start - 1 < len(tokens) - 2:
            break
        start -= 1
    head = _head_of(candidate)
    while start < len(tokens) - 1:
        tag = _tag(tokens[start], seg)
        if tag is None or not _SOFT_STOP.match(tag):
            break
        rest = "".join(tokens[start + 1 :])
        if len(rest) - len(head) < 2:
            break
        start += 1
    return _LEADING_CODE.sub("", "".join(tokens[start:]))


_HEADS_LONGEST_FIRST = sorted(set(_SITE_HEADS), key=lambda h: (-len(h), h))
_HEAD_SET = frozenset(_SITE_HEADS)
_LEADING_CODE = re.compile(r"^[0-9A-Za-z]+(?=[\u4e00-\u9fff]{3})")


def _head_of(place: str) -> str:
    for head in _HEADS_LONGEST_FIRST:
        if place.endswith(head):
            return head
    return ""


def _is_place_name(place: str, seg: Segmenter) -> bool:
    head = _head_of(place)
    core = place[: len(place) - len(head)]
    if len(core) < 2 or not re.search(r"[\u4e00-\u9fff]", core):
        return False
    core_tag = _tag(core, seg)
    if core_tag is not None and (
        _HARD_STOP.match(core_tag) or _SOFT_STOP.match(core_tag) or core_tag in ("m", "mq")
    ):
        return False  # 不让市场, 一个小区: a verb or a number in front of a head is no name
    tag = _tag(place, seg)
    # A whole dictionary word that is not a proper noun is a kind of place, not a place.
    return tag is None or tag in _PROPER_TAGS


def _match_keys(key: str) -> set[str]:
    """Keys under which a place meets another: itself, its leading 4+ characters (绿地海外滩 meets
    绿地海外滩二期) and its trailing named places (经开区泉塘小塘路 meets 小塘路)."""
    out = {key}
    out.update(key[:k] for k in range(4, len(key)))
    for k in range(1, len(key) - 2):
        tail = key[k:]
        head = _head_of(tail)
        if head and len(tail) - len(head) >= 2:
            out.add(tail)
    return out


def _key(place: str) -> str:
    for tail in _KEY_STRIP:
        if place.endswith(tail) and len(place) - len(tail) >= 2:
            return place[: -len(tail)]
    return place


def extract_places(text: str, segmenter: Segmenter | None = None) -> list[Place]:
    """Administrative units and named places in ``text`` (normalised), in order of appearance.

    Each place appears once (by key). Administrative units have ``admin=True``.
    """
    seg = segmenter or default_segmenter()
    out: list[Place] = []
    seen: set[str] = set()
    admin = _admin_spans(text)
    pieces: list[str] = []
    last = 0
    for s, e in admin:
        word = text[s:e]
        if word not in seen:
            seen.add(word)
            out.append(Place(word, word, True))
        pieces.append(text[last:s])
        last = e
    pieces.append(text[last:])
    # Administrative units split the text, so 市伊景园 cannot be read as one word.
    for piece in pieces:
        for m in _SITE.finditer(piece):
            name = _trim_name(m.group(), seg)
            if not _is_place_name(name, seg):
                continue
            key = _key(name)
            if key not in seen:
                seen.add(key)
                out.append(Place(name, key, False))
    return out


# -- messages and issues ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    """One appeal or message: ``title`` is the subject line (may be empty), ``body`` the text."""

    id: str
    title: str
    body: str = ""
    time: datetime | None = None
    likes: int = 0
    dislikes: int = 0
    user: str = ""


@dataclass(frozen=True, slots=True)
class HeatParts:
    """The three terms of the heat index (see the module docstring) and their inputs."""

    count: float
    supports: float
    growth: float
    recent: int
    earlier: int

    @property
    def total(self) -> float:
        return self.count + self.supports + self.growth


@dataclass(frozen=True, slots=True)
class HotIssue:
    """One issue: its messages (time order), where, what, and how hot."""

    id: str
    rank: int
    heat: float
    parts: HeatParts
    count: int
    likes: int
    dislikes: int
    first: datetime | None
    last: datetime | None
    place: str
    admin: str
    key_terms: tuple[str, ...]
    subject: str
    messages: tuple[Message, ...] = field(repr=False)

    @property
    def supports(self) -> int:
        return max(0, self.likes - self.dislikes)

    @property
    def message_ids(self) -> list[str]:
        return [m.id for m in self.messages]

    @property
    def description(self) -> str:
        terms = "、".join(self.key_terms)
        where = f"{self.admin}{self.place}" if self.place else self.admin
        return f"{where}：{terms}（{self.subject}）" if where else f"{terms}（{self.subject}）"

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "rank": self.rank,
            "heat": round(self.heat, 4),
            "heat_parts": {
                "count": round(self.parts.count, 4),
                "supports": round(self.parts.supports, 4),
                "growth": round(self.parts.growth, 4),
                "recent_messages": self.parts.recent,
                "earlier_messages": self.parts.earlier,
            },
            "count": self.count,
            "likes": self.likes,
            "dislikes": self.dislikes,
            "supports": self.supports,
            "first": self.first.isoformat(sep=" ") if self.first else None,
            "last": self.last.isoformat(sep=" ") if self.last else None,
            "place": self.place,
            "admin": self.admin,
            "key_terms": list(self.key_terms),
            "subject": self.subject,
            "description": self.description,
            "message_ids": self.message_ids,
            "messages": [
                {
                    "id": m.id,
                    "time": m.time.isoformat(sep=" ") if m.time else None,
                    "title": m.title,
                    "likes": m.likes,
                    "dislikes": m.dislikes,
                }
                for m in self.messages
            ],
        }


def heat_of(
    times: Sequence[datetime | None],
    likes: int,
    dislikes: int,
    *,
    period: tuple[datetime, datetime] | None,
    recent_fraction: float = 0.25,
    supports_weight: float = 0.5,
    growth_weight: float = 0.5,
) -> HeatParts:
    """The heat index of one issue (formula in the module docstring)."""
    n = len(times)
    count = math.log1p(n)
    supports = supports_weight * math.log1p(max(0, likes - dislikes))
    recent = earlier = 0
    growth = 0.0
    if period is not None and period[1] > period[0]:
        start, end = period
        cut = end - (end - start) * recent_fraction
        recent = sum(1 for t in times if t is not None and t >= cut)
        earlier = sum(1 for t in times if t is not None and t < cut)
        if recent + earlier:
            expected = earlier * recent_fraction / (1.0 - recent_fraction)
            growth = growth_weight * max(0.0, math.log2((recent + 1) / (expected + 1)))
    return HeatParts(count, supports, growth, recent, earlier)


# -- grouping -----------------------------------------------------------------------------------

_TOKEN = re.compile(r"[\u4e00-\u9fffA-Za-z]")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_STOP = set(
    [
        "的",
        "了",
        "是",
        "在",
        "和",
        "与",
        "及",
        "或",
        "也",
        "都",
        "就",
        "还",
        "又",
        "被",
        "把",
        "对",
        "为",
        "给",
        "让",
        "向",
        "从",
        "到",
        "于",
        "以",
        "而",
        "但",
        "并",
        "且",
        "如",
        "若",
        "我",
        "我们",
        "你",
        "你们",
        "他",
        "他们",
        "她",
        "它",
        "这",
        "那",
        "这个",
        "那个",
        "这些",
        "那些",
        "该",
        "本",
        "其",
        "此",
        "之",
        "等",
        "啊",
        "吗",
        "呢",
        "吧",
        "呀",
        "有",
        "没有",
        "不",
        "没",
        "很",
        "非常",
        "已经",
        "一个",
        "一些",
        "什么",
        "怎么",
        "为什么",
        "如何",
        "能否",
        "是否",
        "可以",
        "请",
        "请问",
        "希望",
        "要求",
        "反映",
        "关于",
        "问题",
        "情况",
        "相关",
        "部门",
        "领导",
        "政府",
        "您好",
        "你好",
        "谢谢",
        "现在",
        "目前",
        "今年",
        "去年",
        "时候",
    ]
)
# Body text past this many characters is mostly history and pleading; the problem is stated
# early, and a cap keeps one long letter from outweighing its title.
_BODY_CHARS = 500
_CHAR_BIGRAMS = False


def _features(texts: Sequence[str], seg: Segmenter) -> list[list[str]]:
    """Words (minus stop words) and character bigrams of Han runs, so 搅拌站 meets 搅拌厂."""
    out: list[list[str]] = []
    for text, toks in zip(texts, seg.cut_many(texts), strict=True):
        feats = [t for t in toks if t not in _STOP and _TOKEN.search(t) and not t.isdigit()]
        if _CHAR_BIGRAMS:
            for run in _HAN_RUN.findall(text):
                feats.extend("#" + run[k : k + 2] for k in range(len(run) - 1))
        out.append(feats)
    return out


def _strip_places(text: str, places: Sequence[Place]) -> str:
    for p in sorted(places, key=lambda p: (-len(p.text), p.text)):
        text = text.replace(p.text, " ")
    return text


def _identity(tokens: list[str]) -> list[str]:
    return tokens


def _problem_vectors(
    titles: Sequence[str], bodies: Sequence[str], seg: Segmenter
) -> tuple[sparse.csr_matrix, npt.NDArray[np.str_]]:
    feat_t = _features(titles, seg)
    feat_b = _features([b[:_BODY_CHARS] for b in bodies], seg)
    vec = TfidfVectorizer(
        analyzer=_identity, sublinear_tf=True, min_df=2, max_df=0.5, norm="l2", dtype=np.float64
    )
    vec.fit(feat_t + feat_b)
    x = normalize(0.5 * vec.transform(feat_t) + 0.5 * vec.transform(feat_b))
    return sparse.csr_matrix(x), vec.get_feature_names_out()


def _cosine_pairs(
    x: sparse.csr_matrix, floor: float, block: int = 2000
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], F64]:
    """Upper-triangle pairs with cosine ≥ floor, computed in row blocks to bound memory."""
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    vals: list[F64] = []
    xt = x.T.tocsc()
    for start in range(0, x.shape[0], block):
        sims = (x[start : start + block] @ xt).tocoo()
        keep = (sims.data >= floor) & (sims.col > sims.row + start)
        rows.append(sims.row[keep].astype(np.int64) + start)
        cols.append(sims.col[keep].astype(np.int64))
        vals.append(np.minimum(sims.data[keep].astype(np.float64), 1.0))
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def _duplicate_pairs(texts: Sequence[str], threshold: float) -> dict[tuple[int, int], float]:
    index = DedupeIndex(threshold=threshold, num_perm=64, shingle=3, limit=None)
    found = index.add_many(list(range(len(texts))), list(texts), [0.0] * len(texts))
    pairs: dict[tuple[int, int], float] = {}
    for i, matches in enumerate(found):
        for m in matches:
            j = int(str(m.key))
            a, b = (j, i) if j < i else (i, j)
            pairs[(a, b)] = max(pairs.get((a, b), 0.0), m.similarity)
    return pairs


def _incidence(sets: Sequence[set[str]]) -> sparse.csr_matrix:
    vocab = {k: c for c, k in enumerate(sorted(set().union(*sets)))}
    rows = [i for i, ks in enumerate(sets) for _ in ks]
    cols = [vocab[k] for ks in sets for k in ks]
    return sparse.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(sets), max(1, len(vocab)))
    )


def _shares(
    m: sparse.csr_matrix, r: npt.NDArray[np.int64], c: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    return np.asarray(m[r].multiply(m[c]).sum(axis=1)).ravel() > 0


def _clusters(n: int, edges: dict[tuple[int, int], float], similarity: float) -> list[list[int]]:
    """Connected components of the allowed graph, each cut by average linkage at ``similarity``."""
    if not edges:
        return [[i] for i in range(n)]
    pairs = sorted(edges)
    r = np.array([p[0] for p in pairs], dtype=np.int64)
    c = np.array([p[1] for p in pairs], dtype=np.int64)
    graph = sparse.coo_matrix((np.ones(len(pairs)), (r, c)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    groups: dict[int, list[int]] = {}
    for i, lab in enumerate(labels.tolist()):
        groups.setdefault(lab, []).append(i)
    by_node: dict[int, list[tuple[int, int]]] = {}
    for a, b in pairs:
        by_node.setdefault(a, []).append((a, b))
    out: list[list[int]] = []
    for members in groups.values():
        if len(members) == 1:
            out.append(members)
            continue
        pos = {m: k for k, m in enumerate(members)}
        k = len(members)
        # Pairs with no allowed edge are as far apart as can be: average linkage then needs
        # most of a group to be similar, not one bridge.
        dist = np.ones((k, k), dtype=np.float64)
        np.fill_diagonal(dist, 0.0)
        for m in members:
            for a, b in by_node.get(m, ()):
                d = max(0.0, 1.0 - edges[(a, b)])
                dist[pos[a], pos[b]] = dist[pos[b], pos[a]] = d
        tree = linkage(dist[np.triu_indices(k, 1)], method="average")
        cut = fcluster(tree, t=1.0 - similarity, criterion="distance")
        sub: dict[int, list[int]] = {}
        for m, lab in zip(members, cut.tolist(), strict=True):
            sub.setdefault(lab, []).append(m)
        out.extend(sub.values())
    return sorted((sorted(g) for g in out), key=lambda g: g[0])


def find_hot_issues(
    records: Iterable[Message],
    *,
    similarity: float = 0.25,
    strong_similarity: float = 0.6,
    duplicate_threshold: float = 0.7,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    recent_fraction: float = 0.25,
    supports_weight: float = 0.5,
    growth_weight: float = 0.5,
    key_terms: int = 5,
    top: int | None = None,
    segmenter: Segmenter | None = None,
) -> list[HotIssue]:
    """Group ``records`` into issues and return them hottest first (see the module docstring).

    ``similarity``: smallest average problem similarity inside an issue. ``strong_similarity``:
    smallest similarity for linking a message that names no place. ``duplicate_threshold``:
    MinHash Jaccard from which two texts are re-posts of each other. Message ids must be
    unique; times must be all naive or all aware. ``top`` keeps only the hottest issues.
    """
    if not 0.0 < similarity <= 1.0 or not 0.0 < strong_similarity <= 1.0:
        raise ValueError("similarity thresholds must be in (0, 1]")
    if not 0.0 < duplicate_threshold <= 1.0:
        raise ValueError(f"duplicate_threshold must be in (0, 1], got {duplicate_threshold}")
    if not 0.0 < recent_fraction < 1.0:
        raise ValueError(f"recent_fraction must be in (0, 1), got {recent_fraction}")
    given = list(records)
    # Timed messages in time order, then untimed ones; ids break ties so output is stable.
    msgs = sorted((m for m in given if m.time is not None), key=lambda m: (m.time, m.id))
    msgs += sorted((m for m in given if m.time is None), key=lambda m: m.id)
    seen_ids = Counter(m.id for m in msgs)
    repeated = sorted(i for i, c in seen_ids.items() if c > 1)
    if repeated:
        raise ValueError(f"message id {repeated[0]!r} appears {seen_ids[repeated[0]]} times")
    n = len(msgs)
    if n == 0:
        return []
    seg = segmenter or default_segmenter()
    titles = normalise_many(m.title for m in msgs)
    bodies = normalise_many(m.body for m in msgs)

    # The title says where; the body is read for places only when the title names none,
    # because letters mention many places in passing (市委市政府, the road to work …).
    places: list[list[Place]] = []
    from_title: list[set[str]] = []
    for t, b in zip(titles, bodies, strict=True):
        found = extract_places(t, seg)
        from_title.append({p.key for p in found})
        if not any(not p.admin for p in found):
            keys = {p.key for p in found}
            found += [p for p in extract_places(b[:_BODY_CHARS], seg) if p.key not in keys]
        places.append(found)
    named = [{k for p in ps if not p.admin for k in _match_keys(p.key)} for ps in places]
    titled = np.array(
        [
            any(not p.admin and p.key in t for p in ps)
            for ps, t in zip(places, from_title, strict=True)
        ]
    )
    districts = [{p.key for p in ps if p.admin and _ADMIN_LEVEL.search(p.key)} for ps in places]

    x, vocab = _problem_vectors(
        [_strip_places(t, ps) for t, ps in zip(titles, places, strict=True)],
        [_strip_places(b, ps) for b, ps in zip(bodies, places, strict=True)],
        seg,
    )
    r, c, v = _cosine_pairs(x, floor=min(similarity, strong_similarity) / 2)
    named_m, district_m = _incidence(named), _incidence(districts)
    has_named = np.array([bool(s) for s in named])
    has_district = np.array([bool(s) for s in districts])
    conflict = has_district[r] & has_district[c] & ~_shares(district_m, r, c)
    both_named = has_named[r] & has_named[c]
    shared = _shares(named_m, r, c)
    # Places named in both titles must agree; a place read from a body is weaker evidence, so
    # a strong text match may still join it to a message naming another place.
    apart = both_named & titled[r] & titled[c] & ~shared
    ok = ~conflict & ~apart & (shared | (v >= strong_similarity))
    edges = {
        (a, b): s for a, b, s in zip(r[ok].tolist(), c[ok].tolist(), v[ok].tolist(), strict=True)
    }
    dups = _duplicate_pairs(
        [f"{title}\n{body}" for title, body in zip(titles, bodies, strict=True)],
        duplicate_threshold,
    )
    for (lo, hi), sim in dups.items():
        if districts[lo] and districts[hi] and not districts[lo] & districts[hi]:
            continue
        edges[(lo, hi)] = max(edges.get((lo, hi), 0.0), sim)

    stamps_all = [m.time for m in msgs if m.time is not None]
    period: tuple[datetime, datetime] | None = None
    if stamps_all:
        period = (period_start or min(stamps_all), period_end or max(stamps_all))

    groups = _clusters(n, edges, similarity)
    label = np.empty(n, dtype=np.int64)
    for g, members in enumerate(groups):
        label[members] = g
    membership = sparse.csr_matrix((np.ones(n), (label, np.arange(n))), shape=(len(groups), n))
    sizes = np.array([len(g) for g in groups], dtype=np.float64)
    centroids = sparse.csr_matrix(sparse.diags(1.0 / sizes) @ membership @ x)
    # Closeness of each message to its own issue's centroid picks the representative subject.
    closeness = np.asarray(x.multiply(centroids[label]).sum(axis=1)).ravel()

    issues: list[HotIssue] = []
    for g, members in enumerate(groups):
        ms = [msgs[i] for i in members]
        likes = sum(m.likes for m in ms)
        dislikes = sum(m.dislikes for m in ms)
        parts = heat_of(
            [m.time for m in ms],
            likes,
            dislikes,
            period=period,
            recent_fraction=recent_fraction,
            supports_weight=supports_weight,
            growth_weight=growth_weight,
        )
        row = centroids.getrow(g)
        order = sorted(
            zip(row.data.tolist(), row.indices.tolist(), strict=True), key=lambda p: (-p[0], p[1])
        )
        terms = tuple(str(vocab[k]) for _, k in order if not str(vocab[k]).startswith("#"))
        rep = min(members, key=lambda i: (-round(float(closeness[i]), 12), i))
        stamps = [m.time for m in ms if m.time is not None]
        issues.append(
            HotIssue(
                id=f"issue-{ms[0].id}",
                rank=0,
                heat=parts.total,
                parts=parts,
                count=len(ms),
                likes=likes,
                dislikes=dislikes,
                first=min(stamps) if stamps else None,
                last=max(stamps) if stamps else None,
                place=_top_place(places, from_title, members, admin=False),
                admin=_top_place(places, from_title, members, admin=True),
                key_terms=terms[:key_terms],
                subject=titles[rep] or bodies[rep][:60],
                messages=tuple(ms),
            )
        )
    issues.sort(key=lambda h: (-round(h.heat, 9), -h.count, h.messages[0].id))
    ranked = [replace(h, rank=k) for k, h in enumerate(issues, start=1)]
    return ranked[:top] if top is not None else ranked


def _top_place(
    places: Sequence[Sequence[Place]],
    from_title: Sequence[set[str]],
    members: Sequence[int],
    *,
    admin: bool,
) -> str:
    """The place most of the issue's messages name (a title counts twice), as most write it.

    For administrative units: the commonest city-level unit, then the commonest district or
    county, so ``A市A5区``.
    """
    votes: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    for i in members:
        for p in places[i]:
            if p.admin != admin:
                continue
            votes[p.key] += 2 if p.key in from_title[i] else 1
            spellings.setdefault(p.key, Counter())[p.text] += 1
    if not votes:
        return ""

    def best(keys: Iterable[str]) -> str | None:
        ranked = sorted(keys, key=lambda k: (-votes[k], k))
        return ranked[0] if ranked else None

    if admin:
        city = best(k for k in votes if not _ADMIN_LEVEL.search(k))
        district = best(k for k in votes if _ADMIN_LEVEL.search(k))
        return (city or "") + (district or "")
    key = best(votes)
    assert key is not None
    return sorted(spellings[key], key=lambda s: (-spellings[key][s], s))[0]
