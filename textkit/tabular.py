"""Reading and writing the tables people hand us: CSV in whatever encoding, and XLSX.

Offices export CSV from Excel in GBK as often as in UTF-8, and the file's name or a
``--encoding`` flag often says the wrong one. So the bytes decide: we try strict decodes in a
fixed order (UTF-8 with or without BOM, then GB18030, a superset of GBK/GB2312) and take the
first that succeeds. A strict decode either reads every byte or fails, so text is never
silently mangled; if nothing decodes, the error names the file and the first bad byte's line.

Everything that goes wrong with the input raises :class:`textkit.cli.UserError` with a message
naming the file, and where it applies the row and column.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from textkit.cli import UserError

# GB18030 accepts every GBK byte sequence, so one attempt covers GB2312, GBK and GB18030.
ENCODINGS_TO_TRY = ("utf-8-sig", "gb18030")
_ENCODING_ALIASES = {
    "utf8": "utf-8-sig",
    "utf-8": "utf-8-sig",
    "utf-8-sig": "utf-8-sig",
    "utf_8_sig": "utf-8-sig",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "gb18030": "gb18030",
    "cp936": "gb18030",
}
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls


@dataclass
class Table:
    """A read table: header in file order, rows as dicts of strings, and where each row came from.

    ``row_numbers[i]`` is the spreadsheet row of ``rows[i]`` (the header is row 1), so messages
    about a row point where a person would look in Excel.
    """

    path: Path
    fieldnames: list[str]
    rows: list[dict[str, str]]
    row_numbers: list[int] = field(default_factory=list)
    encoding: str = ""

    def require(self, columns: Iterable[str]) -> None:
        missing = [c for c in columns if c not in self.fieldnames]
        if missing:
            present = "、".join(self.fieldnames) if self.fieldnames else "(none)"
            names = ", ".join(repr(c) for c in missing)
            raise UserError(
                f"{self.path}: missing column {names}; the columns present are: {present}"
            )

    def column(self, name: str) -> list[str]:
        self.require([name])
        return [row[name] for row in self.rows]


def read_table(path: str | os.PathLike[str], columns: Sequence[str] = ()) -> list[dict[str, str]]:
    """Read a CSV or XLSX file into a list of dicts (all columns, header order, values as str).

    ``columns`` are required: a missing one is an error that lists the columns present. Empty
    cells are ``""``; fully empty rows are skipped.
    """
    return load_table(path, columns).rows


def load_table(
    path: str | os.PathLike[str],
    columns: Sequence[str] = (),
    *,
    encoding: str | None = None,
    sheet: str | None = None,
) -> Table:
    """Like :func:`read_table` but returns the :class:`Table` (header, row numbers, encoding).

    ``encoding`` is a hint tried first; if it does not decode the file strictly, the usual
    detection order is tried, because a wrong declaration is the common case.
    ``sheet`` picks an XLSX worksheet by name (default: the first).
    """
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: no such file")
    if p.is_dir():
        raise UserError(f"{p}: is a folder, expected a .csv or .xlsx file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise UserError(f"{p}: cannot read ({exc.strerror or exc})") from exc
    if data.startswith(_OLE_MAGIC):
        raise UserError(f"{p}: legacy .xls files are not supported; save it as .xlsx or CSV")
    if data.startswith(_ZIP_MAGIC):
        table = _read_xlsx(p, data, sheet)
    else:
        if sheet is not None:
            raise UserError(f"{p}: --sheet applies only to .xlsx files, this is a CSV file")
        table = _read_csv(p, data, encoding)
    table.require(columns)
    return table


def decode_bytes(data: bytes, *, source: str = "input", hint: str | None = None) -> tuple[str, str]:
    """Decode text strictly; returns ``(text, encoding)``. Raises UserError if nothing fits."""
    order: list[str] = []
    if hint:
        order.append(_ENCODING_ALIASES.get(hint.lower().replace("_", "-"), hint))
    order += [e for e in ENCODINGS_TO_TRY if e not in order]
    # UTF-16 is what Excel's "Unicode text" export produces; only a BOM makes it recognisable.
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        order.insert(0, "utf-16")
    first_error: UnicodeDecodeError | None = None
    for enc in order:
        try:
            return data.decode(enc, errors="strict"), enc
        except LookupError as exc:
            raise UserError(f"{source}: unknown encoding {hint!r}") from exc
        except UnicodeDecodeError as exc:
            first_error = first_error or exc
    assert first_error is not None
    line = data.count(b"\n", 0, first_error.start) + 1
    raise UserError(
        f"{source}: not valid text in any of {', '.join(order)} "
        f"(first undecodable byte at line {line}, byte offset {first_error.start})"
    )


def _clean_header(names: Sequence[Any], path: Path) -> list[str]:
    header = [("" if n is None else str(n)).strip().lstrip("\ufeff").strip() for n in names]
    while header and header[-1] == "":
        header.pop()
    seen: set[str] = set()
    for i, name in enumerate(header):
        if name == "":
            raise UserError(f"{path}: header cell {i + 1} is empty; every column needs a name")
        if name in seen:
            raise UserError(f"{path}: column {name!r} appears twice in the header")
        seen.add(name)
    return header


def _guess_delimiter(text: str, path: Path) -> str:
    # csv.Sniffer guesses badly on Chinese prose (it likes "；" neighbours and quotes inside
    # cells), so only the header line votes; comma wins ties because it is by far the commonest.
    if path.suffix.lower() == ".tsv":
        return "\t"
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _read_csv(path: Path, data: bytes, hint: str | None) -> Table:
    text, enc = decode_bytes(data, source=str(path), hint=hint)
    if "\x00" in text:
        raise UserError(f"{path}: contains NUL bytes; this does not look like a CSV text file")
    delimiter = _guess_delimiter(text, path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        raw_header = next(reader)
    except StopIteration:
        raise UserError(f"{path}: the file is empty (no header row)") from None
    except csv.Error as exc:
        raise UserError(f"{path}: row 1 is not valid CSV ({exc})") from exc
    header = _clean_header(raw_header, path)
    if not header:
        raise UserError(f"{path}: the header row is empty")
    width = len(header)
    rows: list[dict[str, str]] = []
    numbers: list[int] = []
    record = 1
    try:
        for cells in reader:
            record += 1
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                raise UserError(
                    f"{path}: row {record} (line {reader.line_num}) has {len(cells)} cells "
                    f"but the header has {width} columns"
                )
            cells = cells[:width] + [""] * (width - len(cells))
            rows.append(dict(zip(header, cells, strict=True)))
            numbers.append(record)
    except csv.Error as exc:
        raise UserError(
            f"{path}: row {record + 1} (line {reader.line_num}) is not valid CSV ({exc})"
        ) from exc
    return Table(path=path, fieldnames=header, rows=rows, row_numbers=numbers, encoding=enc)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        # Excel stores ids as floats; "95823.0" would not match the id elsewhere.
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _read_xlsx(path: Path, data: bytes, sheet: str | None) -> Table:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise UserError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
    try:
        if sheet is not None:
            if sheet not in wb.sheetnames:
                raise UserError(
                    f"{path}: no worksheet {sheet!r}; sheets: {'、'.join(wb.sheetnames)}"
                )
            ws = wb[sheet]
        else:
            ws = wb.worksheets[0]
        header: list[str] | None = None
        rows: list[dict[str, str]] = []
        numbers: list[int] = []
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = _clean_header(cells, path)
                continue
            width = len(header)
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                raise UserError(
                    f"{path}: row {number} has a value beyond the last named column "
                    f"({width} columns in the header)"
                )
            cells = cells[:width] + [""] * (width - len(cells))
            rows.append(dict(zip(header, cells, strict=True)))
            numbers.append(number)
    finally:
        wb.close()
    if header is None:
        raise UserError(f"{path}: the worksheet is empty (no header row)")
    return Table(path=path, fieldnames=header, rows=rows, row_numbers=numbers, encoding="xlsx")


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str],
    mode: str = "w",
    *,
    encoding: str | None = "utf-8",
    newline: str | None = None,
) -> Iterator[IO[Any]]:
    """Open a temp file beside ``path``; on success it replaces ``path``, on error it vanishes.

    The temp file lives in the same folder so ``os.replace`` is an atomic rename.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"{target}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        if "b" in mode:
            fh: IO[Any] = os.fdopen(fd, mode)
        else:
            fh = os.fdopen(fd, mode, encoding=encoding, newline=newline)
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_csv_atomic(
    path: str | os.PathLike[str],
    rows: Iterable[Mapping[str, Any]],
    fieldnames: Sequence[str],
    *,
    bom: bool = False,
) -> int:
    """Write rows as UTF-8 CSV atomically; returns the number of rows written.

    ``bom=True`` adds a UTF-8 BOM, which makes Excel on Windows open the file as UTF-8.
    A row with a key not in ``fieldnames`` is a programming error (ValueError), and nothing
    is written.
    """
    count = 0
    with atomic_open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(fieldnames), extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
            count += 1
    return count
