"""Bulk import of historical appeals from the tables agencies export (XLSX or CSV).

The layouts are those of real message-board exports (the 2020 泰迪杯 C data is one): 附件2
(留言编号, 留言用户, 留言主题, 留言时间, 留言详情, 一级标签), 附件3 (the same five plus 点赞数,
反对数) and 附件4 (the same five plus 答复意见, 答复时间). Columns are found by their header
name, with aliases, never by position; order and extra columns do not matter.

All or nothing, in two passes:

1. **Read and check** every row (no database): required cells, lengths, times, counts, ids
   repeated inside the file. Then the database checks: an id already imported with different
   content, the categories named by 一级标签.
2. **Write**, only when no row failed, in one transaction: appeals with ``bulk_create`` in
   batches, their public codes (``MS-<year>-<id>``, as :func:`appeals.services.do_submit` forms
   them), an ``import`` event per appeal (and a ``reply`` event and a :class:`Reply` for answered
   rows), and one audit entry for the whole file. An exception anywhere rolls everything back.

Re-running a file is harmless: a row whose id was already imported with the same subject, text
and time is skipped and counted as such; the same id with different content is an error.

:func:`read_file` is also what ``minsheng appeals hot --input`` uses, so both commands accept the
same files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from appeals import clock
from appeals.models import TEXT_LIMIT, TITLE_LIMIT, Appeal, AppealEvent, Channel, Reply, State
from audit.services import record
from org.calendar import CALENDAR_TZ
from org.models import Category, Unit
from textkit.cli import UserError
from textkit.tabular import load_table

T = TypeVar("T")

# Fields of an import row and the header names that mean them (compared without whitespace and
# case). The first name is the one the 附件 layouts use and the one error messages show.
ALIASES: dict[str, tuple[str, ...]] = {
    "external_ref": ("留言编号", "编号", "留言id", "工单编号", "诉求编号", "id"),
    "user": ("留言用户", "用户", "留言人", "用户名", "网友"),
    "title": ("留言主题", "主题", "标题", "诉求主题"),
    "created": ("留言时间", "时间", "提交时间", "受理时间", "来电时间"),
    "text": ("留言详情", "详情", "留言内容", "内容", "诉求内容"),
    "category": ("一级标签", "一级分类", "分类", "类别"),
    "likes": ("点赞数", "点赞", "附议数", "支持数"),
    "dislikes": ("反对数", "反对"),
    "reply": ("答复意见", "答复内容", "回复内容", "回复意见"),
    "replied_at": ("答复时间", "回复时间"),
    "address": ("地址", "事发地址", "诉求地址"),
}
BASE_COLUMNS = ("external_ref", "title", "created", "text")
LAYOUTS: dict[str, tuple[str, ...]] = {
    "auto": BASE_COLUMNS,
    "attachment2": (*BASE_COLUMNS, "category"),
    "attachment3": (*BASE_COLUMNS, "likes"),
    "attachment4": (*BASE_COLUMNS, "reply", "replied_at"),
}
EXTERNAL_REF_LIMIT = 64  # Appeal.external_ref
SUBMITTER_LIMIT = 64  # Appeal.contact_name
ADDRESS_LIMIT = 255
BATCH = 1000
# Excel's serial day numbers count from 1899-12-30 (the 1900 leap-year bug included); the range
# accepted covers 1954–2119, so an ordinary number in a time column is not read as a date.
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # noqa: DTZ001 - Excel serials are wall-clock days
_EXCEL_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_LOOSE_TIME = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2})\s*[:：时]\s*(\d{1,2})\s*分?(?:\s*[:：]?\s*(\d{1,2})(?:\.\d+)?\s*秒?)?)?$"
)
_WHOLE_FLOAT = re.compile(r"^(\d+)\.0+$")
# Scraped bodies are framed by runs of tabs and newlines; \u3000 indents paragraphs.
_LINE_EDGE = " \t\r\f\v\u3000\xa0"


class ImportFileError(Exception):
    """The file as a whole cannot be read (missing, unreadable, a required column absent)."""


@dataclass(frozen=True)
class RowError:
    """One problem with one cell: spreadsheet row (header = row 1), column as headed, message."""

    row: int
    column: str
    message: str

    def line(self) -> str:
        return _("第 %(row)s 行\t%(column)s\t%(message)s") % {
            "row": self.row,
            "column": self.column or "—",
            "message": self.message,
        }


@dataclass
class ImportRow:
    number: int
    external_ref: str
    user: str
    title: str
    text: str
    created: dt.datetime
    category_label: str = ""
    likes: int = 0
    dislikes: int = 0
    reply: str = ""
    replied_at: dt.datetime | None = None
    address: str = ""


@dataclass
class ParsedFile:
    path: Path
    sha256: str
    encoding: str
    layout: str
    columns: dict[str, str]  # field → header as written in the file
    total: int
    rows: list[ImportRow]
    errors: list[RowError] = field(default_factory=list)

    def header(self, name: str) -> str:
        return self.columns.get(name, ALIASES[name][0])


@dataclass
class ImportResult:
    path: Path
    sha256: str
    layout: str
    encoding: str
    total: int
    created: int = 0
    skipped: int = 0
    replied: int = 0
    dry_run: bool = False
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    first_code: str = ""
    last_code: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.errors:
            rows = len({e.row for e in self.errors})
            return _("导入失败：%(rows)s 行有错误（共 %(n)s 处），未导入任何诉求。") % {
                "rows": rows,
                "n": len(self.errors),
            }
        if self.dry_run:
            return _(
                "检查通过（试运行）：共 %(total)s 行，将新导入 %(new)s 条，"
                "%(skipped)s 条此前已导入；未写入数据库。"
            ) % {"total": self.total, "new": self.total - self.skipped, "skipped": self.skipped}
        if not self.created:
            return _("没有新的诉求：共 %(total)s 行，全部此前已导入（按留言编号）。") % {
                "total": self.total
            }
        codes = f" {self.first_code} … {self.last_code}" if self.first_code else ""
        return _(
            "已导入 %(created)s 条诉求（其中 %(replied)s 条含答复）%(codes)s，"
            "%(skipped)s 条此前已导入而跳过。"
        ) % {
            "created": self.created,
            "replied": self.replied,
            "codes": codes,
            "skipped": self.skipped,
        }


class ImportRejected(Exception):
    """Some row failed: nothing was written. ``result.errors`` names every row and column."""

    def __init__(self, result: ImportResult) -> None:
        super().__init__(result.summary())
        self.result = result


# --- cells -------------------------------------------------------------------------------------
def _norm_header(name: str) -> str:
    return re.sub(r"\s+", "", name).lower()


def one_line(value: str) -> str:
    """A single-line cell: every run of whitespace (tabs, newlines, \\u3000, \\xa0) → one space."""
    return " ".join(value.split())


def clean_text(value: str) -> str:
    """A multi-line cell: lines trimmed of the scraped tabs and indents, blank lines dropped."""
    lines = (line.strip(_LINE_EDGE) for line in value.replace("\r\n", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def clean_ref(value: str) -> str:
    """An id cell: no whitespace at all, and Excel's ``24.0`` read back as ``24``."""
    ref = "".join(value.split())
    match = _WHOLE_FLOAT.match(ref)
    return match.group(1) if match else ref


def parse_time(value: str) -> dt.datetime | None:
    """An export's time as an aware time in Asia/Shanghai, or None if it cannot be read.

    Accepts ``2019-04-25 09:32:09``, ``2019/4/25 9:32:09``, ``2019年4月25日 9时32分``, dates
    without a time (midnight), ISO 8601 with a zone, and Excel serial numbers (an XLSX time cell
    that lost its date format). Times without a zone are Beijing wall-clock time.
    """
    text = one_line(value)
    if not text:
        return None
    when: dt.datetime | None = None
    if _EXCEL_SERIAL.match(text):
        serial = float(text)
        if 20000 <= serial < 80000:
            # Rounded to the second: Excel keeps fractions of a day in binary floating point.
            when = _EXCEL_EPOCH + dt.timedelta(seconds=round(serial * 86400))
    if when is None:
        try:
            when = dt.datetime.fromisoformat(text)
        except ValueError:
            match = _LOOSE_TIME.match(text)
            if match is None:
                return None
            y, mo, d, h, mi, sec = (int(p) if p else 0 for p in match.groups())
            try:
                when = dt.datetime(y, mo, d, h, mi, sec)  # noqa: DTZ001 - made aware below
            except ValueError:
                return None
    if when.tzinfo is None:
        return when.replace(tzinfo=CALENDAR_TZ)
    return when.astimezone(CALENDAR_TZ)


def parse_count(value: str) -> int | None:
    """A like count: blank → 0, ``12`` or ``12.0`` → 12; anything else → None."""
    text = "".join(value.split()).replace(",", "")
    if not text:
        return 0
    match = _WHOLE_FLOAT.match(text)
    if match:
        text = match.group(1)
    return int(text) if text.isdigit() else None


def _title_from(text: str) -> str:
    # The same rule as web intake (appeals.services): the first line, at most 30 characters.
    return text.splitlines()[0][:30] if text else ""


# --- reading -----------------------------------------------------------------------------------
def _match_columns(fieldnames: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """field → header for the columns present; problems (two columns meaning one field)."""
    by_norm = {_norm_header(name): name for name in fieldnames}
    found: dict[str, str] = {}
    problems: list[str] = []
    for name, aliases in ALIASES.items():
        present = [by_norm[a] for a in (_norm_header(a) for a in aliases) if a in by_norm]
        if len(present) > 1:
            problems.append(
                _("列“%(a)s”和“%(b)s”都表示%(what)s，只能保留一列")
                % {"a": present[0], "b": present[1], "what": aliases[0]}
            )
        if present:
            found[name] = present[0]
    return found, problems


def detect_layout(columns: Iterable[str]) -> str:
    have = set(columns)
    if {"reply", "replied_at"} <= have:
        return "attachment4"
    if "likes" in have:
        return "attachment3"
    if "category" in have:
        return "attachment2"
    return "basic"


def read_file(
    path: str | Path,
    *,
    layout: str = "auto",
    encoding: str | None = None,
    limits: bool = True,
    progress: bool = False,
) -> ParsedFile:
    """Read and check every row of an export, without the database.

    ``limits=False`` skips the checks that only matter for storing appeals (text and title
    lengths, times in the future), for reading a file to analyse it (``appeals hot --input``).
    Raises :class:`ImportFileError` when the file itself cannot be used; row problems are
    collected in ``ParsedFile.errors``.
    """
    if layout not in LAYOUTS:
        raise ImportFileError(_("未知的格式“%(layout)s”") % {"layout": layout})
    p = Path(path)
    try:
        table = load_table(p, encoding=encoding)
    except UserError as exc:
        raise ImportFileError(_("无法读取文件：%(reason)s") % {"reason": exc}) from exc
    columns, problems = _match_columns(table.fieldnames)
    if problems:
        raise ImportFileError("；".join(problems))
    missing = [ALIASES[f][0] for f in LAYOUTS[layout] if f not in columns]
    if ("reply" in columns) != ("replied_at" in columns):
        missing.append(ALIASES["replied_at" if "reply" in columns else "reply"][0])
    if missing:
        raise ImportFileError(
            _("%(file)s 缺少必需的列：%(missing)s（文件中的列：%(present)s）")
            % {
                "file": p.name,
                "missing": "、".join(missing),
                "present": "、".join(table.fieldnames) or "—",
            }
        )
    parsed = ParsedFile(
        path=p,
        sha256=hashlib.sha256(p.read_bytes()).hexdigest(),
        encoding=table.encoding,
        layout=detect_layout(columns) if layout == "auto" else layout,
        columns=columns,
        total=len(table.rows),
        rows=[],
    )
    now = timezone.now()
    first_row_of: dict[str, int] = {}
    numbers = table.row_numbers or list(range(2, len(table.rows) + 2))
    cells = zip(table.rows, numbers, strict=True)
    for raw, number in _bar(cells, progress, total=len(table.rows), desc=_("检查")):
        row, errors = _parse_row(raw, number, parsed, now=now, limits=limits)
        ref = clean_ref(raw.get(columns["external_ref"], ""))
        if ref:
            first = first_row_of.setdefault(ref, number)
            if first != number:
                errors.append(
                    RowError(
                        number,
                        parsed.header("external_ref"),
                        _("留言编号“%(ref)s”与第 %(first)s 行重复") % {"ref": ref, "first": first},
                    )
                )
        parsed.errors.extend(errors)
        if row is not None and not errors:
            parsed.rows.append(row)
    return parsed


def _parse_row(
    raw: dict[str, str], number: int, parsed: ParsedFile, *, now: dt.datetime, limits: bool
) -> tuple[ImportRow | None, list[RowError]]:
    cols = parsed.columns
    errors: list[RowError] = []

    def cell(name: str) -> str:
        return raw.get(cols[name], "") if name in cols else ""

    def err(name: str, message: str) -> None:
        errors.append(RowError(number, parsed.header(name), message))

    ref = clean_ref(cell("external_ref"))
    if not ref:
        err("external_ref", _("留言编号不能为空"))
    elif len(ref) > EXTERNAL_REF_LIMIT:
        err("external_ref", _("留言编号超过 %(max)s 个字符") % {"max": EXTERNAL_REF_LIMIT})
    text = clean_text(cell("text"))
    if not text:
        err("text", _("留言详情不能为空"))
    elif limits and len(text) > TEXT_LIMIT:
        err(
            "text",
            _("留言详情超过 %(max)s 字（共 %(n)s 字）") % {"max": TEXT_LIMIT, "n": len(text)},
        )
    title = one_line(cell("title")) or _title_from(text)
    if limits and len(title) > TITLE_LIMIT:
        err(
            "title",
            _("留言主题超过 %(max)s 字（共 %(n)s 字）") % {"max": TITLE_LIMIT, "n": len(title)},
        )
    created = _time_cell(cell("created"), "created", err, now=now if limits else None)
    reply = clean_text(cell("reply"))
    replied_at = None
    if one_line(cell("replied_at")):
        replied_at = _time_cell(cell("replied_at"), "replied_at", err, now=now if limits else None)
        if not reply:
            err("reply", _("有答复时间但答复意见为空"))
        elif replied_at is not None and created is not None and replied_at < created:
            err("replied_at", _("答复时间早于留言时间"))
    elif reply:
        err("replied_at", _("有答复意见但没有答复时间"))
    counts: dict[str, int] = {}
    for name in ("likes", "dislikes"):
        value = parse_count(cell(name))
        if value is None:
            err(name, _("“%(value)s”不是非负整数") % {"value": one_line(cell(name))})
        counts[name] = value or 0
    if errors or created is None:
        return None, errors
    return (
        ImportRow(
            number=number,
            external_ref=ref,
            user=one_line(cell("user"))[:SUBMITTER_LIMIT],
            title=title,
            text=text,
            created=created,
            category_label=one_line(cell("category")),
            likes=counts["likes"],
            dislikes=counts["dislikes"],
            reply=reply,
            replied_at=replied_at,
            address=one_line(cell("address"))[:ADDRESS_LIMIT],
        ),
        errors,
    )


def _time_cell(
    value: str,
    name: str,
    err: Callable[[str, str], None],
    *,
    now: dt.datetime | None,
) -> dt.datetime | None:
    if not one_line(value):
        err(name, _("时间不能为空"))
        return None
    when = parse_time(value)
    if when is None:
        err(
            name,
            _("无法识别的时间“%(value)s”（应为 2019-04-25 09:32:09 或 2019/4/25 9:32:09）")
            % {"value": one_line(value)},
        )
        return None
    if now is not None and when > now:
        err(name, _("时间“%(value)s”晚于现在") % {"value": one_line(value)})
        return None
    return when


def _bar(items: Iterable[T], show: bool, *, total: int, desc: str) -> Iterator[T]:
    # tqdm writes to stderr, so stdout keeps only the summary (safe to pipe or parse).
    yield from tqdm(items, total=total, desc=desc, unit=_("行"), disable=not show, leave=False)


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- the database side -------------------------------------------------------------------------
def appeal_code(created: dt.datetime, pk: int) -> str:
    """The public code, formed exactly as :func:`appeals.services.do_submit` forms it."""
    return f"MS-{created.astimezone(CALENDAR_TZ).year}-{pk:06d}"


def resolve_unit(code: str | None) -> Unit | None:
    if not code:
        return None
    unit = Unit.objects.active().filter(code=code.strip()).first()
    if unit is None:
        raise ImportFileError(_("没有编码为“%(code)s”的启用单位") % {"code": code})
    return unit


def _category_lookup(
    labels: Iterable[str], overrides: dict[str, str]
) -> tuple[dict[str, Category | None], list[str]]:
    """一级标签 → category by name (a top-level one first), or by an explicit ``label=code``."""
    wanted = sorted({label for label in labels if label})
    active = Category.objects.active()
    found: dict[str, Category | None] = {}
    problems: list[str] = []
    for label in wanted:
        if label in overrides:
            category = active.filter(code=overrides[label]).first()
            if category is None:
                raise ImportFileError(
                    _("--category %(label)s=%(code)s：没有编码为“%(code)s”的启用分类")
                    % {"label": label, "code": overrides[label]}
                )
            found[label] = category
            continue
        matches = list(active.filter(name=label).order_by("parent_id", "pk"))
        top = [c for c in matches if c.parent_id is None]
        if len(top) == 1 or (not top and len(matches) == 1):
            found[label] = (top or matches)[0]
        else:
            found[label] = None
            if len(matches) > 1:
                problems.append(label)
    return found, problems


def _existing(refs: Sequence[str]) -> dict[str, tuple[str, str, str, dt.datetime]]:
    out: dict[str, tuple[str, str, str, dt.datetime]] = {}
    for chunk in _chunks(refs, 500):
        query = Appeal.objects.filter(channel=Channel.IMPORT, external_ref__in=chunk)
        for ref, code, title, text, created in query.values_list(
            "external_ref", "code", "title", "text", "created"
        ):
            out[ref] = (code, title, text, created)
    return out


def check_against_database(
    parsed: ParsedFile, result: ImportResult, category_map: dict[str, str]
) -> tuple[list[ImportRow], dict[str, Category | None]]:
    """Rows still to write; ids already imported with other content become errors."""
    existing = _existing([r.external_ref for r in parsed.rows])
    fresh: list[ImportRow] = []
    for row in parsed.rows:
        before = existing.get(row.external_ref)
        if before is None:
            fresh.append(row)
            continue
        code, title, text, created = before
        if (title, text, created) == (row.title, row.text, row.created):
            result.skipped += 1
        else:
            result.errors.append(
                RowError(
                    row.number,
                    parsed.header("external_ref"),
                    _("留言编号“%(ref)s”已导入为 %(code)s，但主题、详情或时间不同")
                    % {"ref": row.external_ref, "code": code},
                )
            )
    categories, ambiguous = _category_lookup((r.category_label for r in fresh), category_map)
    for label in ambiguous:
        result.warnings.append(
            _("有多个名为“%(label)s”的分类，无法确定；这些诉求导入时不设分类") % {"label": label}
        )
    unmatched: dict[str, int] = {}
    for row in fresh:
        if row.category_label and categories.get(row.category_label) is None:
            unmatched[row.category_label] = unmatched.get(row.category_label, 0) + 1
    for label, n in sorted(unmatched.items()):
        if label in ambiguous:
            continue
        result.warnings.append(
            _("没有名为“%(label)s”的分类：%(n)s 条诉求导入时不设分类（可用 --category 指定）")
            % {"label": label, "n": n}
        )
    long_replies = [r.number for r in fresh if len(r.reply) > TEXT_LIMIT]
    if long_replies:
        shown = "、".join(str(n) for n in long_replies[:10])
        more = "…" if len(long_replies) > 10 else ""
        result.warnings.append(
            _("%(n)s 条答复意见超过 %(max)s 字，按原文完整保存（第 %(rows)s 行）")
            % {"n": len(long_replies), "max": TEXT_LIMIT, "rows": shown + more}
        )
    return fresh, categories


def import_file(
    path: str | Path,
    *,
    layout: str = "auto",
    unit: str | None = None,
    dry_run: bool = False,
    encoding: str | None = None,
    category_map: dict[str, str] | None = None,
    progress: bool = False,
    batch_size: int = BATCH,
    command: str = "minsheng appeals import",
) -> ImportResult:
    """Check every row, then write all of them in one transaction, or none.

    Raises :class:`ImportFileError` if the file cannot be used and :class:`ImportRejected`
    (carrying every row error) if any row fails; nothing is written in either case.
    """
    target_unit = resolve_unit(unit)
    parsed = read_file(path, layout=layout, encoding=encoding, progress=progress)
    result = ImportResult(
        path=parsed.path,
        sha256=parsed.sha256,
        layout=parsed.layout,
        encoding=parsed.encoding,
        total=parsed.total,
        dry_run=dry_run,
        errors=list(parsed.errors),
    )
    fresh, categories = check_against_database(parsed, result, category_map or {})
    result.errors.sort(key=lambda e: (e.row, e.column))
    if result.errors:
        raise ImportRejected(result)
    if dry_run:
        return result
    intake = target_unit or _default_intake_unit()
    with transaction.atomic():
        bar = tqdm(
            total=len(fresh), desc=_("写入"), unit=_("行"), disable=not progress, leave=False
        )
        with bar:
            for batch in _chunks(fresh, batch_size):
                codes = _write_batch(batch, categories, intake, target_unit, parsed)
                result.created += len(codes)
                result.replied += sum(1 for r in batch if r.reply)
                result.first_code = result.first_code or codes[0]
                result.last_code = codes[-1]
                bar.update(len(batch))
        record(
            None,
            "appeals.import",
            target_unit,
            after={
                "file": parsed.path.name,
                "sha256": parsed.sha256,
                "layout": parsed.layout,
                "encoding": parsed.encoding,
                "rows": parsed.total,
                "created": result.created,
                "replied": result.replied,
                "skipped": result.skipped,
                "first_code": result.first_code,
                "last_code": result.last_code,
                "unit": target_unit.code if target_unit else None,
                "command": command,
            },
            reason=command,
        )
    return result


def _default_intake_unit() -> Unit | None:
    from appeals.services import default_intake_unit

    return default_intake_unit()


def _is_petition(category: Category | None) -> bool:
    # The same rule as intake: a category whose clock rule is the 信访 chain makes a 信访事项.
    return bool(category is not None and clock.rule_for_category(category).petition)


def _write_batch(
    batch: Sequence[ImportRow],
    categories: dict[str, Category | None],
    intake: Unit | None,
    handler_unit: Unit | None,
    parsed: ParsedFile,
) -> list[str]:
    """Insert one batch: appeals, their codes, events and replies. Returns the codes."""
    petition: dict[int, bool] = {}
    appeals: list[Appeal] = []
    for row in batch:
        category = categories.get(row.category_label) if row.category_label else None
        if category is not None and category.pk not in petition:
            petition[category.pk] = _is_petition(category)
        answered = row.replied_at is not None
        appeals.append(
            Appeal(
                code=f"tmp-{uuid.uuid4().hex[:28]}",  # fits the column until the id is known
                # No citizen is there to be handed a tracking secret; an empty hash matches none.
                secret_hash="",
                title=row.title,
                text=row.text,
                category=category,
                petition=petition.get(category.pk, False) if category is not None else False,
                address=row.address,
                channel=Channel.IMPORT,
                # The board's pseudonymous user label (A00074011), never a phone number.
                contact_name=row.user,
                state=State.REPLIED if answered else State.RECEIVED,
                intake_unit=intake,
                current_unit=handler_unit if answered else None,
                replied_at=row.replied_at,
                # 点赞数 are the supports; 反对数 has no field and stays in the import event.
                supports=row.likes,
                external_ref=row.external_ref,
                created=row.created,
            )
        )
    Appeal.objects.bulk_create(appeals)
    if any(a.pk is None for a in appeals):
        # Databases that cannot return ids from a bulk insert: look them up by source id.
        ids = dict(
            Appeal.objects.filter(
                channel=Channel.IMPORT, external_ref__in=[a.external_ref for a in appeals]
            ).values_list("external_ref", "pk")
        )
        for a in appeals:
            a.pk = ids[a.external_ref]
    for a in appeals:
        a.code = appeal_code(a.created, a.pk)
    # One prepared UPDATE run per row: far cheaper than bulk_update's CASE over the batch.
    table = connection.ops.quote_name(Appeal._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET code = %s WHERE id = %s",  # noqa: S608 - table name from the model
            [(a.code, a.pk) for a in appeals],
        )
    events: list[AppealEvent] = []
    replies: list[Reply] = []
    for a, row in zip(appeals, batch, strict=True):
        events.append(
            AppealEvent(
                appeal=a,
                action="import",
                to_state=State.RECEIVED,
                unit=intake,
                data={
                    "file": parsed.path.name,
                    "sha256": parsed.sha256,
                    "row": row.number,
                    "external_ref": row.external_ref,
                    "category_label": row.category_label,
                    "likes": row.likes,
                    "dislikes": row.dislikes,
                },
                at=row.created,
            )
        )
        if row.replied_at is not None:
            events.append(
                AppealEvent(
                    appeal=a,
                    action="reply",
                    from_state=State.RECEIVED,
                    to_state=State.REPLIED,
                    unit=handler_unit,
                    data={"import": True, "row": row.number},
                    at=row.replied_at,
                )
            )
            replies.append(Reply(appeal=a, unit=handler_unit, text=row.reply, at=row.replied_at))
    AppealEvent.objects.bulk_create(events)
    Reply.objects.bulk_create(replies)
    # bulk_create sends no post_save, so the search index is written here, in the same
    # transaction: an imported appeal is findable exactly when it exists.
    from search.index import index_appeals

    index_appeals(appeals)
    return [a.code for a in appeals]
