"""Verifiable audit reports: a slice of the trail exported as XLSX or HTML, checkable later.

A report covers one scope (an object, a person or a unit) over a period, up to the chain head at
export time. It carries that head (seq and hash), every entry's hashed fields with its seq and
hash, and the seq of the ``audit.report.export`` entry that recorded the export (with the scope,
the head and a digest of the listed (seq, hash) pairs). ``verify_report`` then proves, against
the live trail:

- the chain is intact up to the exported head and the head hash is still the one exported;
- the export entry exists and describes this very report (so the scope, head or row list cannot
  be rewritten to hide something);
- every listed entry exists with the same content and hash;
- no entry in scope up to the head was left out, and none outside the scope was slipped in.

Each difference names the seq, the field, what the trail holds and what the report says.
Unit scopes are resolved to actor ids at export time and stored in the report: role assignments
change, and verifying a report must not depend on who holds a role today.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import chain
from audit.models import AuditEntry
from audit.services import head, record
from audit.verify import verify_chain
from minsheng.errors import ServiceError

FORMAT_VERSION = "minsheng-audit-report/1"
EXPORT_ACTION = "audit.report.export"
MAX_ENTRIES = 50_000
SCOPE_KINDS = ("object", "actor", "unit")
FORMATS = ("xlsx", "html")

# Columns of the entry table, in order: every hashed field, then the hash.
COLUMNS = (*chain.HASHED_FIELDS, "hash")
# Metadata keys, in order.
META_KEYS = (
    "format",
    "scope_kind",
    "scope_value",
    "since",
    "until",
    "actor_ids",
    "unit_ids",
    "head_seq",
    "head_hash",
    "export_seq",
    "exported_at",
    "exported_by",
    "entry_count",
    "rows_digest",
)
# Report metadata key → key in the export entry's ``after`` where they differ.
RECORDED_AS = {"head_hash": "head"}
META_SHEET = "report"
ENTRIES_SHEET = "entries"


class ReportFormatError(ServiceError):
    code = "report_unreadable"


@dataclass(frozen=True)
class Scope:
    kind: str
    value: str
    since: dt.date | None = None
    until: dt.date | None = None
    actor_ids: tuple[int, ...] = ()
    unit_ids: tuple[int, ...] = ()

    def queryset(self, head_seq: int) -> QuerySet[AuditEntry]:
        qs = AuditEntry.objects.filter(seq__lte=head_seq)
        if self.kind == "object":
            object_type, _sep, object_id = self.value.partition(":")
            qs = qs.filter(object_type=object_type, object_id=object_id)
        elif self.kind == "actor":
            qs = qs.filter(actor_id__in=self.actor_ids)
        else:
            qs = qs.filter(
                Q(actor_id__in=self.actor_ids)
                | Q(object_type="org.unit", object_id__in=[str(i) for i in self.unit_ids])
            )
        if self.since:
            qs = qs.filter(created_at__gte=_day_start(self.since))
        if self.until:
            qs = qs.filter(created_at__lt=_day_start(self.until + dt.timedelta(days=1)))
        return qs.order_by("seq")

    def as_meta(self) -> dict[str, str]:
        return {
            "scope_kind": self.kind,
            "scope_value": self.value,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "actor_ids": ",".join(str(i) for i in self.actor_ids),
            "unit_ids": ",".join(str(i) for i in self.unit_ids),
        }


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def resolve_scope(
    kind: str, value: str, since: dt.date | None = None, until: dt.date | None = None
) -> Scope:
    """Turn what a person typed into a scope; a clear ServiceError when it names nothing."""
    from org.models import RoleAssignment, Unit

    value = (value or "").strip()
    if kind not in SCOPE_KINDS:
        raise ServiceError(_("报告范围须是对象、人员或单位。"), code="bad_scope")
    if not value:
        raise ServiceError(_("请填写报告范围（对象、人员账号或单位编码）。"), code="bad_scope")
    if since and until and since > until:
        raise ServiceError(_("截止日期不能早于起始日期。"), code="bad_period")
    if kind == "object":
        object_type, sep, object_id = value.partition(":")
        if not sep or not object_type or not object_id:
            raise ServiceError(_("对象须写成“类型:编号”，如 appeals.appeal:12。"), code="bad_scope")
        return Scope(kind, f"{object_type.lower()}:{object_id}", since, until)
    if kind == "actor":
        user = get_user_model().objects.filter(username=value).first()
        if user is None:
            raise ServiceError(
                _("没有账号为“%(name)s”的人员。") % {"name": value}, code="unknown_actor"
            )
        return Scope(kind, value, since, until, actor_ids=(int(user.pk),))
    unit = Unit.objects.filter(code=value).first()
    if unit is None:
        raise ServiceError(_("没有编码为“%(code)s”的单位。") % {"code": value}, code="unknown_unit")
    unit_ids = tuple(sorted(Unit.objects.below(unit).values_list("pk", flat=True)))
    actor_ids = tuple(
        sorted(
            set(
                RoleAssignment.objects.filter(unit_id__in=unit_ids).values_list(
                    "user_id", flat=True
                )
            )
        )
    )
    return Scope(kind, value, since, until, actor_ids=actor_ids, unit_ids=unit_ids)


# --- cell values -------------------------------------------------------------------------------


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def cell_values(entry: AuditEntry) -> dict[str, str]:
    """An entry as the text the report shows, one string per column."""
    fields = chain.fields_of(entry)
    out: dict[str, str] = {}
    for name in COLUMNS:
        value = fields[name] if name in fields else getattr(entry, name)
        if name == "created_at":
            out[name] = chain.canonical_time(value)
        elif name in ("before", "after"):
            out[name] = _json_text(value)
        else:
            out[name] = "" if value is None else str(value)
    return out


def rows_digest(pairs: Iterable[tuple[int, str]]) -> str:
    text = "\n".join(f"{seq}:{digest}" for seq, digest in sorted(pairs))
    return hashlib.sha256(text.encode()).hexdigest()


# --- export ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    meta: dict[str, str]
    rows: list[dict[str, str]]

    def render(self, fmt: str) -> bytes:
        if fmt == "xlsx":
            return _render_xlsx(self)
        if fmt == "html":
            return _render_html(self)
        raise ServiceError(_("导出格式须是 xlsx 或 html。"), code="bad_format")

    def filename(self, fmt: str) -> str:
        safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in self.meta["scope_value"])
        return f"audit-report-{self.meta['scope_kind']}-{safe}-{self.meta['head_seq']}.{fmt}"


def build_report(actor: Any, scope: Scope, *, fmt: str = "xlsx", request: Any = None) -> Report:
    """Read the scope up to the current head and record the export; render with ``render``."""
    if fmt not in FORMATS:
        raise ServiceError(_("导出格式须是 xlsx 或 html。"), code="bad_format")
    with transaction.atomic():
        head_seq, head_hash = head()
        entries = list(scope.queryset(head_seq)[: MAX_ENTRIES + 1])
        if len(entries) > MAX_ENTRIES:
            raise ServiceError(
                _("范围内超过 %(n)s 条记录，请缩小范围或时间段。") % {"n": MAX_ENTRIES},
                code="report_too_large",
            )
        rows = [cell_values(e) for e in entries]
        digest = rows_digest((e.seq, e.hash) for e in entries)
        described = {
            **scope.as_meta(),
            "head_seq": str(head_seq),
            "head_hash": head_hash,
            "entry_count": str(len(rows)),
            "rows_digest": digest,
        }
        export = record(
            actor, EXPORT_ACTION, None, after=_recorded(described, fmt), request=request
        )
    meta = {
        "format": FORMAT_VERSION,
        **described,
        "export_seq": str(export.seq),
        "exported_at": chain.canonical_time(export.created_at),
        "exported_by": export.actor_label,
    }
    return Report({k: meta[k] for k in META_KEYS}, rows)


def _recorded(described: dict[str, str], fmt: str) -> dict[str, str]:
    """The export entry's fields: ``record`` hides keys ending in ``_hash``, so the head is
    stored under ``head``."""
    out = {RECORDED_AS.get(k, k): v for k, v in described.items()}
    out["format"] = fmt
    return out


def _render_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    info = wb.active
    assert info is not None
    info.title = META_SHEET
    info.append(["key", "value"])
    for key in META_KEYS:
        _append_text_row(info, [key, report.meta[key]])
    sheet = wb.create_sheet(ENTRIES_SHEET)
    sheet.append(list(COLUMNS))
    for row in report.rows:
        _append_text_row(sheet, [row[c] for c in COLUMNS])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _append_text_row(sheet: Any, values: Sequence[str]) -> None:
    sheet.append(list(values))
    # Every cell as text: a reason starting with "=" must never become a formula, and seq/ids
    # must read back exactly as written.
    for cell in sheet[sheet.max_row]:
        cell.data_type = "s"


def _render_html(report: Report) -> bytes:
    return render_to_string(
        "audit/report_export.html",
        {
            "meta": [(k, report.meta[k]) for k in META_KEYS],
            "columns": COLUMNS,
            "rows": [[(c, row[c]) for c in COLUMNS] for row in report.rows],
            "head_seq": report.meta["head_seq"],
            "head_hash": report.meta["head_hash"],
        },
    ).encode()


# --- reading a report back ---------------------------------------------------------------------


def read_report(data: bytes, name: str = "") -> Report:
    """Parse an exported XLSX or HTML report (chosen by content, not by the file name)."""
    if data[:2] == b"PK":
        return _read_xlsx(data)
    if b"data-audit-report" in data[:4096] or name.lower().endswith((".html", ".htm")):
        return _read_html(data)
    raise ReportFormatError(_("无法识别的文件：须是本系统导出的 XLSX 或 HTML 审计报告。"))


def _read_xlsx(data: bytes) -> Report:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ReportFormatError(_("XLSX 文件无法打开：%(err)s") % {"err": exc}) from exc
    if META_SHEET not in wb.sheetnames or ENTRIES_SHEET not in wb.sheetnames:
        raise ReportFormatError(_("XLSX 文件缺少 report 或 entries 工作表，不是审计报告。"))
    meta: dict[str, str] = {}
    for key, value, *_rest in list(wb[META_SHEET].iter_rows(min_row=2, values_only=True)):
        if key is not None:
            meta[str(key)] = _cell_text(value)
    table = list(wb[ENTRIES_SHEET].iter_rows(values_only=True))
    if not table:
        raise ReportFormatError(_("entries 工作表是空的。"))
    header = [_cell_text(v) for v in table[0]]
    rows = [
        {h: _cell_text(v) for h, v in zip(header, values, strict=False)}
        for values in table[1:]
        if any(v not in (None, "") for v in values)
    ]
    return _checked(Report(meta, rows), header)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _ReportHTMLParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.rows: list[dict[str, str]] = []
        self._key: str | None = None
        self._field: str | None = None
        self._text: list[str] = []
        self._row: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and "data-seq" in a:
            self._row = {}
        elif tag == "dd" and a.get("data-key"):
            self._key, self._text = a["data-key"], []
        elif tag == "td" and a.get("data-field") and self._row is not None:
            self._field, self._text = a["data-field"], []

    def handle_endtag(self, tag: str) -> None:
        if tag == "dd" and self._key is not None:
            self.meta[self._key] = "".join(self._text)
            self._key = None
        elif tag == "td" and self._field is not None and self._row is not None:
            self._row[self._field] = "".join(self._text)
            self._field = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._key is not None or self._field is not None:
            self._text.append(data)


def _read_html(data: bytes) -> Report:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReportFormatError(_("HTML 报告须是 UTF-8 编码。")) from exc
    parser = _ReportHTMLParser()
    parser.feed(text)
    parser.close()
    return _checked(Report(parser.meta, parser.rows), list(COLUMNS))


def _checked(report: Report, header: list[str]) -> Report:
    if report.meta.get("format") != FORMAT_VERSION:
        raise ReportFormatError(
            _("不是本系统导出的审计报告（格式标记应为 %(v)s）。") % {"v": FORMAT_VERSION}
        )
    missing = [k for k in META_KEYS if k not in report.meta]
    missing += [c for c in COLUMNS if c not in header]
    if missing:
        raise ReportFormatError(_("报告缺少以下字段：%(names)s") % {"names": ", ".join(missing)})
    return report


# --- verification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    seq: int | None
    field: str
    expected: str  # what the trail holds
    found: str  # what the report says
    message: str

    def __str__(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "report"
        return (
            f"{where} · {self.field}: {self.message} "
            f"(trail: {_short(self.expected)!r}, report: {_short(self.found)!r})"
        )


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Verification:
    head_seq: int = 0
    head_hash: str = ""
    entry_count: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def summary(self) -> str:
        if self.ok:
            return (
                f"OK: {self.entry_count} entries match the trail; chain intact up to "
                f"seq {self.head_seq} ({self.head_hash})"
            )
        lines = [f"DIFFERS: {len(self.differences)} difference(s)"]
        lines += [f"  {d}" for d in self.differences]
        return "\n".join(lines)


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError) as exc:
        raise ReportFormatError(
            _("报告字段 %(what)s 应是整数，而不是“%(v)s”。") % {"what": what, "v": text}
        ) from exc


def _ids(text: str) -> tuple[int, ...]:
    return tuple(_int(p, "ids") for p in text.split(",") if p.strip())


def _date(text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ReportFormatError(_("报告日期“%(v)s”无法识别。") % {"v": text}) from exc


def _same_cell(name: str, trail: str, report: str) -> bool:
    if name in ("before", "after"):
        try:
            return (json.loads(trail) if trail else None) == (
                json.loads(report) if report else None
            )
        except ValueError:
            return False
    return trail == report


def verify_report(data: bytes, name: str = "") -> Verification:
    """Check a report against the live trail; every difference is listed, not just the first."""
    report = read_report(data, name)
    meta = report.meta
    head_seq = _int(meta["head_seq"], "head_seq")
    export_seq = _int(meta["export_seq"], "export_seq")
    result = Verification(head_seq, meta["head_hash"], len(report.rows))
    diffs = result.differences

    # 1. The chain up to the exported head is intact and still ends in the exported hash.
    chain_result = verify_chain()
    if chain_result.problem is not None and chain_result.problem.seq <= max(head_seq, export_seq):
        p = chain_result.problem
        diffs.append(Difference(p.seq, "chain", "", "", f"{p.kind}: {p.message}"))
    trail_head = AuditEntry.objects.filter(seq=head_seq).values_list("hash", flat=True).first()
    if head_seq > 0 and trail_head != meta["head_hash"]:
        diffs.append(
            Difference(
                head_seq,
                "head_hash",
                trail_head or "",
                meta["head_hash"],
                "the exported head is not the trail's entry at that seq",
            )
        )

    # 2. The export entry recorded this very report (scope, head, row list).
    export = AuditEntry.objects.filter(seq=export_seq).first()
    if export is None or export.action != EXPORT_ACTION:
        diffs.append(
            Difference(
                export_seq,
                "export_seq",
                export.action if export else "",
                EXPORT_ACTION,
                "no export of this report is recorded at that seq",
            )
        )
    else:
        recorded = export.after or {}
        for key in (*Scope("object", "").as_meta(), "head_seq", "head_hash", "entry_count"):
            kept = str(recorded.get(RECORDED_AS.get(key, key), ""))
            if kept != meta.get(key, ""):
                diffs.append(
                    Difference(
                        export_seq,
                        key,
                        kept,
                        meta.get(key, ""),
                        "the report's description differs from the recorded export",
                    )
                )
    scope = Scope(
        meta["scope_kind"],
        meta["scope_value"],
        _date(meta["since"]),
        _date(meta["until"]),
        _ids(meta["actor_ids"]),
        _ids(meta["unit_ids"]),
    )
    if scope.kind not in SCOPE_KINDS:
        raise ReportFormatError(_("报告范围类型“%(k)s”无法识别。") % {"k": scope.kind})

    # 3. Every listed entry is in the trail, unchanged; 4. none in scope was left out.
    listed: dict[int, dict[str, str]] = {}
    for row in report.rows:
        seq = _int(row.get("seq", ""), "seq")
        if seq in listed:
            diffs.append(Difference(seq, "seq", "", str(seq), "this entry is listed twice"))
        listed[seq] = row
    in_scope = {e.seq: e for e in scope.queryset(head_seq)}
    stored = {e.seq: e for e in AuditEntry.objects.filter(seq__in=list(listed))}
    for seq, row in sorted(listed.items()):
        entry = stored.get(seq)
        if entry is None:
            diffs.append(
                Difference(seq, "seq", "", str(seq), "the report lists an entry the trail lacks")
            )
            continue
        if seq not in in_scope:
            diffs.append(
                Difference(seq, "scope", "", str(seq), "this entry is outside the report's scope")
            )
        truth = cell_values(entry)
        for name in COLUMNS:
            if not _same_cell(name, truth[name], row.get(name, "")):
                diffs.append(
                    Difference(
                        seq, name, truth[name], row.get(name, ""), "content differs from the trail"
                    )
                )
    for seq in sorted(set(in_scope) - set(listed)):
        e = in_scope[seq]
        diffs.append(
            Difference(
                seq,
                "entry",
                f"{e.action} {e.object_type}:{e.object_id}",
                "",
                "an entry in scope was left out of the report",
            )
        )
    # The recorded digest covers the row list even where the scope was also rewritten.
    if export is not None and export.action == EXPORT_ACTION:
        digest = rows_digest((s, r.get("hash", "")) for s, r in listed.items())
        if (export.after or {}).get("rows_digest") != digest:
            diffs.append(
                Difference(
                    export_seq,
                    "rows_digest",
                    str((export.after or {}).get("rows_digest", "")),
                    digest,
                    "the listed (seq, hash) pairs are not those exported",
                )
            )
    return result
