"""Decode a fetched page whose declared charset may lie.

Pages say their charset in the HTTP header and in ``<meta>``, and both are often wrong (a site
moved to UTF-8 and kept ``gb2312`` in its template; a proxy adds ``charset=iso-8859-1``). The
bytes decide: every likely encoding is tried strictly (no replacement characters, ever), and
among those that decode the one whose text reads most like Chinese wins — GBK bytes read as Big5,
or Big5 read as GB18030, decode without error into rare characters, kana and private-use code
points, which is how they lose. Valid UTF-8 with non-ASCII bytes is taken as UTF-8 at once: other
encodings almost never produce valid UTF-8 by accident.
"""

from __future__ import annotations

import codecs
import functools
import re
from dataclasses import dataclass

from sources.plugins.base import FetchError

_META_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_HEADER_RE = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", re.IGNORECASE)

# Aliases pages use, mapped to the widest codec that reads them: GB2312 and GBK pages routinely
# contain characters beyond their nominal set, GB18030 reads all of them; cp950 is Big5 as
# browsers and Windows read it.
_WIDEN = {"gb2312": "gb18030", "gbk": "gb18030", "gb18030": "gb18030", "big5": "cp950"}

# Frequent characters of modern Chinese, simplified; their traditional forms are added at import.
_COMMON_SIMPLIFIED = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过"
    "子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体"
    "制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内"
    "数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提"
    "直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计"
    "别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海"
    "口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身"
    "车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石"
    "记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青"
    "省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型"
    "眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严龙飞们您吗呢吧"
)


@functools.cache
def _common() -> frozenset[str]:
    from opencc import OpenCC

    traditional = OpenCC("s2t").convert(_COMMON_SIMPLIFIED)
    return frozenset(_COMMON_SIMPLIFIED) | frozenset(traditional)


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    note: str = ""  # set when a declaration was overruled


def canonical(name: str | None) -> str | None:
    if not name:
        return None
    lowered = name.strip().lower().replace("_", "-")
    try:
        codec = codecs.lookup(lowered).name
    except LookupError:
        return None
    return _WIDEN.get(codec.replace("_", "-"), _WIDEN.get(lowered, codec))


def header_charset(content_type: str) -> str | None:
    match = _HEADER_RE.search(content_type or "")
    return match.group(1) if match else None


def meta_charset(body: bytes) -> str | None:
    match = _META_RE.search(body[:4096])
    return match.group(1).decode("ascii") if match else None


def chinese_score(text: str) -> float:
    """How much ``text`` reads like Chinese: share of its non-ASCII characters that are Han or
    CJK punctuation, plus the share of its Han characters that are frequent ones."""
    wide = [c for c in text if ord(c) > 127]
    if not wide:
        return 0.0
    han = [c for c in wide if "\u4e00" <= c <= "\u9fff"]
    punct = sum(1 for c in wide if "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef")
    common = _common()
    frequent = sum(1 for c in han if c in common) / len(han) if han else 0.0
    return (len(han) + punct) / len(wide) + frequent


def decode_page(body: bytes, content_type: str = "", *, url: str = "") -> Decoded:
    """Decode ``body``; raise FetchError("bad_encoding") when no likely encoding reads it."""
    declared_header = header_charset(content_type)
    declared_meta = meta_charset(body)
    declared = canonical(declared_header) or canonical(declared_meta)
    if body.startswith(codecs.BOM_UTF8):
        return Decoded(body[3:].decode("utf-8", errors="strict"), "utf-8")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        note = ""
        if declared and declared != "utf-8" and not body.isascii():
            note = f"declared {declared_header or declared_meta} but the bytes are UTF-8"
        return Decoded(text, "utf-8", note)
    candidates: list[str] = []
    for name in (canonical(declared_header), canonical(declared_meta), "gb18030", "cp950"):
        if name and name not in candidates and name != "utf-8":
            candidates.append(name)
    readings: list[tuple[float, int, str, str]] = []
    for rank, name in enumerate(candidates):
        try:
            text = body.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
        # A declared encoding that decodes cleanly keeps a small edge over a guess.
        bonus = 0.05 if name == declared else 0.0
        readings.append((chinese_score(text) + bonus, -rank, name, text))
    if not readings:
        said = f" (declared {declared_header or declared_meta})" if declared else ""
        raise FetchError(
            "bad_encoding",
            f"{url or 'the page'} is not UTF-8, GB18030 or Big5{said}: undecodable bytes",
        )
    _score, _rank, name, text = max(readings)
    note = ""
    if declared and name != declared:
        note = f"declared {declared_header or declared_meta} but the bytes read as {name}"
    return Decoded(text, name, note)
