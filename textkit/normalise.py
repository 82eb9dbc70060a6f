"""Normalise scraped Chinese text and find the spans that are garbled beyond repair.

``normalise(text)`` folds what scrapers and content farms do to Chinese text into one canonical
form: HTML entities decoded, NFKC (full-width letters, digits and spaces become ASCII; the Chinese
full-width punctuation ，！？：；（） is kept because it is the correct form in Chinese and because
``？`` versus ``?`` tells a question from a lost character), traditional characters converted to
simplified with OpenCC, inline pinyin annotations such as ``形勢(shì)`` removed, zero-width
characters dropped and whitespace folded (line structure kept, blank-line runs folded to one).

``analyse(text)`` does the same and also reports garbled spans — private-use code points, U+FFFD,
question-mark runs standing in for lost characters, Latin-1 mojibake and scrambled runs of rare
characters, stray letters and pinyin fragments. They are reported with offsets into the returned
text and never "repaired": a guess would put words in a citizen's mouth.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "GarbledSpan",
    "InputError",
    "Normalised",
    "analyse",
    "decode_bytes",
    "find_garbled",
    "normalise",
    "normalise_many",
    "read_text_file",
    "to_simplified",
]


class InputError(ValueError):
    """Input a person has to fix (empty, binary, wrong encoding, missing). One-line message."""


@dataclass(frozen=True)
class GarbledSpan:
    start: int
    end: int
    kind: str
    sample: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Normalised:
    text: str
    garbled: list[GarbledSpan]

    def to_dict(self) -> dict[str, object]:
        return {"text": self.text, "garbled": [g.to_dict() for g in self.garbled]}


# --- traditional → simplified -------------------------------------------------------------


@functools.cache
def _opencc_t2s() -> object:
    import opencc  # opencc-python-reimplemented: pure Python, so it is imported only when needed

    converter = opencc.OpenCC("t2s")
    converter.convert("")
    # Some "simplified" targets lie outside the BMP (暐 → 𬀩) and most fonts and databases in
    # government offices cannot show them: keep the original character there instead.
    for group in getattr(converter, "_dict_chain_data", []):
        for entry in group if isinstance(group, list) else [group]:
            if isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[2], dict):
                table = entry[2]
                for key in [k for k, v in table.items() if _has_astral(v.split(" ")[0])]:
                    table[key] = key
    return converter


def _has_astral(text: str) -> bool:
    return any(ord(c) > 0xFFFF for c in text)


@functools.cache
def _traditional_chars() -> frozenset[str]:
    """Characters that t2s would change: text without any of them skips OpenCC entirely."""
    import opencc

    table = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    chars: set[str] = set()
    for line in table.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        targets = parts[1].split() if len(parts) == 2 else []
        if (
            len(parts[0]) == 1
            and targets
            and parts[0] not in targets
            and not _has_astral(targets[0])
        ):
            chars.add(parts[0])
    return frozenset(chars)


def needs_t2s(text: str) -> bool:
    return not _traditional_chars().isdisjoint(text)


# OpenCC's dictionaries hold Han characters only, so a text converts run by run of Han
# characters; runs without a traditional character are skipped and converted runs are cached.
_HAN_RUN_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_run_cache: dict[str, str] = {}
_RUN_CACHE_MAX = 200_000


def _convert_runs(runs: list[str]) -> dict[str, str]:
    """Convert the distinct runs not yet cached in one OpenCC call; return run → simplified."""
    todo = [r for r in dict.fromkeys(runs) if r not in _run_cache]
    if todo:
        converted = str(_opencc_t2s().convert("\n".join(todo))).split("\n")  # type: ignore[attr-defined]
        if len(converted) != len(todo):  # never expected: OpenCC keeps newlines
            converted = [str(_opencc_t2s().convert(r)) for r in todo]  # type: ignore[attr-defined]
        if len(_run_cache) > _RUN_CACHE_MAX:
            _run_cache.clear()
        _run_cache.update(zip(todo, converted, strict=True))
    return {r: _run_cache[r] for r in runs}


def to_simplified(text: str) -> str:
    """Traditional → simplified with OpenCC t2s (phrase-aware); text with no traditional character is returned as is."""
    if not needs_t2s(text):
        return text
    return _to_simplified_many([text])[0]


@functools.cache
def _traditional_table() -> np.ndarray:
    table = np.zeros(0x110000, dtype=bool)
    table[[ord(c) for c in _traditional_chars()]] = True
    return table


def _needing_t2s(texts: list[str]) -> list[int]:
    """Indices of the texts holding a traditional character, decided for the batch in numpy."""
    if len(texts) < 8:
        return [i for i, t in enumerate(texts) if needs_t2s(t)]
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    hits = np.flatnonzero(_traditional_table()[codes])
    if hits.size == 0:
        return []
    ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
    return np.unique(np.searchsorted(ends, hits, side="right")).tolist()


def _to_simplified_many(texts: list[str]) -> list[str]:
    # Most texts are already simplified: one numpy pass over the batch finds the few that are not.
    todo = _needing_t2s(texts)
    if not todo:
        return list(texts)
    runs = [r for i in todo for r in _HAN_RUN_RE.findall(texts[i]) if needs_t2s(r)]
    table = _convert_runs(runs)
    out = list(texts)
    for i in todo:
        out[i] = _HAN_RUN_RE.sub(lambda m: table.get(m.group(0), m.group(0)), texts[i])
    return out


# --- character classes --------------------------------------------------------------------

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{_CJK}]")
_PUA_RE = re.compile("[\ue000-\uf8ff]+")
_ZERO_WIDTH_RE = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]")
# Chinese punctuation that NFKC would turn into ASCII; kept full-width.
# Latin-1 superscripts and fractions are kept too: NFKC would erase the evidence of mojibake.
_KEEP_FULLWIDTH_RE = re.compile(
    "([，！？：；（）…\u00a8\u00aa\u00af\u00b2-\u00b5\u00b8-\u00ba\u00bc-\u00be])"
)

_TONE_VOWELS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_PINYIN_LETTERS = f"a-zü{_TONE_VOWELS}"
_SYLLABLE = re.compile(
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ueng|ang|eng|ing|ong|ian|iao|uai|uan|üan|van|ai|ei|ao|ou|an|en|er|in|un"
    r"|ün|ia|ie|iu|ua|uo|ui|üe|ue|ve|a|o|e|i|u|ü|v|ng|m|n)"
)
_TONELESS = str.maketrans(_TONE_VOWELS, "aaaaeeeeiiiioooouuuuüüüü")
# One to four syllables, tone marks or tone numbers, in ASCII or full-width brackets, right after
# a Han character: 形勢(shì), 形勢（shì）, 形勢(shi4), 形勢(xíng shì).
_PINYIN_ANNOTATION_RE = re.compile(
    rf"(?<=[{_CJK}])[(（]\s*((?:[{_PINYIN_LETTERS}]+[1-5]?\s*){{1,4}})[)）]"
)


def _is_pinyin(group: str) -> bool:
    syllables = group.split()
    marked = False
    for syl in syllables:
        tone_digit = syl[-1].isdigit()
        if tone_digit:
            syl = syl[:-1]
        if any(c in _TONE_VOWELS for c in syl) or tone_digit:
            marked = True
        elif len(syllables) == 1:
            return False
        if not _SYLLABLE.fullmatch(syl.translate(_TONELESS)):
            return False
    return marked


def _strip_pinyin(text: str) -> str:
    if "(" not in text and "（" not in text:
        return text
    return _PINYIN_ANNOTATION_RE.sub(lambda m: "" if _is_pinyin(m.group(1)) else m.group(0), text)


def _nfkc(text: str) -> str:
    if text.isascii():
        return text
    parts = _KEEP_FULLWIDTH_RE.split(text)
    for i in range(0, len(parts), 2):
        parts[i] = unicodedata.normalize("NFKC", parts[i])
    return "".join(parts)


def _unescape(text: str) -> str:
    # Twice, because scrapers double-escape (&amp;nbsp;).
    if "&" not in text:
        return text
    return html.unescape(html.unescape(text))


_SPACES_RE = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_SPACE_NEAR_CJK_PUNCT_RE = re.compile(r" *([，。！？：；、“”‘’《》〈〉【】（）…—]) *")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def _fold_whitespace(text: str) -> str:
    text = (
        text.replace("\r\n", "\n")
        .replace("\r", "\n")
        .replace("\u2028", "\n")
        .replace("\u2029", "\n")
    )
    text = _ZERO_WIDTH_RE.sub("", text)
    text = _SPACES_RE.sub(" ", text)
    if " " in text:
        # Without a space every match would put its punctuation mark back unchanged.
        text = _SPACE_NEAR_CJK_PUNCT_RE.sub(r"\1", text)
    if "\n" in text:
        text = "\n".join(line.strip() for line in text.split("\n"))
        text = _BLANK_LINES_RE.sub("\n\n", text)
    return text.strip()


def _pre(text: str) -> str:
    return _strip_pinyin(_nfkc(_unescape(text)))


def normalise(text: str) -> str:
    """The canonical form of ``text`` (see the module docstring); idempotent."""
    return _fold_whitespace(to_simplified(_pre(text)))


def normalise_many(texts: Iterable[str]) -> list[str]:
    """``normalise`` over a batch: one OpenCC pass over all texts that contain traditional characters."""
    pre = [_pre(t) for t in texts]
    return [_fold_whitespace(t) for t in _to_simplified_many(pre)]


def analyse(text: str) -> Normalised:
    out = normalise(text)
    return Normalised(out, find_garbled(out))


# --- garbled spans --------------------------------------------------------------------------

_INTERROGATIVES = re.compile(
    "[吗呢吧么嘛啥谁哪怎几何岂]|什么|多少|是否|难道|为啥|要不要|是不是|有没有|能不能|对不对|好不好"
)
_CLAUSE_BREAK = re.compile(r"[。！？!?；;，,：:\n]")
_QMARK_RUN_RE = re.compile(r"[?？]+")
_FFFD_RE = re.compile("\ufffd+")
# Latin-1 / cp1252 mojibake: three or more Latin-1 supplement characters in a run, each possibly
# followed by one ASCII letter (GBK trail bytes in the ASCII range).
_LATIN1_RUN_RE = re.compile(
    r"(?:[\u00c0-\u00ff\u0080-\u00b6\u00b8-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2039\u203a\u20ac\u2122]"
    r"[A-Za-z]?){3,}"
)
_STRAY_LETTER_RE = re.compile(f"(?<=[{_CJK}])[A-Za-z](?=[{_CJK}])")
# A pinyin annotation that lost its opening bracket or its base character: "?yàn)".
_PINYIN_FRAGMENT_RE = re.compile(
    rf"(?<![(（{_PINYIN_LETTERS}])[{_PINYIN_LETTERS}]*[{_TONE_VOWELS}][{_PINYIN_LETTERS}]*[)）]"
)
_BARE_PINYIN_RE = re.compile(rf"[(（]([{_PINYIN_LETTERS}]+[1-5]?)[)）]")
# Symbols that do not belong inside running Chinese text: Bopomofo, Kangxi radicals, strokes,
# box drawing, geometric shapes, misc symbols, half-width katakana.
_SYMBOL_RE = re.compile(
    "[\u203b\u3013\u2190-\u23ff\u3100-\u312f\u31a0-\u31bf\u2e80-\u2fdf\u31c0-\u31ef\u2500-\u25ff\u2600-\u27bf\u3200-\u33ff\uff61-\uff9f]"
)


@functools.lru_cache(maxsize=65536)
def _is_rare(ch: str) -> bool:
    """A Han character outside GB2312 level 1 (the 3,755 common characters)."""
    if not _CJK_RE.match(ch):
        return False
    try:
        encoded = ch.encode("gb2312")
    except UnicodeEncodeError:
        return True
    return not 0xB0 <= encoded[0] <= 0xD7


def _is_han(ch: str) -> bool:
    return bool(_CJK_RE.match(ch))


def _qmark_is_question(text: str, start: int, end: int) -> bool:
    if end - start > 3 or (end < len(text) and text[end].isascii() and text[end].isalpha()):
        return False
    clause_start = 0
    for m in _CLAUSE_BREAK.finditer(text, max(0, start - 60), start):
        clause_start = m.end()
    return bool(_INTERROGATIVES.search(text, clause_start or max(0, start - 60), start))


def _anchors(text: str) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    found += [(m.start(), m.end(), "private_use") for m in _PUA_RE.finditer(text)]
    found += [(m.start(), m.end(), "replacement_char") for m in _FFFD_RE.finditer(text)]
    for m in _QMARK_RUN_RE.finditer(text):
        s, e = m.span()
        before = text[s - 1] if s else ""
        after = text[e] if e < len(text) else ""
        # A question mark ends a clause; a lost character sits inside a word, between Han
        # characters or before a pinyin fragment or private-use character.
        inside = (
            (_is_han(before) and _is_han(after))
            or (after.isascii() and after.isalpha())
            or "\ue000" <= after <= "\uf8ff"
        )
        long_run = e - s >= 4 and (_is_han(before) or _is_han(after))
        if (inside or long_run) and not _qmark_is_question(text, s, e):
            found.append((s, e, "question_marks"))
    found += [(m.start(), m.end(), "mojibake") for m in _LATIN1_RUN_RE.finditer(text)]
    # A lone letter between Han characters is common in real text (A股, B超, T恤): it only
    # counts as evidence next to a stronger sign, see find_garbled.
    found += [(m.start(), m.end(), "stray_letter") for m in _STRAY_LETTER_RE.finditer(text)]
    found += [(m.start(), m.end(), "scrambled") for m in _PINYIN_FRAGMENT_RE.finditer(text)]
    # A pinyin annotation left in place because its base character is gone: "板](méi)".
    found += [
        (m.start(), m.end(), "scrambled")
        for m in _BARE_PINYIN_RE.finditer(text)
        if _is_pinyin(m.group(1)) and not (m.start() and _is_han(text[m.start() - 1]))
    ]
    # Five odd characters (rare Han, Bopomofo, stray symbols) within six in a row is neither a
    # name nor an idiom like 魑魅魍魉: it is a decoding accident such as UTF-8 read as GBK.
    odd = [i for i, ch in enumerate(text) if _is_rare(ch) or _SYMBOL_RE.match(ch)]
    for k in range(len(odd) - 4):
        a, b = odd[k], odd[k + 4]
        window = text[a : b + 1]
        if (
            b - a < 6
            and len(set(window)) >= 4
            and all(_is_han(c) or _SYMBOL_RE.match(c) for c in window)
        ):
            found.append((a, b + 1, "scrambled"))
    symbols = [m.start() for m in _SYMBOL_RE.finditer(text)]
    for k in range(len(symbols) - 2):
        if symbols[k + 2] - symbols[k] < 6 and len({text[i] for i in symbols[k : k + 3]}) >= 3:
            found.append((symbols[k], symbols[k + 2] + 1, "symbol_soup"))
    return found


def _kind_rank(kind: str) -> int:
    order = [
        "mojibake",
        "symbol_soup",
        "scrambled",
        "question_marks",
        "replacement_char",
        "private_use",
        "stray_letter",
    ]
    return order.index(kind) if kind in order else 0


def find_garbled(text: str) -> list[GarbledSpan]:
    """Garbled spans of already-normalised ``text``, merged when they lie within three characters.

    A merged span grows over rare characters right next to it, since those are usually the rest
    of the same accident. The kind of a merged span is its most telling part (mojibake, symbol
    soup, scrambled characters, question marks, U+FFFD, private-use code points).
    """
    anchors = sorted(_anchors(text))
    if not anchors:
        return []
    merged: list[tuple[int, int, str]] = []
    for s, e, kind in anchors:
        if merged and s <= merged[-1][1] + 3 and "\n" not in text[merged[-1][1] : s]:
            ls, le, lkind = merged[-1]
            merged[-1] = (ls, max(le, e), min(lkind, kind, key=_kind_rank))
        else:
            merged.append((s, e, kind))
    spans: list[GarbledSpan] = []
    for s, e, kind in merged:
        if kind == "stray_letter":
            continue
        while s > 0 and _is_rare(text[s - 1]):
            s -= 1
        while e < len(text) and _is_rare(text[e]):
            e += 1
        spans.append(GarbledSpan(s, e, kind, text[s:e][:40]))
    return spans


# --- reading files ------------------------------------------------------------------------

_GB_FAMILY = {"gbk", "gb2312", "gb18030", "cp936", "x-gbk", "gb_2312-80", "euc-cn", "hz-gb-2312"}
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)


def declared_charset(data: bytes) -> str | None:
    m = _META_CHARSET_RE.search(data[:4096])
    return m.group(1).decode("ascii").lower() if m else None


def _canon(encoding: str) -> str:
    enc = encoding.lower().replace("_", "-")
    if enc in _GB_FAMILY or enc.replace("-", "") in {"gb2312", "gbk", "gb18030"}:
        return "gb18030"
    if enc in {"utf8", "utf-8", "utf-8-sig"}:
        return "utf-8"
    return enc


def _bad_offset(data: bytes, encoding: str) -> int:
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        return exc.start
    return -1


def decode_bytes(
    data: bytes, name: str = "input", encoding: str | None = None
) -> tuple[str, list[str]]:
    """Decode a file's bytes strictly; return (text, warnings) or raise ``InputError``.

    Valid UTF-8 wins over a ``<meta charset>`` that says otherwise (pages are often re-saved
    without updating it), but an explicit ``encoding`` that disagrees with the bytes is an error,
    and bytes that are not valid UTF-8 are decoded as GB18030 only when the page declares a GB
    charset: nothing is ever decoded with replacement characters.
    """
    warnings: list[str] = []
    if not data.strip():
        raise InputError(f"{name} is empty")
    sample = data[:8192]
    if b"\x00" in sample:
        nul = sample.index(b"\x00")
        raise InputError(f"{name} looks binary (NUL byte at offset {nul}), not text or HTML")
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    if controls > len(sample) * 0.05:
        raise InputError(
            f"{name} looks binary ({controls} control bytes in the first {len(sample)}), not text or HTML"
        )
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    utf8_ok = _bad_offset(body, "utf-8") < 0
    if encoding:
        enc = _canon(encoding)
        try:
            "".encode(enc)
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r}") from None
        if enc != "utf-8" and utf8_ok and not body.isascii():
            raise InputError(
                f"{name} is valid UTF-8, not {encoding}: reading it as {encoding} would garble it"
            )
        bad = _bad_offset(body, enc)
        if bad >= 0:
            hint = (
                " (it is valid UTF-8)"
                if utf8_ok
                else (" (it decodes as GB18030)" if _bad_offset(body, "gb18030") < 0 else "")
            )
            raise InputError(
                f"{name} is not valid {encoding}: undecodable byte 0x{body[bad]:02x} at offset {bad}{hint}"
            )
        return body.decode(enc), warnings
    declared = declared_charset(data)
    if utf8_ok:
        if declared and _canon(declared) != "utf-8" and not body.isascii():
            warnings.append(f"{name} declares charset {declared} but is valid UTF-8; read as UTF-8")
        return body.decode("utf-8"), warnings
    bad = _bad_offset(body, "utf-8")
    gb_ok = _bad_offset(body, "gb18030") < 0
    if declared and _canon(declared) == "gb18030":
        if gb_ok:
            return body.decode("gb18030"), warnings
        gbad = _bad_offset(body, "gb18030")
        raise InputError(
            f"{name} declares charset {declared} but byte 0x{body[gbad]:02x} at offset {gbad} is not GB18030, and it is not UTF-8 either"
        )
    said = f"declares charset {declared} but " if declared else ""
    hint = "; it decodes as GB18030 — pass --encoding gb18030 if that is right" if gb_ok else ""
    raise InputError(
        f"{name} {said}is not valid UTF-8: byte 0x{body[bad]:02x} at offset {bad}{hint}"
    )


def read_text_file(path: str | Path, encoding: str | None = None) -> tuple[str, list[str]]:
    """Read and strictly decode a file (``-`` for stdin) or raise ``InputError`` naming it."""
    import sys

    if str(path) == "-":
        return decode_bytes(sys.stdin.buffer.read(), "standard input", encoding)
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p} is a directory, not a file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror})") from None
    return decode_bytes(data, str(p), encoding)
