"""Chinese word segmentation compatible with jieba's default precise mode.

The fast path is ``rjieba`` (Python binding of the Rust port jieba-rs): it embeds jieba's own
``dict.txt`` and HMM tables and runs the same DAG + maximum-probability route + Viterbi for unknown
words, about ten times faster than jieba on our messages. jieba-rs groups runs of ASCII letters,
digits and ``.-`` that jieba's HMM step splits (``2017.7.1-7.3`` is one token there, five in jieba),
so those tokens are split again with jieba's own rule; with that, its output matches jieba's on
real citizen messages and Weibo posts to well above 99 % of tokens (see the tests).

``backend="jieba"`` runs jieba itself (slow, the reference) for comparisons, and is used when
rjieba is not installed.

The user dictionary uses jieba's format, one entry a line: ``word [freq] [tag]``. Without a
frequency a word gets the smallest frequency that keeps it whole (jieba's ``suggest_freq``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "DEFAULT_USERDICT",
    "Segmenter",
    "UserDictError",
    "cut",
    "cut_many",
    "default_segmenter",
    "parse_userdict_line",
]

Backend = Literal["auto", "rjieba", "jieba"]

# jieba.finalseg.re_skip: how jieba splits a non-Han run inside an unknown-word buffer.
_RE_SKIP = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")
# jieba.re_userdict: word, optional frequency, optional tag.
# A token that jieba-rs keeps whole but jieba splits is an ASCII run holding one of these
# symbols next to another character of jieba's word class; texts without such a pair need no fix.
_SUSPECT = re.compile(r"[a-zA-Z0-9+#&._%\-][+#&._%\-]|[+#&._%\-][a-zA-Z0-9+#&._%\-]")
# A whole token of two or more ASCII characters among tokens joined by NUL.
_ASCII_TOKEN = re.compile(r"(?:^|(?<=\x00))([\x01-\x7f]{2,})(?=\x00|$)")
_RE_USERDICT = re.compile(r"^(.+?)( [0-9]+)?( [a-z]+)?$")


class UserDictError(ValueError):
    """A user dictionary line that cannot be read; the message names the source and line."""


def _shipped_userdict() -> Path:
    return Path(str(resources.files("textkit") / "data" / "userdict.txt"))


DEFAULT_USERDICT = _shipped_userdict()


def parse_userdict_line(line: str) -> tuple[str, int | None, str | None] | None:
    """Parse one jieba user-dictionary line; ``None`` for blank lines and ``#`` comments."""
    line = line.strip().lstrip("\ufeff")
    if not line or line.startswith("#"):
        return None
    match = _RE_USERDICT.match(line)
    if match is None:  # pragma: no cover - the pattern matches every non-empty line
        return None
    word, freq, tag = match.groups()
    return word.strip(), int(freq) if freq is not None else None, tag.strip() if tag else None


class Segmenter:
    """A jieba-compatible segmenter with its own dictionary state.

    Each instance owns its dictionary, so words added for one tenant or test do not leak into
    another. Not safe for concurrent ``add_word`` and ``cut`` from several threads.
    """

    def __init__(
        self,
        *,
        userdict: str | Path | Iterable[str] | None = DEFAULT_USERDICT,
        hmm: bool = True,
        backend: Backend = "auto",
    ) -> None:
        self.hmm = hmm
        self.backend = self._choose_backend(backend)
        self._impl: Any
        if self.backend == "rjieba":
            import rjieba

            self._impl = rjieba.Jieba()
        else:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            self._impl = jieba.Tokenizer()
            self._impl.initialize()
        self.user_words: dict[str, tuple[int | None, str | None]] = {}
        if userdict is not None:
            self.load_userdict(userdict)

    @staticmethod
    def _choose_backend(backend: Backend) -> Literal["rjieba", "jieba"]:
        if backend == "auto":
            try:
                import rjieba  # noqa: F401
            except ImportError:
                return "jieba"
            return "rjieba"
        if backend not in ("rjieba", "jieba"):
            raise ValueError(f"unknown segmenter backend {backend!r}: use 'rjieba' or 'jieba'")
        return backend

    # -- dictionary -------------------------------------------------------------------------

    def add_word(self, word: str, freq: int | None = None, tag: str | None = None) -> int:
        """Add (or re-weigh) a word; returns the frequency it was given."""
        word = word.strip()
        if not word or any(ch.isspace() for ch in word):
            raise ValueError(f"a dictionary word must be non-empty without spaces: {word!r}")
        if freq is not None and freq < 0:
            raise ValueError(f"frequency of {word!r} must not be negative: {freq}")
        self.user_words[word] = (freq, tag)
        if self.backend == "rjieba":
            return int(self._impl.add_word(word, freq, tag))
        self._impl.add_word(word, freq, tag)
        return int(self._impl.FREQ[word])

    def load_userdict(self, source: str | Path | Iterable[str]) -> int:
        """Load words in jieba's user-dictionary format from a file path or lines.

        Every line is parsed before any word is added, so a bad file changes nothing.
        Returns the number of entries added.
        """
        if isinstance(source, (str, Path)):
            path = Path(source)
            try:
                text = path.read_text(encoding="utf-8-sig")
            except FileNotFoundError as exc:
                raise UserDictError(f"user dictionary {path} does not exist") from exc
            except UnicodeDecodeError as exc:
                raise UserDictError(f"user dictionary {path} is not UTF-8: {exc}") from exc
            lines: Sequence[str] = text.splitlines()
            name = str(path)
        else:
            lines = list(source)
            name = "<lines>"
        entries = []
        for number, line in enumerate(lines, start=1):
            try:
                entry = parse_userdict_line(line)
            except ValueError as exc:  # pragma: no cover - the pattern only admits digits
                raise UserDictError(f"{name} line {number}: {exc}") from exc
            if entry is None:
                continue
            if any(ch.isspace() for ch in entry[0]):
                raise UserDictError(
                    f"{name} line {number}: {line.strip()!r} is not 'word [freq] [tag]' "
                    "(a word has no spaces, the tag is lower-case letters)"
                )
            entries.append(entry)
        for word, freq, tag in entries:
            self.add_word(word, freq, tag)
        return len(entries)

    def has_word(self, word: str) -> bool:
        if self.backend == "rjieba":
            return bool(self._impl.has_word(word))
        return bool(self._impl.FREQ.get(word))

    # -- cutting ----------------------------------------------------------------------------

    def cut(self, text: str) -> list[str]:
        """Segment one text the way ``jieba.lcut(text)`` does (precise mode)."""
        if self.backend == "jieba":
            return list(self._impl.cut(text, HMM=self.hmm))
        tokens: list[str] = self._impl.cut(text, self.hmm)
        if self.hmm and _SUSPECT.search(text) is not None:
            return self._split_ascii_runs(tokens)
        return tokens

    def cut_many(self, texts: Iterable[str]) -> list[list[str]]:
        """Segment a batch of texts."""
        if self.backend == "jieba":
            impl, hmm = self._impl, self.hmm
            return [list(impl.cut(t, HMM=hmm)) for t in texts]
        rcut = self._impl.cut
        if not self.hmm:
            return [rcut(t, False) for t in texts]
        suspect, fix = _SUSPECT.search, self._split_ascii_runs
        return [fix(rcut(t, True)) if suspect(t) else rcut(t, True) for t in texts]

    def _split_ascii_runs(self, tokens: list[str]) -> list[str]:
        # Candidates are ASCII tokens of two or more characters; one regex scan over the joined
        # tokens finds them, so a long text without any is returned without a Python loop.
        joined = "\x00".join(tokens)
        has_word = self._impl.has_word
        if joined.count("\x00") == len(tokens) - 1:
            bad = {
                tok
                for tok in (m.group(1) for m in _ASCII_TOKEN.finditer(joined))
                if not _RE_SKIP.fullmatch(tok) and not has_word(tok)
            }
            if not bad:
                return tokens
            out: list[str] = []
            for tok in tokens:
                if tok in bad:
                    out.extend(part for part in _RE_SKIP.split(tok) if part)
                else:
                    out.append(tok)
            return out
        out = []
        for tok in tokens:
            if len(tok) > 1 and tok.isascii() and not _RE_SKIP.fullmatch(tok) and not has_word(tok):
                out.extend(part for part in _RE_SKIP.split(tok) if part)
            else:
                out.append(tok)
        return out


_default: Segmenter | None = None


def default_segmenter() -> Segmenter:
    """The process-wide segmenter with the shipped user dictionary (built on first use)."""
    global _default
    if _default is None:
        _default = Segmenter()
    return _default


def cut(text: str) -> list[str]:
    """Segment ``text`` with the default segmenter."""
    return default_segmenter().cut(text)


def cut_many(texts: Iterable[str]) -> list[list[str]]:
    """Segment a batch with the default segmenter."""
    return default_segmenter().cut_many(texts)
