"""Split a pasted draft into articles (第X条) under their chapters (第X章). Plain Python.

Chinese regulations number chapters and articles with Chinese numerals (第十二条) or digits
(第12条); a heading starts a line. Text before the first article (title, 说明) is kept as a
preamble with an empty heading. Sections (第X节) are treated as part of their chapter's label.
The organiser corrects the result by hand afterwards (``consult.drafts.update_article``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NUMERAL = r"[一二三四五六七八九十百千零〇两\d０-９]+"
_CHAPTER = re.compile(rf"^\s*(第{NUMERAL}[章节])\s*(.*)$")
_ARTICLE = re.compile(rf"^\s*(第{NUMERAL}条)[\s　]*(.*)$")


@dataclass(frozen=True)
class Piece:
    chapter: str
    heading: str
    text: str


def split(body: str) -> list[Piece]:
    """The articles of ``body`` in order; never empty for a non-blank body."""
    pieces: list[Piece] = []
    chapter = ""
    heading = ""
    lines: list[str] = []

    def flush() -> None:
        text = "\n".join(line for line in lines if line.strip()).strip()
        if text or heading:
            pieces.append(Piece(chapter=chapter_at_start, heading=heading, text=text))

    chapter_at_start = ""
    for raw in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if match := _CHAPTER.match(line):
            flush()
            lines, heading = [], ""
            label = f"{match.group(1)} {match.group(2).strip()}".strip()
            chapter = f"{chapter.split(' ')[0]} {label}" if "节" in match.group(1) else label
            chapter_at_start = chapter
            continue
        if match := _ARTICLE.match(line):
            flush()
            heading, lines = match.group(1), [match.group(2)]
            chapter_at_start = chapter
            continue
        lines.append(line)
    flush()
    return pieces
