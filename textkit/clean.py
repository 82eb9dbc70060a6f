"""Turn a scraped page (plain text or HTML) into an article: metadata, body paragraphs, and an
account of everything removed and why.

HTML goes through trafilatura (with a readability-style density fallback for pages it cannot
read); plain text is split into lines. Either way the lines then pass the same line-level filters:
SEO spam, keyword-stuffed and place-name lists, navigation, site furniture, link-heavy lines,
related-links blocks, author bios and references. The rules are general (shape, density, link
ratio, repetition, word lists in ``textkit/data``), never keyed to one site.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from textkit.normalise import InputError, decode_bytes, find_garbled, normalise, normalise_many

__all__ = [
    "CleanedPage",
    "GarbledLocation",
    "InputError",
    "Removed",
    "clean_page",
    "looks_like_html",
    "render_text",
]

DATA = Path(__file__).parent / "data"
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{HAN}]")
_SENTENCE_END_RE = re.compile(r"[。！？!?；;…」”\"]\s*$")
_SENTENCE_PUNCT_RE = re.compile(r"[。！？；，,]")


@dataclass(frozen=True)
class Removed:
    reason: str
    text: str
    line: int | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class GarbledLocation:
    """A garbled span in one field of the cleaned page; offsets are into that field's text."""

    field: str
    index: int | None
    start: int
    end: int
    kind: str
    sample: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class CleanedPage:
    title: str | None = None
    date: str | None = None
    author: str | None = None
    source: str | None = None
    keywords: list[str] = field(default_factory=list)
    abstract: str | None = None
    paragraphs: list[str] = field(default_factory=list)
    removed: list[Removed] = field(default_factory=list)
    garbled: list[GarbledLocation] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "title": self.title,
            "date": self.date,
            "author": self.author,
            "source": self.source,
            "keywords": list(self.keywords),
            "abstract": self.abstract,
            "paragraphs": list(self.paragraphs),
            "removed": [r.to_dict() for r in self.removed],
            "garbled": [g.to_dict() for g in self.garbled],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @property
    def body(self) -> str:
        return "\n".join(self.paragraphs)


# --- word lists -----------------------------------------------------------------------------


def _data_lines(name: str) -> list[str]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


@functools.cache
def _spam_words() -> tuple[frozenset[str], frozenset[str]]:
    strong: set[str] = set()
    weak: set[str] = set()
    for word in _data_lines("spam_words.txt"):
        (strong if word.startswith("!") else weak).add(word.lstrip("!").lower())
    return frozenset(strong), frozenset(weak)


@functools.cache
def _tabbed(name: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for line in _data_lines(name):
        reason, _, phrase = line.partition("\t")
        pairs.append((reason.strip(), phrase.strip().lower()))
    return tuple(pairs)


@functools.cache
def _nav_words() -> frozenset[str]:
    return frozenset(w.lower() for w in _data_lines("navigation.txt"))


@functools.cache
def _section_headings() -> dict[str, str]:
    return {phrase: reason for reason, phrase in _tabbed("section_headings.txt")}


# --- line model -----------------------------------------------------------------------------


@dataclass
class Line:
    text: str
    lineno: int | None = None
    link_ratio: float = 0.0
    list_item: bool = False
    reason: str | None = None


def _han(text: str) -> int:
    return len(_HAN_RE.findall(text))


def _is_paragraph(text: str) -> bool:
    """Running prose: long enough and punctuated like sentences."""
    return _han(text) >= 25 and len(_SENTENCE_PUNCT_RE.findall(text)) >= 1


_SEPARATORS_RE = re.compile(r"\s*[|_｜丨/、,，;；\s]\s*")
_PLACE_SUFFIX_RE = re.compile(
    r"^[\u4e00-\u9fff]{1,8}(省|市|县|区|旗|州|盟|镇|乡|村|自治州|自治县|特区|地区)$"
)


def _segments(text: str) -> list[str]:
    return [s for s in _SEPARATORS_RE.split(text) if s]


def _spam_score(text: str) -> int:
    strong, weak = _spam_words()
    low = text.lower()
    score = 0
    for w in strong:
        if w in low:
            score += 2 * low.count(w)
    for w in weak:
        if w in low:
            score += low.count(w)
    return score


def _rule_noise(line: Line) -> str | None:
    t = line.text
    if not _HAN_RE.search(t) and not re.search(r"[A-Za-z]{3,}", t):
        return "noise: no words"
    return None


def _rule_spam(line: Line) -> str | None:
    t = line.text
    segs = re.split(r"[_|｜\s,，]+", t)
    score = _spam_score(t)
    if score >= 6 and not _is_prose_sentence(t):
        return "SEO spam"
    if score >= 4 and len(segs) >= 3 and not _SENTENCE_END_RE.search(t):
        return "SEO spam"
    return None


def _is_prose_sentence(text: str) -> bool:
    return bool(re.search(r"[。！？]", text)) and _han(text) >= 20


def _rule_lists(line: Line) -> str | None:
    t = line.text
    if re.search(r"[。！？]", t):
        return None
    segs = _segments(t)
    if len(segs) < 5:
        return None
    explicit = len(re.findall(r"[|_｜丨]", t))
    # Commas, enumeration commas and spaces make a list only when every piece is a bare term.
    enumerated = len(segs) >= 8 and max(len(s) for s in segs) <= 6
    spaced = (
        len(segs) >= 6 and not re.search(r"[、，,；;：:]", t) and max(len(s) for s in segs) <= 8
    )
    if explicit < 4 and not enumerated and not spaced:
        return None
    places = sum(1 for s in segs if _PLACE_SUFFIX_RE.match(s))
    if places >= 0.5 * len(segs):
        return "place-name list"
    if sum(len(s) for s in segs) / len(segs) <= 10:
        return "keyword-stuffed list"
    return None


_BREADCRUMB_RE = re.compile(r"(首页|主页)\s*(>|>>|»|›|/|→|-)")


def _rule_navigation(line: Line) -> str | None:
    t = line.text
    if _BREADCRUMB_RE.search(t) and len(t) < 80:
        return "navigation (breadcrumb)"
    parts = [p for p in re.split(r"[\s|｜/>»·•\-]+", t) if p]
    if parts and len(t) <= 60 and all(p.lower() in _nav_words() for p in parts):
        return "navigation"
    return None


def _rule_boilerplate(line: Line) -> str | None:
    low = line.text.lower()
    # A footer packs several copyright phrases into one long line.
    if (
        len(low) <= 400
        and sum(1 for r, p in _tabbed("boilerplate.txt") if r == "copyright" and p in low) >= 3
    ):
        return "boilerplate (copyright)"
    for reason, phrase in _tabbed("boilerplate.txt"):
        limit = 160 if reason == "copyright" else 40
        if phrase in low and len(low) <= limit:
            return f"boilerplate ({reason})"
    return None


def _rule_links(line: Line) -> str | None:
    if line.link_ratio >= 0.6 and not (_is_paragraph(line.text) and line.link_ratio < 0.9):
        return "link list"
    return None


_STAMP_END_RE = re.compile(
    r"(?:19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2}(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?\s*[\u4e00-\u9fffA-Za-z]{0,6}$"
)
_COUNTER_RE = re.compile(r"(评论|赞|阅读|浏览|点击|回复|跟贴)\s*[:：]?\s*\d+")


def _rule_headlines(line: Line) -> str | None:
    """Teasers of other articles: a headline ending in its timestamp, or rows of counters."""
    t = line.text
    if len(t) <= 80 and _STAMP_END_RE.search(t) and not re.search(r"[。；]", t[:-20] or t):
        head = _STAMP_END_RE.sub("", t).strip()
        if _han(head) >= 6:
            return "link list (headline with date)"
    if len(_COUNTER_RE.findall(t)) >= 3:
        return "link list (counters)"
    return None


def _rule_related_prefix(line: Line) -> str | None:
    """A related-links heading glued to its list by the extractor: '小编最近文章 他对…2015-09-22…'."""
    for phrase, reason in _section_headings().items():
        if reason == "related links" and line.text.startswith(phrase) and len(phrase) >= 4:
            rest = line.text[len(phrase) :]
            if (
                not _is_prose_sentence(rest)
                or len(_STAMP_END_RE.findall(rest))
                or re.search(r"\d{4}-\d{2}-\d{2}", rest)
            ):
                return reason
    return None


_RULES: tuple[Callable[[Line], str | None], ...] = (
    _rule_noise,
    _rule_spam,
    _rule_navigation,
    _rule_lists,
    _rule_boilerplate,
    _rule_links,
    _rule_headlines,
    _rule_related_prefix,
)


# --- metadata -------------------------------------------------------------------------------

_DATE_RE = re.compile(
    r"(?P<date>(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
    r"(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?)"
)
_LABEL_RE = re.compile(
    r"(?P<label>发布时间|发布日期|发表时间|更新时间|最后更新|时间|日期|来源于|本文来源|文章来源|信息来源|稿件来源|来源|出处|"
    r"作者|记者|采写|撰文|执笔|文|责任编辑|责编|编辑|关键词|关键字|标签|摘要|内容摘要|内容提要|提要|导读|浏览次数|点击数|阅读数|摄影|供稿)"
    r"\s*[:：/|｜]\s*"
)
_PERIODICAL_RE = re.compile(
    r"^(?P<name>[\u4e00-\u9fffA-Za-z《》]{2,20})\s*(?P<issue>\d{4}\s*年\s*(?:第\s*)?\d{1,3}\s*期)$"
)
_NAME_RE = re.compile(r"^[\u4e00-\u9fff·]{2,4}$")
_KEYWORD_SPLIT_RE = re.compile(r"[;；,，、|\s]+")


@dataclass
class Meta:
    title: str | None = None
    date: str | None = None
    author: str | None = None
    source: str | None = None
    keywords: list[str] = field(default_factory=list)
    abstract: str | None = None
    editor: str | None = None


def _label_fields(text: str, title: str | None = None) -> list[tuple[str, str]]:
    """Split 'label: value label: value' lines into (label, value) pairs; [] when no label leads.

    Text before the first label may be a date, or the title repeated (then it is dropped too).
    """
    matches = list(_LABEL_RE.finditer(text))
    if not matches:
        return []
    lead = text[: matches[0].start()].strip(" |【】[]()（）")
    contributed = re.match(r"^(.{2,30}?)(供稿|供图|报道)$", lead)
    if contributed:
        return [("来源", contributed.group(1)), *_label_fields(text[matches[0].start() :])]
    if lead and not _DATE_RE.fullmatch(lead) and len(lead) > 4:
        lkey, tkey = _norm_title(lead), _norm_title(title or "")
        if not (tkey and len(lkey) >= 6 and (lkey in tkey or tkey in lkey)):
            return []
        lead = ""
    pairs = []
    if lead:
        pairs.append(("时间", lead))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        pairs.append((m.group("label"), text[m.end() : end].strip(" |【】")))
    return pairs


_TRAILING_BUTTONS_RE = re.compile(r"(\s+(举报|分享|收藏|打印|关注|评论|纠错))+$")


def _apply_label(meta: Meta, label: str, value: str) -> None:
    value = _TRAILING_BUTTONS_RE.sub("", value.strip())
    if label in {"发布时间", "发布日期", "发表时间", "更新时间", "最后更新", "时间", "日期"}:
        m = _DATE_RE.search(value)
        if m and not meta.date:
            meta.date = _clean_date(m.group("date"))
    elif label in {"来源于", "本文来源", "文章来源", "信息来源", "稿件来源", "来源", "出处"}:
        if value and not meta.source:
            meta.source = value
    elif label in {"作者", "记者", "采写", "撰文", "执笔", "文"}:
        if value and not meta.author:
            meta.author = re.sub(r"(返回|查看更多).*$", "", value).strip() or None
    elif label in {"责任编辑", "责编", "编辑"}:
        meta.editor = value or meta.editor
    elif label in {"关键词", "关键字", "标签"}:
        words = [w for w in _KEYWORD_SPLIT_RE.split(value) if w]
        if len(words) > len(meta.keywords):
            meta.keywords = words
    elif label in {"摘要", "内容摘要", "内容提要", "提要", "导读"} and value and not meta.abstract:
        meta.abstract = value


def _clean_date(raw: str) -> str:
    m = re.match(
        r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*(\d{1,2}:\d{2}(?::\d{2})?)?",
        raw,
    )
    if not m:
        return raw.strip()
    y, mo, d, hm = m.groups()
    day = f"{y}-{int(mo):02d}-{int(d):02d}"
    return f"{day} {hm}" if hm else day


def _metadata_line(line: Line, meta: Meta, title: str | None = None) -> str | None:
    """Take metadata out of a short labelled or dated line; return the removal reason, or None."""
    t = line.text
    compact = re.sub(r"\s+", "", t)
    labelled_abstract = re.match(r"^(摘\s*要|内容摘要|内容提要|提要|导读)\s*[:：]", t)
    if not labelled_abstract and (len(compact) > 90 or _is_paragraph(t)):
        return None
    m = re.match(
        r"^(摘\s*要|内容摘要|内容提要|提要|导读|关\s*键\s*词|关键字|标签)\s*[:：]\s*(.+)$", t
    )
    if m:
        _apply_label(meta, re.sub(r"\s+", "", m.group(1)), m.group(2))
        return (
            "metadata (abstract)"
            if "要" in m.group(1) or "导读" in m.group(1)
            else "metadata (keywords)"
        )
    pm = _PERIODICAL_RE.match(t)
    if pm:
        issue = re.sub(r"\s+", "", pm.group("issue"))
        meta.source = meta.source or f"{pm.group('name')} {issue}"
        return "metadata (source)"
    pairs = _label_fields(t, title)
    if pairs:
        for label, value in pairs:
            _apply_label(meta, label, value)
        return "metadata"
    dm = _DATE_RE.match(t)
    if dm:
        rest = t[dm.end() :].strip(" |")
        if not rest or _NAME_RE.match(rest):
            meta.date = meta.date or _clean_date(dm.group("date"))
            if rest:
                meta.author = meta.author or rest
            return "metadata (date)"
        sub = _label_fields(rest)
        if sub:
            meta.date = meta.date or _clean_date(dm.group("date"))
            for label, value in sub:
                _apply_label(meta, label, value)
            return "metadata (date)"
    return None


# --- sections -------------------------------------------------------------------------------


def _heading_reason(text: str) -> str | None:
    key = re.sub(r"[\s:：|·•\-—_>»【】\[\]()（）]+", "", text).lower()
    if not key or len(key) > 12:
        return None
    return _section_headings().get(key)


def _is_reference(text: str) -> bool:
    return bool(re.match(r"^\s*(\[\d+\]|［\d+］|\d+[.、]\s*\S+\.\s*《)", text))


def _is_bio(text: str) -> bool:
    return bool(
        re.match(r"^[\u4e00-\u9fff·]{2,4}\s*[(（]\s*\d{4}\s*[-—–~～]\s*(\d{4})?\s*[)）]", text)
    )


def _listish(text: str) -> bool:
    return not _is_paragraph(text) or len(text) < 40


# --- HTML ----------------------------------------------------------------------------------

_MD_LINK_RE = re.compile(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)")
_STRAY_END_TAGS_RE = re.compile(r"</(?:html|body)\s*>", re.I)


def looks_like_html(text: str, filename: str | None = None) -> bool:
    if filename and filename.lower().endswith((".html", ".htm", ".xhtml", ".shtml")):
        return True
    head = text[:2000].lower()
    return (
        "<html" in head
        or "<!doctype html" in head
        or ("<body" in head)
        or len(re.findall(r"</(p|div|a|span|td)>", head)) >= 3
    )


def _md_lines(text: str) -> list[Line]:
    """trafilatura text with markdown links → lines with their share of linked text."""
    out: list[Line] = []
    for raw in text.split("\n"):
        raw = raw.strip()
        if not raw:
            continue
        if raw.startswith("|") and raw.endswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", raw.strip("|"))]
            out.extend(
                _md_lines(
                    "\n".join(
                        c.replace("\\|", "|") for c in cells if c and not re.fullmatch(r"-+", c)
                    )
                )
            )
            continue
        list_item = bool(re.match(r"^[-*]\s+", raw))
        body = re.sub(r"^[-*]\s+", "", raw)
        linked = sum(len(m.group(1)) for m in _MD_LINK_RE.finditer(body))
        plain = _MD_LINK_RE.sub(lambda m: m.group(1), body)
        ratio = linked / max(1, len(plain.strip()))
        out.append(Line(plain, None, min(1.0, ratio), list_item))
    return out


def _density_lines(html_text: str) -> list[Line]:
    """Readability-style fallback: the container holding most punctuated prose, split into blocks."""
    import lxml.html

    try:
        root = lxml.html.fromstring(html_text)
    except (ValueError, lxml.etree.ParserError):
        return []
    for bad in root.xpath(
        "//script|//style|//noscript|//iframe|//form|//nav|//header|//footer|//aside|//select"
    ):
        bad.drop_tree()
    scores: dict[object, float] = {}
    for el in root.iter("p", "td", "div", "section", "article", "li"):
        own = (el.text or "") + "".join((c.tail or "") for c in el)
        link = sum(len(a.text_content()) for a in el.iter("a"))
        text = el.text_content()
        if _han(own) < 20 or link > 0.3 * max(1, len(text)):
            continue
        score = 1 + len(_SENTENCE_PUNCT_RE.findall(own)) + min(_han(own) / 100, 3)
        parent = el.getparent()
        if parent is not None:
            scores[parent] = scores.get(parent, 0) + score
            grand = parent.getparent()
            if grand is not None:
                scores[grand] = scores.get(grand, 0) + score / 2
        scores[el] = scores.get(el, 0) + score
    if not scores:
        return []
    best = max(scores, key=lambda k: scores[k])
    for br in best.iter("br"):  # type: ignore[attr-defined]
        br.tail = "\n" + (br.tail or "")
    for block in best.iter("p", "div", "li", "tr", "h1", "h2", "h3", "h4"):  # type: ignore[attr-defined]
        block.tail = "\n" + (block.tail or "")
        block.text = "\n" + (block.text or "")
    text = best.text_content()  # type: ignore[attr-defined]
    return [Line(t.strip()) for t in text.split("\n") if t.strip()]


def _tag_texts(html_text: str, tag: str) -> list[str]:
    found = []
    for m in re.finditer(rf"<{tag}[^>]*>(.*?)</{tag}>", html_text, re.S | re.I):
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", m.group(1))).strip()
        if text:
            found.append(text)
    return found


def _bigrams(text: str) -> set[str]:
    key = _norm_title(text)
    return {key[i : i + 2] for i in range(len(key) - 1)}


def _agrees(candidate: str, reference: str) -> bool:
    a, b = _bigrams(candidate), _bigrams(reference)
    return bool(a) and len(a & b) >= 0.6 * len(a)


_TITLE_SEP_RE = re.compile(r"\s*(?:_+|\|+|｜|\s[-–—]+\s|[-–—]+)\s*")
_SITE_WORD_RE = re.compile(
    r"网|新闻|日报|晚报|频道|订阅|政府|报|在线|官方|门户|\.com|\.cn|资讯|公报|Paper|吧", re.I
)


def _strip_site_suffix(title: str, body_key: str = "") -> str:
    """Drop '_网易新闻', '-纪检', '__2007年第23号国务院公报_中国政府网' and the like."""
    for _ in range(4):
        parts = list(_TITLE_SEP_RE.finditer(title))
        if not parts:
            break
        last = parts[-1]
        head, tail = title[: last.start()].strip(), title[last.end() :].strip()
        if len(head) < 6 or len(tail) > 20:
            break
        if _SITE_WORD_RE.search(tail) or (
            _norm_title(head) in body_key and _norm_title(tail) not in _norm_title(head)
        ):
            title = head
            continue
        break
    return title.strip()


def _strip_injected_prefix(title: str, body_key: str) -> str:
    """A '[brand]' prefix that the article never mentions was put there by a content farm."""
    m = re.match(r"^\[([^\]]{1,20})\]\s*", title)
    if m and body_key and _norm_title(m.group(1)) not in body_key and len(title) - m.end() >= 6:
        return title[m.end() :]
    return title


def _choose_title(html_text: str, traf_title: str | None, body_key: str) -> str | None:
    tags = _tag_texts(html_text, "title")
    base = tags[0] if tags else traf_title
    candidates = [
        h for h in _tag_texts(html_text, "h1") if 4 <= len(h) <= 100 and _HAN_RE.search(h)
    ]
    if traf_title:
        candidates.append(traf_title)
    if base:
        for cand in candidates:
            # An <h1> that agrees with <title> is the title without the site's suffix.
            if _agrees(cand, base) and len(_norm_title(cand)) <= len(_norm_title(base)):
                return _strip_injected_prefix(_strip_site_suffix(cand, body_key), body_key)
        return _strip_injected_prefix(_strip_site_suffix(base, body_key), body_key)
    return candidates[0] if candidates else None


def _extract_html(html_text: str) -> tuple[list[Line], Meta]:
    import trafilatura

    fixed = _STRAY_END_TAGS_RE.sub("", html_text)
    doc = trafilatura.bare_extraction(
        fixed,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_links=True,
        deduplicate=False,
        # htmldate's extensive search falls back to dateparser, which takes seconds per page;
        # dates in labelled lines are found by our own metadata rules instead.
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    meta = Meta()
    lines: list[Line] = []
    data: dict[str, Any] = {}
    if doc is not None:
        data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
        lines = _md_lines(data.get("text") or "")
        meta.date = data.get("date")
        author = re.sub(r"\s*关注$", "", (data.get("author") or "").strip())
        if (
            author
            and _HAN_RE.search(author)
            and not re.search(r"[A-Za-z]", author)
            and len(author) <= 12
        ):
            meta.author = author
        sitename = data.get("sitename") or ""
        if _HAN_RE.search(sitename) and "版权" not in sitename:
            meta.source = sitename
        meta.keywords = [
            w
            for t in (data.get("tags") or [])
            for w in _KEYWORD_SPLIT_RE.split(t)
            if w and not re.search(r"[<>=\"']", w)
        ]
        meta.abstract = data.get("description")
    fallback = _density_lines(fixed)
    kept = sum(_han(ln.text) for ln in lines if ln.link_ratio < 0.5)
    if sum(_han(ln.text) for ln in fallback) > 2 * kept + 50:
        lines = fallback
    body_key = _norm_title("".join(ln.text for ln in lines))
    meta.title = _choose_title(fixed, data.get("title"), body_key)
    return lines, meta


# --- the pipeline ---------------------------------------------------------------------------


def _norm_title(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text).lower()


def _clean_lines(lines: list[Line], meta: Meta) -> CleanedPage:
    page = CleanedPage()
    texts = normalise_many(ln.text for ln in lines)
    for ln, t in zip(lines, texts, strict=True):
        ln.text = t.replace("\n", " ").strip()
    lines = [ln for ln in lines if ln.text]
    meta_title = normalise(meta.title) if meta.title else None
    html_abstract = normalise(meta.abstract) if meta.abstract else None
    meta.abstract = None

    # Line rules, then sections (bio, references, related links) that swallow the lines after them.
    section: str | None = None
    taken = 0
    seen: set[str] = set()
    first_paragraph = next((i for i, ln in enumerate(lines) if _is_paragraph(ln.text)), len(lines))
    for i, ln in enumerate(lines):
        heading = _heading_reason(ln.text)
        if heading:
            section, taken = heading, 0
            ln.reason = heading
            continue
        if section:
            stuffed = _rule_spam(ln) or _rule_lists(ln)
            if stuffed:
                ln.reason = stuffed
                continue
            taken += 1
            ends = {
                "related links": not _listish(ln.text),
                # A bio is a paragraph or two after its heading; prose after that is article again.
                "author bio": taken > 2 and _is_paragraph(ln.text) and not _is_bio(ln.text),
                "references": not (_is_reference(ln.text) or _listish(ln.text)),
            }
            if ends.get(section, False):
                section = None
            else:
                ln.reason = section
                continue
        for rule in _RULES:
            reason = rule(ln)
            if reason:
                ln.reason = reason
                break
        if ln.reason:
            continue
        if _is_bio(ln.text) and not _is_paragraph(ln.text[40:]):
            ln.reason = "author bio"
            continue
        if _is_reference(ln.text):
            ln.reason = "references"
            continue
        meta_reason = (
            _metadata_line(ln, meta, meta_title)
            if (i <= first_paragraph + 2 or len(ln.text) <= 60)
            else None
        )
        if meta_reason:
            ln.reason = meta_reason
            continue
        key = _norm_title(ln.text)
        if key in seen and len(key) >= 4:
            ln.reason = "duplicate"
            continue
        seen.add(key)

    # Title: the HTML's, or the first short line before the article's first paragraph.
    body = [ln for ln in lines if ln.reason is None]
    title = meta_title
    if title is None:
        for ln in body:
            if _is_paragraph(ln.text):
                break
            if (
                4 <= len(ln.text) <= 60
                and _HAN_RE.search(ln.text)
                and not _SENTENCE_END_RE.search(ln.text)
            ):
                title = ln.text
                ln.reason = "title"
                break
    if title and len(title) >= 6:
        for ln in body[:6]:
            if ln.reason is None and ln.text.startswith(title) and len(ln.text) > len(title) + 10:
                page.removed.append(Removed("title", title, ln.lineno))
                ln.text = _LEAD_STAMP_RE.sub("", ln.text[len(title) :].strip())
    if title:
        tkey = _norm_title(title)
        for ln in body[:6]:
            key = _norm_title(ln.text)
            if ln.reason is None and key and (key == tkey or (len(key) >= 6 and key in tkey)):
                ln.reason = "title"
    body = [ln for ln in lines if ln.reason is None]

    # An end-of-article credit (editor, source) late in the page ends the article.
    body = [ln for ln in lines if ln.reason is None]
    total = sum(_han(ln.text) for ln in body) or 1
    acc = 0
    cut_from: int | None = None
    for idx, ln in enumerate(lines):
        if ln.reason is None:
            acc += _han(ln.text)
        elif (
            ln.reason.startswith("metadata")
            and acc > 0.6 * total
            and re.match(r"^(责任编辑|责编|编辑|作者|采写|本文来源|文章来源)", ln.text)
        ):
            cut_from = idx
            break
    if cut_from is not None:
        for ln in lines[cut_from + 1 :]:
            if ln.reason is None and (not _is_paragraph(ln.text) or _han(ln.text) < 120):
                ln.reason = "after the end of the article"

    # Runs of three or more short list items are link lists (related, hot, most-read).
    run: list[Line] = []
    for ln in [*lines, Line("", list_item=False)]:
        if ln.reason is None and ln.list_item and not _is_prose_sentence(ln.text):
            run.append(ln)
            continue
        if len(run) >= 3:
            for item in run:
                item.reason = "link list"
        run = []

    # A credit glued to the last line by the extractor: '…搓搓手了！！！编辑|禤志杰'.
    tail = [ln for ln in lines if ln.reason is None][-3:]
    for ln in tail:
        m = _TRAILING_CREDIT_RE.search(ln.text)
        if m and m.start() > 0:
            page.removed.append(Removed("metadata", m.group(0).strip(), ln.lineno))
            _apply_label(meta, m.group("label"), m.group("name"))
            ln.text = ln.text[: m.start()].rstrip()

    page.title = title
    page.date = meta.date
    page.author = meta.author or None
    page.source = meta.source or None
    page.keywords = [normalise(k) for k in dict.fromkeys(meta.keywords) if k]
    page.abstract = meta.abstract or None
    page.paragraphs = [ln.text for ln in lines if ln.reason is None]
    if page.abstract is None and html_abstract and _han(html_abstract) >= 20:
        # A description that merely repeats the title and the lead is not an abstract.
        key = _norm_title(html_abstract)
        if title and key.startswith(_norm_title(title)):
            key = key[len(_norm_title(title)) :]
        if len(key) >= 15 and key[:15] not in _norm_title(page.body):
            page.abstract = html_abstract
    page.removed += [Removed(ln.reason, _short(ln.text), ln.lineno) for ln in lines if ln.reason]
    page.garbled = _garbled(page)
    return page


_TRAILING_CREDIT_RE = re.compile(
    r"\s*(?P<label>责任编辑|责编|编辑|作者|来源)\s*[:：|｜/]\s*(?P<name>[\u4e00-\u9fff·]{2,6})\s*$"
)
_LEAD_STAMP_RE = re.compile(
    r"^(?:最后更新|更新时间|发布时间|发布日期|时间)\s*[:：]\s*" + _DATE_RE.pattern + r"\s*"
)


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _garbled(page: CleanedPage) -> list[GarbledLocation]:
    found: list[GarbledLocation] = []
    fields: list[tuple[str, int | None, str]] = []
    if page.title:
        fields.append(("title", None, page.title))
    if page.abstract:
        fields.append(("abstract", None, page.abstract))
    fields += [("paragraphs", i, p) for i, p in enumerate(page.paragraphs)]
    for name, index, text in fields:
        for span in find_garbled(text):
            found.append(GarbledLocation(name, index, span.start, span.end, span.kind, span.sample))
    return found


def _text_lines(text: str) -> list[Line]:
    return [Line(raw, i + 1) for i, raw in enumerate(text.split("\n")) if raw.strip()]


_BLOCK_END_RE = re.compile(r"<(?:br|/p|/div|/h\d|/li|/td|/tr)\b[^>]*>", re.I)
_INVISIBLE_RE = re.compile(r"<(script|style|noscript)\b.*?</\1\s*>|<!--.*?-->", re.I | re.S)


def _fill_from_byline(page: CleanedPage, html_text: str) -> None:
    """Fill missing date/author/source from the byline just above the article in the page.

    Extractors often leave the byline ("来源：… 作者：… 时间：…") outside the article block.
    """
    if page.date and page.author and page.source:
        return
    import html as htmllib

    flat = re.sub(r"\s+", " ", _INVISIBLE_RE.sub("", html_text))
    visible = _BLOCK_END_RE.sub("\n", flat)
    visible = htmllib.unescape(re.sub(r"<[^>]+>", "", visible))
    rows = [normalise(r) for r in visible.split("\n") if r.strip()]
    anchor = _norm_title(page.paragraphs[0])[:12]
    start = next((i for i, r in enumerate(rows) if anchor and anchor in _norm_title(r)), None)
    if start is None:
        return
    found = Meta()
    for row in rows[max(0, start - 12) : start]:
        _metadata_line(Line(row), found, page.title)
    page.date = page.date or found.date
    page.author = page.author or found.author
    page.source = page.source or found.source


def clean_page(
    raw: str | bytes, *, filename: str | None = None, encoding: str | None = None
) -> CleanedPage:
    """Clean one scraped page. ``raw`` bytes are decoded strictly (see ``decode_bytes``).

    Raises ``InputError`` for empty, binary or wrongly encoded input.
    """
    name = filename or "input"
    if isinstance(raw, bytes):
        text, _warnings = decode_bytes(raw, name, encoding)
    else:
        text = raw
    if not text.strip():
        raise InputError(f"{name} is empty")
    if "\x00" in text[:8192]:
        raise InputError(f"{name} looks binary (NUL character), not text or HTML")
    html_text = looks_like_html(text, filename)
    if html_text:
        lines, meta = _extract_html(text)
    else:
        lines, meta = _text_lines(text.replace("\r\n", "\n").replace("\r", "\n")), Meta()
    if not any(_HAN_RE.search(ln.text) or re.search(r"[A-Za-z]{3,}", ln.text) for ln in lines):
        raise InputError(f"{name} has no readable text")
    page = _clean_lines(lines, meta)
    if html_text and page.paragraphs:
        _fill_from_byline(page, text)
    return page


def render_text(page: CleanedPage) -> str:
    """A readable plain-text rendering for people at a terminal."""
    out: list[str] = []
    out.append(f"标题 title: {page.title or '-'}")
    out.append(f"日期 date: {page.date or '-'}")
    out.append(f"作者 author: {page.author or '-'}")
    out.append(f"来源 source: {page.source or '-'}")
    out.append(f"关键词 keywords: {'; '.join(page.keywords) or '-'}")
    if page.abstract:
        out.append(f"摘要 abstract: {page.abstract}")
    out.append("")
    out.extend(page.paragraphs)
    if page.garbled:
        out.append("")
        out.append(f"乱码 garbled spans ({len(page.garbled)}):")
        for g in page.garbled:
            where = f"{g.field}[{g.index}]" if g.index is not None else g.field
            out.append(f"  {where} {g.start}-{g.end} {g.kind}: {g.sample}")
    if page.removed:
        out.append("")
        out.append(f"已删除 removed ({len(page.removed)}):")
        for r in page.removed:
            where = f"line {r.line}: " if r.line else ""
            out.append(f"  [{r.reason}] {where}{_short(r.text, 60)}")
    return "\n".join(out)
