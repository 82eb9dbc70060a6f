"""JSONL and CSV exports of posts from social platforms.

Each line (JSONL) or row (CSV) is one post. Columns are found by name: ``id``, ``time``, ``text``
and optionally ``title``, ``url``, ``author``, ``parent_id``, ``reach``, under the usual names
platform exports use (``mid``, ``created_at``, ``content``, ``parent_mid`` …, see ALIASES), or as
the source's ``field_map`` says (``{"id": "event_id"}``). Without a ``reach`` column, reposts +
comments + likes count as reach when present.

A bad line is reported with its line number and the reason and skipped; the rest are taken. Ids
are the platform's own, prefixed with the source's name (so are parent ids, which therefore still
point at their parent). A file is read as UTF-8 (with or without BOM), else as GB18030 (Excel's
exports on Chinese Windows); a file in neither has each undecodable line reported.

As a polled source (``path`` on the server), the state keeps how many records were read, so a
file that grows is read from where the last poll stopped; a file that shrank is read again.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sources.plugins.base import (
    Fetcher,
    FetchError,
    FetchResult,
    ItemDict,
    Progress,
    SourceConfig,
    parse_time,
)

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_TEXT = 20_000
MAX_ID = 128  # the platform's id; with the source name in front it stays within 200
RECORDS_PER_POLL = 200_000
PROBLEMS_KEPT = 200  # a file with a million bad lines keeps the first ones and a count

ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "mid", "post_id", "weibo_id", "idstr", "编号", "微博id"),
    "time": (
        "time",
        "created_at",
        "date",
        "publish_time",
        "pub_time",
        "timestamp",
        "发布时间",
        "时间",
    ),
    "text": ("text", "content", "body", "正文", "内容", "微博正文"),
    "title": ("title", "标题"),
    "url": ("url", "link", "链接"),
    "author": ("author", "screen_name", "nickname", "user", "uid_hash", "作者", "用户"),
    "parent_id": ("parent_id", "parent_mid", "retweet_id", "repost_of", "reply_to", "父id"),
    "reach": ("reach", "传播量"),
}
REACH_PARTS = (
    ("reposts", "reposts_count", "转发数"),
    ("comments", "comments_count", "评论数"),
    ("likes", "attitudes_count", "点赞数"),
)
FIELDS = tuple(ALIASES)


class RecordError(ValueError):
    """One record that cannot be taken; the message names the field."""


def _pick(record: Mapping[str, Any], field: str, field_map: Mapping[str, str]) -> Any:
    if field in field_map:
        return record.get(field_map[field])
    for name in ALIASES[field]:
        if name in record and record[name] not in (None, ""):
            return record[name]
    return None


def _as_str(value: Any, field: str) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):  # a platform's user object
        for key in ("screen_name", "name", "nickname", "id"):
            if value.get(key):
                return str(value[key]).strip()
        return ""
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value).strip()
    raise RecordError(f"{field} should be text, not {type(value).__name__}")


def _count(value: Any, field: str) -> int:
    if value in (None, ""):
        return 0
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        raise RecordError(f"{field} should be a whole number, not {value!r}") from None
    if number < 0:
        raise RecordError(f"{field} cannot be negative ({number})")
    return number


def to_item(record: Any, source_name: str, field_map: Mapping[str, str]) -> ItemDict:
    """The item for one exported record. Raises RecordError with a sentence."""
    if not isinstance(record, dict):
        raise RecordError(f"a record should be an object, not {type(record).__name__}")
    raw_id = _as_str(_pick(record, "id", field_map), "id")
    if not raw_id:
        raise RecordError("id is missing")
    if len(raw_id) > MAX_ID:
        raise RecordError(f"id is longer than {MAX_ID} characters")
    try:
        when = parse_time(_pick(record, "time", field_map))
    except ValueError as exc:
        raise RecordError(f"time: {exc}") from None
    text = _as_str(_pick(record, "text", field_map), "text")
    parent = _as_str(_pick(record, "parent_id", field_map), "parent_id")
    if not text and not parent:
        raise RecordError("text is empty and no parent_id says what it reposts")
    if len(text) > MAX_TEXT:
        raise RecordError(f"text is longer than {MAX_TEXT} characters")
    reach_value = _pick(record, "reach", field_map)
    if reach_value in (None, ""):
        reach = sum(
            _count(next((record[n] for n in names if n in record), None), names[0])
            for names in REACH_PARTS
        )
    else:
        reach = _count(reach_value, "reach")
    return ItemDict(
        id=f"{source_name}:{raw_id}",
        time=when,
        text=text,
        title=_as_str(_pick(record, "title", field_map), "title"),
        source=source_name,
        url=_as_str(_pick(record, "url", field_map), "url"),
        author=_as_str(_pick(record, "author", field_map), "author"),
        parent_id=f"{source_name}:{parent}" if parent else None,
        reach=reach,
    )


def file_format(name: str, data: bytes, configured: str = "") -> str:
    if configured in {"jsonl", "csv"}:
        return configured
    lowered = name.lower()
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lowered.endswith((".csv", ".tsv")):
        return "csv"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "jsonl" if head in {b"{", b"["} else "csv"


def _decoded_lines(data: bytes) -> Iterator[tuple[int, str | None, str]]:
    """(line number, text or None, error) for each line; whole-file UTF-8, else GB18030, else
    line by line so one bad line does not lose the file."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    for encoding in ("utf-8", "gb18030"):
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(keepends=True), 1):
            yield number, line, ""
        return
    for number, raw in enumerate(body.splitlines(keepends=True), 1):
        try:
            yield number, raw.decode("utf-8"), ""
        except UnicodeDecodeError as exc:
            yield number, None, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"


def records(data: bytes, fmt: str) -> Iterator[tuple[int, Any, str]]:
    """(line number, record or None, error) for each record of the file."""
    if fmt == "jsonl":
        for number, line, error in _decoded_lines(data):
            if line is None:
                yield number, None, error
                continue
            if not line.strip():
                continue
            try:
                yield number, json.loads(line), ""
            except json.JSONDecodeError as exc:
                yield number, None, f"not valid JSON ({exc.msg} at column {exc.colno})"
        return
    undecodable: dict[int, str] = {}
    good: list[str] = []
    numbers: list[int] = []
    for number, line, error in _decoded_lines(data):
        if line is None:
            undecodable[number] = error
            continue
        good.append(line)
        numbers.append(number)
    for number, error in undecodable.items():
        yield number, None, error
    sample = "".join(good[:5])
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(io.StringIO("".join(good), newline=""), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return
    except csv.Error as exc:
        yield 1, None, f"the header row cannot be read: {exc}"
        return
    if len(set(header)) != len(header):
        yield numbers[0] if numbers else 1, None, "the header row names a column twice"
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            at = numbers[min(reader.line_num, len(numbers)) - 1] if numbers else reader.line_num
            yield at, None, f"not a valid CSV row ({exc})"
            continue
        # reader.line_num counts physical lines read so far: the row's last line.
        at = numbers[reader.line_num - 1] if reader.line_num - 1 < len(numbers) else reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield at, None, f"has {len(row)} columns, the header has {len(header)}"
            continue
        yield at, dict(zip(header, row, strict=True)), ""


def parse(
    data: bytes,
    *,
    name: str,
    source: SourceConfig,
    skip: int = 0,
    limit: int | None = None,
    progress: Progress | None = None,
) -> tuple[list[ItemDict], list[dict[str, Any]], int]:
    """Items and problems of a whole file; records before ``skip`` are passed over. Returns the
    items, the bad lines ({"line", "reason", "message"}) and the records read in all."""
    fmt = file_format(name, data, source.file_format)
    items: list[ItemDict] = []
    problems: list[dict[str, Any]] = []
    bad = 0
    count = 0
    for number, record, error in records(data, fmt):
        count += 1
        if count <= skip:
            continue
        if limit is not None and count > skip + limit:
            count -= 1
            break
        if progress is not None and count % 1000 == 0:
            progress(count, None)
        if record is not None:
            try:
                items.append(to_item(record, source.name, source.field_map))
                continue
            except RecordError as exc:
                error = str(exc)
        bad += 1
        if len(problems) < PROBLEMS_KEPT:
            problems.append({"line": number, "reason": "malformed", "message": error})
    if bad > len(problems):
        problems.append(
            {
                "line": None,
                "reason": "malformed",
                "message": f"and {bad - len(problems)} more bad lines",
            }
        )
    if progress is not None:
        progress(count, count)
    return items, problems, count


def read_file(path: str) -> tuple[bytes, os.stat_result]:
    file = Path(path)
    try:
        stat = file.stat()
        if stat.st_size > MAX_FILE_BYTES:
            raise FetchError(
                "too_large", f"{path} is {stat.st_size} bytes, over the limit of {MAX_FILE_BYTES}"
            )
        return file.read_bytes(), stat
    except OSError as exc:
        raise FetchError("file_missing", f"{path} cannot be read: {exc.strerror or exc}") from exc


class ImportFetcher(Fetcher):
    """A file on the server, read again on each poll from where the last one stopped."""

    kind = "import"

    def fetch(
        self, source: SourceConfig, state: Mapping[str, Any], *, progress: Progress | None = None
    ) -> FetchResult:
        if not source.path:
            raise FetchError(
                "bad_config", "an import source polled on a schedule needs a file path"
            )
        data, stat = read_file(source.path)
        if data and not data.endswith(b"\n") and time.time() - stat.st_mtime < 60:
            # Still being written: the last line may be half there. It is read next poll.
            data = data[: data.rfind(b"\n") + 1]
        skip = int(state.get("records", 0))
        if stat.st_size < int(state.get("size", 0)):
            skip = 0  # the file was replaced by a shorter one: read it all again
        items, problems, count = parse(
            data,
            name=source.path,
            source=source,
            skip=skip,
            limit=RECORDS_PER_POLL,
            progress=progress,
        )
        return FetchResult(
            items, {**state, "records": count, "size": stat.st_size}, problems=problems
        )
