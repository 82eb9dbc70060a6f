"""The jurisdiction gazetteer: place names, unit names, topics and sensitive terms.

A file is either JSON ``{"places": [...], "units": [...], "topics": [...], "sensitive": [...]}``
or text with one term a line and a kind prefix: ``place:江岸区`` (also ``地名：``), ``unit:``
(``单位：``), ``topic:`` (``话题：``), ``sensitive:`` (``敏感词：``); ``#`` starts a comment.
Terms are matched after normalisation (NFKC, traditional → simplified, case folded), so
``武漢`` matches ``武汉``.

An item is relevant when it names a place, a unit or a topic. Sensitive terms alone do not make
an item ours; they raise the grade of events that are.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textkit.normalise import normalise

KINDS: tuple[str, ...] = ("place", "unit", "topic", "sensitive")
_PREFIXES: dict[str, str] = {
    "place": "place",
    "places": "place",
    "地名": "place",
    "地点": "place",
    "unit": "unit",
    "units": "unit",
    "单位": "unit",
    "topic": "topic",
    "topics": "topic",
    "话题": "topic",
    "sensitive": "sensitive",
    "敏感词": "sensitive",
    "敏感": "sensitive",
}


class GazetteerError(ValueError):
    """A gazetteer file a person has to fix; the message names the file and line."""


def _fold(term: str) -> str:
    return normalise(term).strip().casefold()


@dataclass
class Gazetteer:
    places: set[str] = field(default_factory=set)
    units: set[str] = field(default_factory=set)
    topics: set[str] = field(default_factory=set)
    sensitive: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._index: dict[str, list[tuple[str, str, str]]] | None = None

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Gazetteer:
        def terms(key: str) -> set[str]:
            value = data.get(key) or data.get(key.rstrip("s")) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise GazetteerError(f"gazetteer key {key!r} must be a list of strings")
            return {t.strip() for t in value if t.strip()}

        unknown = set(data) - set(_PREFIXES)
        if unknown:
            raise GazetteerError(
                f"unknown gazetteer key(s) {', '.join(sorted(unknown))}; "
                "use places, units, topics, sensitive"
            )
        return cls(terms("places"), terms("units"), terms("topics"), terms("sensitive"))

    @classmethod
    def from_lines(cls, lines: Iterable[str], *, name: str = "gazetteer") -> Gazetteer:
        g = cls()
        for number, raw in enumerate(lines, start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            head, sep, term = line.replace("：", ":").partition(":")
            kind = _PREFIXES.get(head.strip().casefold())
            if not sep or kind is None or not term.strip():
                raise GazetteerError(
                    f"{name} line {number}: expected 'place:', 'unit:', 'topic:' or "
                    f"'sensitive:' before the term, got {raw.strip()!r}"
                )
            g.terms_of(kind).add(term.strip())
        return g

    @classmethod
    def from_file(cls, path: str | Path) -> Gazetteer:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise GazetteerError(f"cannot read gazetteer {p}: {exc}") from exc
        if p.suffix.lower() == ".json" or text.lstrip().startswith("{"):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise GazetteerError(f"{p}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
            if not isinstance(data, dict):
                raise GazetteerError(f"{p}: expected a JSON object with places/units/topics")
            return cls.from_json(data)
        return cls.from_lines(text.splitlines(), name=str(p))

    def to_json(self) -> dict[str, list[str]]:
        return {
            "places": sorted(self.places),
            "units": sorted(self.units),
            "topics": sorted(self.topics),
            "sensitive": sorted(self.sensitive),
        }

    def terms_of(self, kind: str) -> set[str]:
        return {"place": self.places, "unit": self.units, "topic": self.topics}.get(
            kind, self.sensitive
        )

    # -- matching ---------------------------------------------------------------------------

    @property
    def scoped(self) -> bool:
        """True when the gazetteer names a jurisdiction (places, units or topics)."""
        return bool(self.places or self.units or self.topics)

    def _build(self) -> dict[str, list[tuple[str, str, str]]]:
        # First character → (folded term, kind), longest first: a scan tries only the terms that
        # can start at each position, so matching costs about one dict lookup per character.
        index: dict[str, list[tuple[str, str, str]]] = {}
        for kind in KINDS:
            for term in sorted(self.terms_of(kind)):
                folded = _fold(term)
                if folded:
                    index.setdefault(folded[0], []).append((folded, kind, term))
        for entries in index.values():
            entries.sort(key=lambda e: -len(e[0]))
        return index

    def invalidate(self) -> None:
        """Call after editing the term sets in place."""
        self._index = None

    def matches(self, text: str, *, normalised: bool = False) -> list[tuple[str, str]]:
        """(kind, term as written in the gazetteer) for every distinct term found in ``text``.

        Overlapping terms are all reported (``江岸区`` and ``江岸`` both match ``江岸区``).
        Pass ``normalised=True`` when ``text`` already went through textkit.normalise.
        """
        if self._index is None:
            self._index = self._build()
        index = self._index
        if not index:
            return []
        folded = (text if normalised else normalise(text)).casefold()
        found: dict[tuple[str, str], None] = {}
        for i, ch in enumerate(folded):
            entries = index.get(ch)
            if entries is None:
                continue
            for key, kind, term in entries:
                if folded.startswith(key, i):
                    found[(kind, term)] = None
        return list(found)

    def is_relevant(self, matched: list[tuple[str, str]]) -> bool:
        return not self.scoped or any(kind != "sensitive" for kind, _ in matched)
