"""The project's segmenter: textkit's shipped dictionary + unit names + the admins' words.

Building a segmenter costs a few hundred milliseconds, so each process keeps one and checks a
version number in the shared cache at most every ``CHECK_EVERY`` seconds; an edit in the admin
bumps the version, and every process rebuilds on its next use. Words cannot be removed from a
built segmenter, which is why a change rebuilds instead of patching.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.cache import cache
from django.db import transaction

from audit.services import record
from lexicon.models import Word, validate_tag, validate_word
from textkit.segment import Segmenter, UserDictError, parse_userdict_line

VERSION_KEY = "lexicon:version"
CHECK_EVERY = 5.0

_lock = threading.Lock()
_built: Segmenter | None = None
_built_version: object = None
_checked_at = 0.0


def bump_version() -> None:
    cache.set(VERSION_KEY, time.time_ns(), timeout=None)


def _current_version() -> object:
    return cache.get(VERSION_KEY, 0)


def dictionary_lines() -> list[str]:
    """The extra words in jieba's user-dictionary format: unit names first, then admin words
    (an admin word overrides a unit name's frequency or tag)."""
    from org.models import Unit

    lines = [name for name in Unit.objects.values_list("name", flat=True) if " " not in name]
    for word, freq, tag in Word.objects.filter(active=True).values_list("word", "freq", "tag"):
        lines.append(" ".join(str(part) for part in (word, freq, tag) if part not in (None, "")))
    return lines


def segmenter() -> Segmenter:
    """The segmenter every part of minsheng that reads Chinese should use."""
    global _built, _built_version, _checked_at
    now = time.monotonic()
    if _built is not None and now - _checked_at < CHECK_EVERY:
        return _built
    with _lock:
        version = _current_version()
        _checked_at = now
        if _built is None or version != _built_version:
            fresh = Segmenter()
            fresh.load_userdict(dictionary_lines())
            _built, _built_version = fresh, version
        return _built


def cut(text: str) -> list[str]:
    return segmenter().cut(text)


def forget() -> None:
    """Drop this process's segmenter (tests; after loading words outside the ORM)."""
    global _built, _built_version, _checked_at
    with _lock:
        _built, _built_version, _checked_at = None, None, 0.0


class DictionaryFileError(ValueError):
    """A dictionary file that cannot be imported; ``errors`` lists (line, message)."""

    def __init__(self, errors: Sequence[tuple[int, str]]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"line {n}: {m}" for n, m in self.errors[:10]))


def import_lines(actor: object, lines: Iterable[str], *, source: str = "") -> tuple[int, int]:
    """Add or update words from jieba user-dictionary lines, all or nothing.

    Returns (added, updated). Every line is checked before anything is written.
    """
    from django.core.exceptions import ValidationError

    entries: dict[str, tuple[int | None, str]] = {}
    errors: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        try:
            parsed = parse_userdict_line(line)
        except (UserDictError, ValueError) as exc:
            errors.append((number, str(exc)))
            continue
        if parsed is None:
            continue
        word, freq, tag = parsed
        try:
            validate_word(word)
            validate_tag(tag or "")
        except ValidationError as exc:
            errors.append((number, f"{line.strip()!r}: {' '.join(exc.messages)}"))
            continue
        entries[word] = (freq, tag or "")
    if errors:
        raise DictionaryFileError(errors)
    added = updated = 0
    with transaction.atomic():
        for word, (freq, tag) in entries.items():
            _word, created = Word.objects.update_or_create(
                word=word,
                defaults={"freq": freq, "tag": tag, "active": True},
                create_defaults={"freq": freq, "tag": tag, "added_by": _user(actor)},
            )
            added += created
            updated += not created
        record(
            actor,
            "lexicon.import",
            None,
            after={"source": source, "added": added, "updated": updated},
        )
    return added, updated


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None
