"""Score an official reply (答复意见) against the citizen's message it answers.

A reply gets three visible parts, each between 0 and 1, and a 0–100 score that is their weighted
mean (a part that cannot be judged, such as timeliness without times, is left out and the other
weights are rescaled):

* **relevance** — does the reply talk about what the citizen wrote? The message's key terms
  (subject and body segmented, ranked by tf·idf with jieba's general-Chinese idf table, generic
  petition words such as 您好/反映/问题 left out) are looked up in the reply; the score is the
  idf-weighted share found. A term the reply only paraphrases gets half credit when most of its
  character bigrams occur in the reply (公交车站 → 公交站).
* **completeness** — does it say (a) what was done or found (经核实, 已责成, 现已…), (b) on what
  legal or policy basis (依据《…》, 根据…规定, 第…条), and (c) what happens next or whom to
  ask (如有疑问, 联系电话, 请拨打, 下一步将…)? Each is found with general cue patterns; the
  evidence (the matched words) is kept so a person can check the judgement.
* **timeliness** — working days from the message to the reply (a plain Monday–Friday count by
  default; pass ``workdays=`` to count on an official holiday calendar), mapped to 1.0 up to
  ``full_days`` and falling linearly to 0 at ``zero_days``.

The cue patterns are deliberately plain and listed below, because a score that decides which
replies a leader re-reads has to be explainable line by line.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

import numpy as np

__all__ = [
    "CUES",
    "ReplyOptions",
    "ReplyScore",
    "count_weekdays",
    "key_terms",
    "parse_time",
    "score_reply",
    "timeliness_from_days",
]

WorkdayCounter = Callable[[dt.date, dt.date], int]

# ---------------------------------------------------------------------------------------------
# cue patterns (completeness)

# What was done or found. "已转…" alone (forwarded to another office) is not a result, so 转 is
# not among the verbs after 已.
_HANDLING = (
    r"经(?:过)?(?:核实|核查|调查|查实|排查|了解|研究|实地|现场|走访|协调|检测|测量|复核|审查|查)"
    r"|调查核实|核查发现|现场查看|实地查看|派员|执法人员|工作人员(?:已|立即|迅速|及时)"
    r"|(?:已|已经|立即|迅速|及时)(?:责成|要求|安排|督促|协调|处理|解决|整改|完成|落实|派|组织|"
    r"联系|约谈|拆除|清理|清除|修复|维修|更换|开通|办理|纳入|下达|立案|查处|处罚|告知|答复|"
    r"发放|补发|退还|退回|兑现|启动|开展|制定|出台|恢复|关停|取缔|制止|暂停|停止|封堵|疏通|"
    r"铺设|硬化|安装|增设|设置|调整|改造|规范|核实|调查|核查|到现场|进行|对)"
    r"|(?:已|已经)(?:取得|获得|获|建成|开工|竣工|完工|批复|列入|通过|出台|实施|开通|到位|办结|发放|"
    r"兑付|支付|缴纳|审批|受理|登记|备案|移交|验收)"
    r"|现已|目前|现阶段|截至|均已|已于|已在|已按|已将|已由|正在(?:组织|实施|推进|办理|处理|协调|建设|施工)"
    r"|处理结果|处理意见|整改到位|符合(?:规定|条件|要求|政策)|不符合(?:规定|条件|要求|政策)"
)
# On what basis: a document title in 《》, an article number, or "根据/依据/按照 … 规定/政策/…".
_BASIS = (
    r"《[^《》\n]{0,60}(?:法|条例|规定|办法|细则|意见|通知|决定|标准|规范|规划|方案|纲要|制度|规则|"
    r"解释|目录|指南|公告|通告|批复|令|政策|规程|守则|章程|合同|协议)[^《》\n]{0,12}》"
    r"|第[一二三四五六七八九十百零〇\d]{1,6}条"
    r"|(?:根据|依据|依照|按照|遵照|参照|对照)[^。；;\n]{0,40}?"
    r"(?:规定|政策|条例|办法|法律|法规|文件|标准|规范|规程|细则|意见|通知|精神|要求|规划|方案|合同|协议)"
    r"|(?:相关|有关|上级|国家|省|市)(?:法律法规|规定|政策规定|政策|文件规定)"
    r"|法律法规|政策规定"
)
# What happens next or whom to contact.
_NEXT = (
    r"(?:如|如果|若|倘若)(?:有|还有|仍有|对|您)[^。\n]{0,12}?(?:疑问|问题|需要|异议|不明|不清楚|不满意|意见|建议)"
    r"|(?:联系|咨询|服务|举报|投诉|监督|值班)电话|联系人|联系方式|请(?:您)?(?:拨打|致电|联系|携带|持|到|前往)"
    r"|(?:可|可以|欢迎)(?:拨打|致电|来电|电话|向|到|前往|持|携带|登录|关注|咨询|联系)"
    r"|\d{3,4}\s*[-—－–]\s*\d{4,8}|(?<!\d)1[3-9]\d{9}(?!\d)|(?<!\d)\d{7,8}(?!\d)"
    r"|下一步|后续|今后|下阶段|接下来"
    r"|将(?:继续|进一步|加强|持续|密切|及时|尽快|督促|跟踪|组织|安排|协调|开展|加大|积极|严格|"
    r"依法|会同|于|在|按|对|把|根据|结合|认真|全力|抓紧|适时|逐步|纳入|启动|推进)"
    r"|持续(?:关注|跟踪|督促|监管)|跟踪(?:督办|落实|处理)|预计|计划于|争取"
)

CUES: dict[str, re.Pattern[str]] = {
    "handling": re.compile(_HANDLING),
    "basis": re.compile(_BASIS),
    "next_step": re.compile(_NEXT),
}
CUE_NAMES_ZH = {"handling": "处理结果", "basis": "政策法规依据", "next_step": "下一步或联系方式"}

# Greeting and closing formulas say nothing about the matter; they are removed before the cues
# and the overlap are measured, so "网友：您好！留言已收悉" scores as the empty reply it is.
_FORMULA = re.compile(
    r"(?:尊敬的)?(?:网友|市民|先生|女士|同志|朋友)?[“\"]?[A-Za-z]{0,3}\d{0,12}[”\"]?[：:，,]?\s*(?:您|你)好[！!，,。：:]?"
    r"|(?:您|你)的留言(?:已|我们已)?收悉[，,。！!；;]?|留言已收悉[，,。！!]?|已收悉[，,。！!]?"
    r"|感谢您?对[^。！!\n]{0,30}(?:关心|关注|支持|监督|信任)[^。！!\n]{0,20}[。！!]?"
    r"|(?:谢谢|感谢)(?:您的)?(?:留言|来信|反映|理解|支持|配合)[。！!]?"
    r"|祝您?[^。！!\n]{0,12}[。！!]?"
    r"|\d{4}年\d{1,2}月\d{1,2}日"
)

# Words every message and reply share; they make two unrelated texts look alike.
_GENERIC = frozenset(
    [
        "您好",
        "你好",
        "网友",
        "市民",
        "留言",
        "问题",
        "反映",
        "请问",
        "希望",
        "领导",
        "我们",
        "你们",
        "他们",
        "相关",
        "部门",
        "情况",
        "谢谢",
        "感谢",
        "现在",
        "已经",
        "这个",
        "那个",
        "一个",
        "没有",
        "什么",
        "怎么",
        "怎么办",
        "可以",
        "请求",
        "咨询",
        "关于",
        "进行",
        "要求",
        "工作",
        "单位",
        "有关",
        "目前",
        "以及",
        "还是",
        "但是",
        "因为",
        "所以",
        "如果",
        "这样",
        "那么",
        "就是",
        "还有",
        "自己",
        "大家",
        "尊敬",
        "书记",
        "市长",
        "县长",
        "局长",
        "政府",
        "答复",
        "回复",
        "收悉",
        "是否",
        "能否",
        "为什么",
        "这些",
        "那些",
        "非常",
        "已经",
        "一直",
        "不是",
        "不能",
        "不会",
        "如何",
        "其他",
        "其中",
        "而且",
        "并且",
        "或者",
        "一些",
        "多少",
        "时候",
        "之后",
        "以后",
        "以前",
        "之前",
        "今年",
        "去年",
        "明年",
        "同时",
        "然后",
        "及时",
        "尽快",
        "严重",
        "您们好",
        "大家好",
        "各位",
        "解决",
        "处理",
        "帮助",
        "支持",
        "关注",
        "重视",
        "谢谢您",
        "万分",
        "感激",
        "恳请",
        "麻烦",
        "告知",
        "情况",
        "事情",
        "地方",
        "这里",
        "那里",
    ]
)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_PSEUDONYM = re.compile(r"^[a-z]{1,3}\d{3,}$")
_PLACE_CODE = re.compile(r"[a-z]\d|\d[a-z]")


@functools.lru_cache(maxsize=1)
def _idf_table() -> tuple[dict[str, float], float]:
    """jieba's general-Chinese idf table (shipped with jieba) and its median for unknown words."""
    text = (resources.files("jieba.analyse") / "idf.txt").read_text(encoding="utf-8")
    table: dict[str, float] = {}
    for line in text.splitlines():
        word, _, value = line.strip().partition(" ")
        if word and value:
            table[word] = float(value)
    median = float(np.median(np.fromiter(table.values(), dtype=np.float64)))
    return table, median


def _segment(text: str) -> list[str]:
    from textkit.segment import cut

    return cut(text)


_WS = re.compile(r"\s+")


def _fold(text: str) -> str:
    # NFKC makes full-width letters and digits ASCII (Ｆ２区 → F2区) and lower-casing lets a place
    # code in the message match the reply; whitespace is scraping residue, not content.
    return _WS.sub("", unicodedata.normalize("NFKC", html.unescape(text))).lower()


def key_terms(message: str, subject: str = "", *, top: int = 12) -> list[tuple[str, float]]:
    """The message's key terms, best first, as ``(term, idf weight)``.

    The subject counts twice: it is the citizen's own one-line summary.
    """
    idf, median = _idf_table()
    counts: Counter[str] = Counter()
    for text, weight in ((subject, 2), (message, 1)):
        for tok in _segment(_fold(text)):
            tok = tok.lower()
            if len(tok) < 2 or tok in _GENERIC or _PSEUDONYM.match(tok):
                continue
            if not _HAN.search(tok) and not _PLACE_CODE.search(tok):
                continue  # plain numbers and latin fragments, except place codes like A3
            counts[tok] += weight
    scored = [
        (t, (1 + math.log(c)) * idf.get(t, median), idf.get(t, median)) for t, c in counts.items()
    ]
    scored.sort(key=lambda s: (-s[1], s[0]))
    return [(t, w) for t, _, w in scored[:top]]


def _bigrams(term: str) -> set[str]:
    return {term[i : i + 2] for i in range(len(term) - 1)}


# ---------------------------------------------------------------------------------------------
# time


_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日",
)


def parse_time(value: str | dt.date | None) -> dt.datetime | None:
    """A naive local datetime from the formats government exports use; None for blank.

    Raises ValueError naming the value when it is not blank but unreadable.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)  # noqa: DTZ001 - local calendar dates
    text = str(value).strip()
    if not text:
        return None
    text = text.replace("T", " ").split(".")[0]
    for fmt in _TIME_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)  # noqa: DTZ007 - times in the files are local
        except ValueError:
            continue
    raise ValueError(f"unreadable time {value!r} (expected e.g. 2019-12-24 17:15:18)")


def count_weekdays(start: dt.date, end: dt.date) -> int:
    """Monday–Friday days after ``start`` up to and including ``end`` (0 when replied same day).

    Public holidays are not known here; pass an official-calendar counter to ``score_reply``.
    """
    if end <= start:
        return 0
    one = np.timedelta64(1, "D")
    return int(np.busday_count(np.datetime64(start) + one, np.datetime64(end) + one))


def timeliness_from_days(days: int, full_days: int, zero_days: int) -> float:
    """1.0 up to ``full_days`` working days, then linear down to 0 at ``zero_days``."""
    if days <= full_days:
        return 1.0
    if days >= zero_days:
        return 0.0
    return 1.0 - (days - full_days) / (zero_days - full_days)


# ---------------------------------------------------------------------------------------------
# scoring


@dataclass(frozen=True)
class ReplyOptions:
    """Weights and thresholds; every value appears in the report so a reader can judge them."""

    weight_relevance: float = 0.30
    weight_completeness: float = 0.45
    weight_timeliness: float = 0.25
    weight_handling: float = 0.50
    weight_basis: float = 0.25
    weight_next_step: float = 0.25
    key_terms: int = 12
    full_days: int = 5  # working days that count as a prompt reply
    zero_days: int = 60  # working days after which timeliness is worth nothing
    short_reply_chars: int = 30  # substance (formulas removed) below this is "perfunctory"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ReplyScore:
    score: float  # 0–100
    relevance: float | None
    completeness: float
    timeliness: float | None
    working_days: int | None
    handling: bool
    basis: bool
    next_step: bool
    evidence: dict[str, list[str]] = field(default_factory=dict)
    key_terms: list[str] = field(default_factory=list)
    matched_terms: list[str] = field(default_factory=list)
    substance_chars: int = 0
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _substance(reply: str) -> str:
    return _FORMULA.sub("", reply)


def _relevance(
    message: str, subject: str, reply_folded: str, top: int
) -> tuple[float | None, list[str], list[str]]:
    terms = key_terms(message, subject, top=top)
    if not terms:
        return None, [], []
    reply_bigrams = _bigrams(reply_folded)
    total = found = 0.0
    matched: list[str] = []
    for term, weight in terms:
        total += weight
        if term in reply_folded:
            found += weight
            matched.append(term)
        elif len(term) >= 3:
            grams = _bigrams(term)
            if grams and len(grams & reply_bigrams) / len(grams) >= 0.5:
                found += 0.5 * weight
                matched.append(f"{term}(近似)")
    return (found / total if total else None), [t for t, _ in terms], matched


def score_reply(
    message: str,
    reply: str,
    *,
    subject: str = "",
    message_time: str | dt.date | None = None,
    reply_time: str | dt.date | None = None,
    workdays: WorkdayCounter | None = None,
    options: ReplyOptions | None = None,
) -> ReplyScore:
    """Score one reply; see the module docstring for the parts.

    ``workdays(start_date, end_date)`` counts working days after ``start_date`` up to and
    including ``end_date``; the default is :func:`count_weekdays`. Raises ValueError for an
    unreadable time; an empty reply is a valid input and scores 0.
    """
    opts = options or ReplyOptions()
    reply_folded = _fold(reply or "")
    substance = _substance(reply_folded)
    reasons: list[str] = []

    relevance, terms, matched = _relevance(message or "", subject or "", substance, opts.key_terms)

    found: dict[str, list[str]] = {}
    for name, pattern in CUES.items():
        hits = [m.group(0) for m in pattern.finditer(substance)]
        found[name] = list(dict.fromkeys(hits))[:5]
    flags = {name: bool(hits) for name, hits in found.items()}
    completeness = (
        opts.weight_handling * flags["handling"]
        + opts.weight_basis * flags["basis"]
        + opts.weight_next_step * flags["next_step"]
    ) / (opts.weight_handling + opts.weight_basis + opts.weight_next_step)

    start, end = parse_time(message_time), parse_time(reply_time)
    days: int | None = None
    timeliness: float | None = None
    if start is not None and end is not None:
        if end < start:
            reasons.append("答复时间早于留言时间，无法计算时效")
        else:
            days = int((workdays or count_weekdays)(start.date(), end.date()))
            timeliness = timeliness_from_days(days, opts.full_days, opts.zero_days)

    if not substance.strip():
        relevance = 0.0 if relevance is not None else None
        completeness = 0.0
        reasons.insert(0, "答复为空或只有客套话" if reply_folded else "答复为空")
    elif len(substance) < opts.short_reply_chars:
        reasons.append(f"答复实质内容仅 {len(substance)} 字")
    for name, ok in flags.items():
        if not ok and substance.strip():
            reasons.append(f"未见{CUE_NAMES_ZH[name]}")
    if relevance is not None and relevance < 0.35 and substance.strip():
        missing = [t for t in terms if not any(m.split("(")[0] == t for m in matched)]
        reasons.append(
            f"与留言关键词重合少（{len(matched)}/{len(terms)}，未提及：{'、'.join(missing[:5])}）"
        )
    if days is not None and days > opts.full_days:
        reasons.append(f"答复用时 {days} 个工作日")

    parts = [
        (opts.weight_relevance, relevance),
        (opts.weight_completeness, completeness),
        (opts.weight_timeliness, timeliness),
    ]
    weight = sum(w for w, v in parts if v is not None)
    score = 100.0 * sum(w * v for w, v in parts if v is not None) / weight if weight else 0.0
    return ReplyScore(
        score=round(score, 1),
        relevance=None if relevance is None else round(relevance, 4),
        completeness=round(completeness, 4),
        timeliness=None if timeliness is None else round(timeliness, 4),
        working_days=days,
        handling=flags["handling"],
        basis=flags["basis"],
        next_step=flags["next_step"],
        evidence=found,
        key_terms=terms,
        matched_terms=matched,
        substance_chars=len(substance),
        reasons=reasons,
    )


# ---------------------------------------------------------------------------------------------
# agreement with human judgements


def auc(scores: Sequence[float], labels: Sequence[int]) -> float | None:
    """Probability that a random positive outscores a random negative (ties count half)."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    from scipy.stats import rankdata

    ranks = rankdata(s)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def summarise(values: Iterable[float]) -> dict[str, float]:
    a = np.asarray(list(values), dtype=np.float64)
    if a.size == 0:
        return {"n": 0}
    q = np.percentile(a, [0, 10, 25, 50, 75, 90, 100])
    return {
        "n": int(a.size),
        "mean": float(a.mean()),
        "min": float(q[0]),
        "p10": float(q[1]),
        "p25": float(q[2]),
        "median": float(q[3]),
        "p75": float(q[4]),
        "p90": float(q[5]),
        "max": float(q[6]),
    }


# ---------------------------------------------------------------------------------------------
# report over a table of messages and replies


@dataclass(frozen=True)
class ReplyColumns:
    """Column names of a message/reply table (defaults: the 泰迪杯 附件4 export)."""

    id: str = "留言编号"
    subject: str = "留言主题"
    message: str = "留言详情"
    message_time: str = "留言时间"
    reply: str = "答复意见"
    reply_time: str = "答复时间"

    def required(self) -> list[str]:
        return [c for c in (self.id, self.subject, self.message, self.reply) if c] + [
            c for c in (self.message_time, self.reply_time) if c
        ]


@dataclass
class ScoredRow:
    row_number: int
    id: str
    subject: str
    reply: str
    result: ReplyScore


def score_rows(
    rows: Sequence[dict[str, str]],
    columns: ReplyColumns,
    *,
    row_numbers: Sequence[int] | None = None,
    source: str = "input",
    workdays: WorkdayCounter | None = None,
    options: ReplyOptions | None = None,
    progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
) -> list[ScoredRow]:
    """Score every row. Raises ValueError naming the source, row and column of a bad time."""
    numbers = list(row_numbers) if row_numbers is not None else [i + 2 for i in range(len(rows))]
    out: list[ScoredRow] = []
    indices: Iterable[int] = range(len(rows))
    if progress is not None:
        indices = progress(indices)
    for i in indices:
        row = rows[i]
        try:
            result = score_reply(
                row.get(columns.message, ""),
                row.get(columns.reply, ""),
                subject=row.get(columns.subject, "") if columns.subject else "",
                message_time=row.get(columns.message_time) if columns.message_time else None,
                reply_time=row.get(columns.reply_time) if columns.reply_time else None,
                workdays=workdays,
                options=options,
            )
        except ValueError as exc:
            raise ValueError(f"{source}: row {numbers[i]}: {exc}") from exc
        out.append(
            ScoredRow(
                numbers[i],
                row.get(columns.id, "") if columns.id else "",
                row.get(columns.subject, "") if columns.subject else "",
                row.get(columns.reply, ""),
                result,
            )
        )
    return out


BANDS = ((0, 20), (20, 40), (40, 60), (60, 80), (80, 101))


def agreement(
    scored: Sequence[ScoredRow],
    annotations: dict[str, dict[str, str]],
    label_columns: Sequence[str],
) -> dict[str, Any]:
    """AUC of the score and of each part against 0/1 human judgements, per judgement column."""
    out: dict[str, Any] = {}
    for col in label_columns:
        pairs = [
            (s.result, int(annotations[s.id][col]))
            for s in scored
            if s.id in annotations and annotations[s.id].get(col, "").strip() in ("0", "1")
        ]
        if not pairs:
            out[col] = {"n": 0}
            continue
        labels = [p[1] for p in pairs]
        parts: dict[str, Callable[[ReplyScore], float]] = {
            "score": lambda r: r.score,
            "relevance": lambda r: r.relevance if r.relevance is not None else 0.0,
            "completeness": lambda r: r.completeness,
            "timeliness": lambda r: r.timeliness if r.timeliness is not None else 0.0,
            "substance_chars": lambda r: float(r.substance_chars),
        }
        pos = [p[0].score for p in pairs if p[1] == 1]
        neg = [p[0].score for p in pairs if p[1] == 0]
        out[col] = {
            "n": len(pairs),
            "positives": len(pos),
            "negatives": len(neg),
            "mean_score_positive": float(np.mean(pos)) if pos else None,
            "mean_score_negative": float(np.mean(neg)) if neg else None,
            "auc": {name: auc([f(p[0]) for p in pairs], labels) for name, f in parts.items()},
        }
    return out


def _fmt(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _excerpt(text: str, n: int = 60) -> str:
    flat = _WS.sub(" ", text).strip().replace("|", "｜")
    return flat if len(flat) <= n else flat[:n] + "…"


def build_report(
    scored: Sequence[ScoredRow],
    *,
    source_name: str,
    options: ReplyOptions,
    agreement_result: dict[str, Any] | None = None,
    annotations_name: str | None = None,
    weakest: int = 10,
    calendar: str = "Monday–Friday (no public holidays)",
) -> tuple[str, dict[str, Any]]:
    """The Markdown report and its JSON twin."""
    if not scored:
        raise ValueError("no rows to report on")
    res = [s.result for s in scored]
    scores = [r.score for r in res]
    n = len(res)
    bands = []
    for lo, hi in BANDS:
        c = sum(1 for v in scores if lo <= v < hi)
        bands.append({"band": f"{lo}–{min(hi, 100)}", "count": c, "share": c / n})
    days = [r.working_days for r in res if r.working_days is not None]
    rel = [r.relevance for r in res if r.relevance is not None]
    tim = [r.timeliness for r in res if r.timeliness is not None]
    cue_rates = {name: sum(getattr(r, name) for r in res) / n for name in CUES}
    perfunctory = sum(1 for r in res if r.substance_chars < options.short_reply_chars) / n
    order = sorted(range(n), key=lambda i: (scores[i], scored[i].row_number))[:weakest]
    weak = [
        {
            "row": scored[i].row_number,
            "id": scored[i].id,
            "subject": scored[i].subject,
            "reply_excerpt": _excerpt(scored[i].reply),
            **{
                k: getattr(res[i], k)
                for k in ("score", "relevance", "completeness", "timeliness", "working_days")
            },
            "reasons": res[i].reasons,
        }
        for i in order
    ]
    data: dict[str, Any] = {
        "source": source_name,
        "rows": n,
        "options": options.to_dict(),
        "calendar": calendar,
        "score": summarise(scores),
        "bands": bands,
        "relevance": summarise(rel),
        "completeness": summarise([r.completeness for r in res]),
        "timeliness": summarise(tim),
        "working_days": summarise(days),
        "within_full_days": (sum(1 for d in days if d <= options.full_days) / len(days))
        if days
        else None,
        "beyond_zero_days": (sum(1 for d in days if d >= options.zero_days) / len(days))
        if days
        else None,
        "cue_rates": cue_rates,
        "perfunctory_share": perfunctory,
        "weakest": weak,
        "agreement": agreement_result or {},
        "annotations": annotations_name,
    }

    s = data["score"]
    lines = [
        "# 答复质量报告 · Reply quality report",
        "",
        f"Source: `{source_name}`, {n} message/reply pairs. Working days: {calendar}.",
        "",
        "Each reply gets three parts between 0 and 1 and a 0–100 score, their weighted mean "
        f"(relevance {options.weight_relevance}, completeness {options.weight_completeness}, "
        f"timeliness {options.weight_timeliness}; a part that cannot be judged is left out):",
        "",
        "- **relevance** 相关性: idf-weighted share of the message's "
        f"{options.key_terms} key terms (subject counted twice) that the reply mentions "
        "(half credit for a near match).",
        "- **completeness** 完整性: handling result 处理结果 "
        f"({options.weight_handling}), legal or policy basis 政策法规依据 ({options.weight_basis}), "
        f"next step or contact 下一步或联系方式 ({options.weight_next_step}), each found by cue "
        "patterns after greeting and closing formulas are removed.",
        f"- **timeliness** 时效: 1.0 up to {options.full_days} working days, falling linearly to 0 "
        f"at {options.zero_days}.",
        "",
        "## Distribution",
        "",
        f"- score: mean **{s['mean']:.1f}**, median **{s['median']:.1f}**, "
        f"quartiles {s['p25']:.1f} / {s['p75']:.1f}, 10th–90th percentile "
        f"{s['p10']:.1f}–{s['p90']:.1f}",
        "",
        "| score band | replies | share |",
        "|---|---|---|",
    ]
    lines += [f"| {b['band']} | {b['count']} | {b['share']:.1%} |" for b in bands]
    lines += [
        "",
        "| part | mean | median | p10 | p90 |",
        "|---|---|---|---|---|",
    ]
    for name in ("relevance", "completeness", "timeliness"):
        p = data[name]
        if p.get("n"):
            lines.append(
                f"| {name} | {p['mean']:.3f} | {p['median']:.3f} | {p['p10']:.3f} | {p['p90']:.3f} |"
            )
    lines += [
        "",
        "| completeness cue | replies with it |",
        "|---|---|",
        *(f"| {CUE_NAMES_ZH[k]} ({k}) | {v:.1%} |" for k, v in cue_rates.items()),
        f"| substance under {options.short_reply_chars} characters (perfunctory) | {perfunctory:.1%} |",
        "",
    ]
    wd = data["working_days"]
    if wd.get("n"):
        lines += [
            f"Working days from message to reply: median {wd['median']:.0f}, mean {wd['mean']:.1f}, "
            f"90th percentile {wd['p90']:.0f}, max {wd['max']:.0f}; "
            f"{data['within_full_days']:.1%} within {options.full_days}, "
            f"{data['beyond_zero_days']:.1%} at {options.zero_days} or more.",
            "",
        ]
    lines += [
        f"## The {len(weak)} weakest replies",
        "",
        "| row | id | subject | score | rel. | compl. | timel. | working days | reasons | reply (start) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for w in weak:
        lines.append(
            f"| {w['row']} | {w['id']} | {_excerpt(w['subject'], 30)} | {w['score']:.1f} | "
            f"{_fmt(w['relevance'], 2)} | {_fmt(w['completeness'], 2)} | {_fmt(w['timeliness'], 2)} | "
            f"{'—' if w['working_days'] is None else w['working_days']} | "
            f"{'；'.join(w['reasons']).replace('|', '｜')} | {w['reply_excerpt']} |"
        )
    lines.append("")
    if agreement_result:
        lines += [
            "## Agreement with human judgements",
            "",
            f"Judgements from `{annotations_name}`, joined on the id column. AUC is the chance that "
            "a reply judged 1 gets a higher value than one judged 0 (0.5 = no agreement). "
            "Reply length (characters left after greeting and closing formulas) is shown as a "
            "reference: where it agrees better than the score, the judgements mostly track how "
            "long a reply is, which the score deliberately does not reward on its own.",
            "",
            "| judgement | n | 1 / 0 | mean score (1 / 0) | AUC score | AUC relevance | "
            "AUC completeness | AUC timeliness | AUC reply length |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for col, a in agreement_result.items():
            if not a.get("n"):
                lines.append(f"| {col} | 0 | — | — | — | — | — | — | — |")
                continue
            au = a["auc"]
            lines.append(
                f"| {col} | {a['n']} | {a['positives']} / {a['negatives']} | "
                f"{_fmt(a['mean_score_positive'], 1)} / {_fmt(a['mean_score_negative'], 1)} | "
                f"{_fmt(au['score'])} | {_fmt(au['relevance'])} | {_fmt(au['completeness'])} | "
                f"{_fmt(au['timeliness'])} | {_fmt(au['substance_chars'])} |"
            )
        lines.append("")
    return "\n".join(lines), data
