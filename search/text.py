"""Turning appeal texts into index terms and user queries into safe match expressions.

Documents are indexed as **overlapping character bigrams of every run of Chinese characters**
(路灯不亮 → 路灯 灯不 不亮) plus every run of letters and digits as a whole token (A3, 2026),
each with its position. A word the user types is looked up as the *phrase* of its bigrams at
consecutive positions, so a word of two or more characters is found exactly where it occurs in
the text, whatever the segmenter would have made of the surrounding sentence: the same results
as ``LIKE '%word%'``, from an index.

The user's query is segmented with the project's segmenter (``textkit.segment``, jieba's precise
mode), so 小区停车难 becomes the words 小区 and 停车; every word must occur (AND), anywhere in the
title or text. Single characters left over by the segmenter (难, 了, 的) are not required when the
query has a longer word; a query with no word of two or more characters is refused with a message.

Both database back ends receive only what this module renders: bigrams and alphanumeric tokens
built from ``[^\\W_]`` characters, each quoted for its syntax, so user input never reaches FTS5's
or tsquery's operators.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _

from minsheng.errors import ServiceError

# Han characters: the unified block, extension A, compatibility ideographs and the supplementary
# planes' extensions. Kana and Hangul are rare in appeals and are treated like letters.
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_RUN = re.compile(rf"(?P<han>[{_HAN}]+)|(?P<word>(?:(?![{_HAN}])[^\W_])+)")

# FTS5 counts positions by token, with no gaps: a run break where two bigrams could chain
# (…路灯，灯泡…) gets this filler token so that the phrase 路灯泡 cannot match across the comma.
# A private-use character never survives normalisation, so it cannot collide with a real term.
FTS_BREAK = "\ue000"

QUERY_LIMIT = 200  # characters of a query
# A run of letters or digits is indexed by its first TOKEN_LIMIT characters (queries are cut the
# same way): nobody searches for a longer one, and PostgreSQL refuses a lexeme over 2,047 bytes.
TOKEN_LIMIT = 64
WORD_LIMIT = 10  # words (phrases) in a query


def normalise(text: str) -> str:
    """Full-width forms to half-width, letters to lower case, compatibility characters folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def _bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


# An index term: (text, position). Bigrams are two Han characters; every other term is a run of
# letters or digits.
Term = tuple[str, int]


def document_terms(*parts: str) -> list[Term]:
    """Every index term of the given texts (title, body, …) with its position.

    Positions leave a gap after each run of Chinese characters and between the parts, so a phrase
    never spans a punctuation mark or two fields.
    """
    terms: list[Term] = []
    append = terms.append
    position = 1
    for part in parts:
        for match in _RUN.finditer(normalise(part)):
            run = match.group()
            if match.lastgroup == "han":
                for i in range(len(run) - 1):
                    append((run[i : i + 2], position + i))
                position += len(run)  # its bigrams, then a gap: the next run is not adjacent
            else:
                append((run[:TOKEN_LIMIT], position))
                position += 1
        position += 2
    return terms


def fts5_document(*parts: str) -> str:
    """The space-joined token string stored in the SQLite FTS5 table.

    FTS5 numbers tokens without gaps, so where the last bigram of one run could chain with the
    first of the next (…路灯，灯泡…), a filler token keeps the phrase 路灯泡 from matching.
    """
    out: list[str] = []
    extend, append = out.extend, out.append
    last = ""  # the previous run's last bigram, while no word token came after it
    for part in parts:
        for match in _RUN.finditer(normalise(part)):
            run = match.group()
            if match.lastgroup == "han":
                if len(run) < 2:
                    continue
                if last and last[1] == run[0]:
                    append(FTS_BREAK)
                extend([run[i : i + 2] for i in range(len(run) - 1)])
                last = run[-2:]
            else:
                append(run[:TOKEN_LIMIT])
                last = ""
    return " ".join(out)


def tsvector_document(*parts: str) -> str:
    """The tsvector literal (lexemes with positions) stored on PostgreSQL; parser-free.

    Terms are runs of ``[^\\W_]`` characters (no quote, no backslash), so each lexeme can be
    written between single quotes as it is.
    """
    positions: dict[str, list[str]] = {}
    get = positions.get
    for text, position in document_terms(*parts):
        found = get(text)
        # PostgreSQL stores at most 256 positions per lexeme, none above 16383.
        mark = str(position) if position < 16383 else "16383"
        if found is None:
            positions[text] = [mark]
        elif len(found) < 256:
            found.append(mark)
    return " ".join([f"'{text}':{','.join(marks)}" for text, marks in positions.items()])


def _quote_lexeme(text: str) -> str:
    # A tsquery literal: single quotes doubled, backslashes escaped. Query terms hold only word
    # characters too; this is a second line of defence for the one string built from user input.
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


# --- queries -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ParsedQuery:
    """A query as phrases of index terms; every phrase must occur."""

    phrases: tuple[tuple[str, ...], ...]
    # The words the phrases stand for, as the user will see them echoed back.
    words: tuple[str, ...]

    def fts5(self) -> str:
        """An FTS5 MATCH expression: quoted phrases joined by AND."""
        return " AND ".join(
            '"' + " ".join(t.replace('"', '""') for t in phrase) + '"' for phrase in self.phrases
        )

    def tsquery(self) -> str:
        """A tsquery literal: phrases with ``<->`` joined by ``&``."""
        return " & ".join(
            "(" + " <-> ".join(_quote_lexeme(t) for t in phrase) + ")" for phrase in self.phrases
        )


def _segment(run: str) -> list[str]:
    from textkit.segment import default_segmenter

    segmenter = default_segmenter()
    words: list[str] = []
    for word in segmenter.cut(run):
        # A long word kept whole (噪音扰民, 拖欠工资) is looked for as the two-character dictionary
        # words it is made of, so 噪音严重扰民 is found too; 公积金 or 停车难 stay whole.
        pieces = [word[i : i + 2] for i in range(0, len(word), 2)]
        if len(word) >= 4 and len(word) % 2 == 0 and all(map(segmenter.has_word, pieces)):
            words.extend(pieces)
        elif word.strip():
            words.append(word)
    return words


def _han_words(run: str) -> Iterator[tuple[str, bool]]:
    """Words of a run of Chinese characters: (word, True) for ≥ 2 characters, (char, False) for
    single characters; neighbouring single characters are joined back (水电 stays 水电)."""
    pending = ""
    for word in _segment(run):
        if len(word) >= 2:
            if len(pending) >= 2:
                yield pending, True
            elif pending:
                yield pending, False
            pending = ""
            yield word, True
        else:
            pending += word
    if len(pending) >= 2:
        yield pending, True
    elif pending:
        yield pending, False


def parse_query(query: str) -> ParsedQuery | None:
    """Parse a user's query; ``None`` when it is blank (no keyword filter).

    Raises ``ServiceError`` (422) for a query that is too long, has too many words, or has no
    word of two or more characters.
    """
    if len(query) > QUERY_LIMIT:
        raise ServiceError(
            _("关键词太长：最多 %(n)s 个字。") % {"n": QUERY_LIMIT},
            code="validation_error",
            status=422,
            detail=[{"field": "q", "message": _("关键词太长")}],
        )
    if not query.strip():
        return None
    phrases: list[tuple[str, ...]] = []
    words: list[str] = []
    singles: list[str] = []
    for chunk in normalise(query).split():
        latin: list[str] = []
        for match in _RUN.finditer(chunk):
            han = match.group("han")
            if han is None:
                latin.append(match.group("word")[:TOKEN_LIMIT])
                continue
            if latin:
                phrases.append(tuple(latin))
                words.append(" ".join(latin))
                latin = []
            for word, long_enough in _han_words(han):
                if long_enough:
                    phrases.append(tuple(_bigrams(word)))
                    words.append(word)
                else:
                    singles.append(word)
        if latin:
            phrases.append(tuple(latin))
            words.append(" ".join(latin))
    unique = list(dict.fromkeys(zip(phrases, words, strict=True)))
    if not unique:
        message = (
            _("请至少输入两个字的关键词，例如“停水”而不是“水”。")
            if singles
            else _("关键词里没有可以查找的文字。")
        )
        raise ServiceError(
            message,
            code="validation_error",
            status=422,
            detail=[{"field": "q", "message": message}],
        )
    if len(unique) > WORD_LIMIT:
        raise ServiceError(
            _("关键词太多：最多 %(n)s 个词。") % {"n": WORD_LIMIT},
            code="validation_error",
            status=422,
            detail=[{"field": "q", "message": _("关键词太多")}],
        )
    return ParsedQuery(phrases=tuple(p for p, _w in unique), words=tuple(w for _p, w in unique))
