"""The leader's KPI page with its exports, and the public transparency pages."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from audit.services import record
from kpi import charts, periods
from kpi.access import VIEWER_ROLES, may_view_unit, scope_for
from kpi.forms import KpiFilterForm, Query
from kpi.metrics import COLUMNS, PERIOD_GROUPINGS, Row, Table, table
from org.calendar import CALENDAR_TZ
from org.models import Unit
from org.roles import role_required

TREND_WEEKS = 12
viewers_only = role_required(*VIEWER_ROLES)


def _cell(row: Row, name: str, kind: str) -> str:
    value = row.value(name)
    if value is None:
        return "—"
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "hours":
        return f"{value:.1f}"
    return f"{int(value):,}"


def _table_line(row: Row, labels: Sequence[str], drill: str) -> str:
    name = escape(row.label)
    head = f'<a href="?{escape(drill)}">{name}</a>' if drill else name
    cells = "".join(
        f'<td data-label="{label}">{escape(_cell(row, c.name, c.kind))}</td>'
        for c, label in zip(COLUMNS, labels, strict=True)
    )
    return mark_safe(f'<tr><th scope="row">{head}</th>{cells}</tr>')  # noqa: S308  escaped above


def _query_string(request: HttpRequest, **changes: str) -> str:
    params = {k: v for k, v in request.GET.items() if v}
    params.update({k: v for k, v in changes.items()})
    return urlencode({k: v for k, v in params.items() if v})


def _result(request: HttpRequest) -> tuple[KpiFilterForm, Query | None, Table | None, Any]:
    scope = scope_for(request.user)
    form = KpiFilterForm(request.GET, scope=scope)
    if not form.is_valid():
        return form, None, None, scope
    q = form.query()
    result = table(by=q.by, start=q.period.start, end=q.period.end, unit=q.unit, scope=scope)
    return form, q, result, scope


@viewers_only
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    form, q, result, scope = _result(request)
    if q is None or result is None:
        return render(request, "kpi/dashboard.html", {"form": form}, status=400)
    ranked = q.by not in PERIOD_GROUPINGS
    rows = result.sorted(q.sort, q.descending) if ranked else result.rows
    trend_end = q.period.end
    trend_start = periods.week_start(trend_end) - dt.timedelta(weeks=TREND_WEEKS - 1)
    trend = table(by="week", start=trend_start, end=trend_end, unit=q.unit, scope=scope)
    sort_column = next(c for c in COLUMNS if c.name == q.sort)
    headers = []
    for column in COLUMNS:
        active = column.name == q.sort
        order = "asc" if active and q.descending else "desc"
        headers.append(
            {
                "column": column,
                "active": active,
                "descending": q.descending,
                "query": _query_string(request, sort=column.name, order=order),
            }
        )
    labels = [escape(str(c.label)) for c in COLUMNS]
    # Built here rather than in the template: a year by grid is thousands of cells, and the
    # template engine would spend most of the page's time on them.
    body = [
        _table_line(
            row,
            labels,
            _query_string(request, unit=row.unit_code, by="unit")
            if row.unit_code and q.by == "unit"
            else "",
        )
        for row in rows
    ]
    breadcrumbs = []
    if q.unit is not None:
        for unit in q.unit.ancestors(include_self=True):
            if may_view_unit(scope, unit):
                breadcrumbs.append((unit, _query_string(request, unit=unit.code)))
    return render(
        request,
        "kpi/dashboard.html",
        {
            "form": form,
            "q": q,
            "result": result,
            "body": mark_safe("".join(body)),  # noqa: S308  built by _table_line with escape()
            "total_line": _table_line(result.total, labels, ""),
            "headers": headers,
            "summary": [
                (c, _cell(result.total, c.name, c.kind), result.total.counts.get(c.base, None))
                for c in COLUMNS
                if c.kind != "count" or c.name in {"received", "overdue"}
            ],
            "trend_chart": charts.trend(
                trend.rows, _("近%(n)s周受理量与满意率") % {"n": TREND_WEEKS}
            ),
            "ranking_chart": charts.ranking(
                rows, q.sort, _("按%(kpi)s排名") % {"kpi": sort_column.label}
            )
            if ranked
            else None,
            "sort_column": sort_column,
            "breadcrumbs": breadcrumbs,
            "export_query": request.GET.urlencode(),
        },
    )


def _export_rows(result: Table) -> list[list[Any]]:
    """Header, one line per group and the total; rates as fractions, hours with one decimal."""
    header: list[Any] = [str(_("分组")), str(_("编码"))] + [str(c.label) for c in COLUMNS]
    lines = [header]
    for row in [*result.rows, result.total]:
        values: list[Any] = [row.label, row.code]
        for column in COLUMNS:
            value = row.value(column.name)
            if value is not None and column.kind == "rate":
                value = round(float(value), 4)
            elif value is not None and column.kind == "hours":
                value = round(float(value), 1)
            values.append(value)
        lines.append(values)
    return lines


def _audit_export(request: HttpRequest, fmt: str, q: Query, result: Table) -> None:
    record(
        request.user,
        "kpi.export",
        None,
        after={
            "format": fmt,
            "by": q.by,
            "start": q.period.start.isoformat(),
            "end": q.period.end.isoformat(),
            "unit": q.unit.code if q.unit is not None else None,
            "rows": len(result.rows),
        },
        reason=str(_("导出考核指标表")),
        request=request,
    )


def _filename(q: Query, ext: str) -> str:
    unit = f"-{q.unit.code}" if q.unit is not None else ""
    return f"kpi-{q.by}{unit}-{q.period.start.isoformat()}-{q.period.end.isoformat()}.{ext}"


def _bad_filters(form: KpiFilterForm) -> HttpResponse:
    messages = "; ".join(str(m) for errors in form.errors.values() for m in errors)
    return HttpResponse(
        _("筛选条件有误：%(m)s") % {"m": messages},
        status=400,
        content_type="text/plain; charset=utf-8",
    )


@viewers_only
@require_GET
def export_csv(request: HttpRequest) -> HttpResponse:
    form, q, result, _scope = _result(request)
    if q is None or result is None:
        return _bad_filters(form)
    buffer = io.StringIO()
    buffer.write("\ufeff")  # Excel reads a UTF-8 file as such only with the mark
    csv.writer(buffer).writerows(_export_rows(result))
    _audit_export(request, "csv", q, result)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(q, "csv")}"'
    return response


@viewers_only
@require_GET
def export_xlsx(request: HttpRequest) -> HttpResponse:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    form, q, result, _scope = _result(request)
    if q is None or result is None:
        return _bad_filters(form)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "KPI"
    rates = [i for i, c in enumerate(COLUMNS, start=3) if c.kind == "rate"]
    for line in _export_rows(result):
        sheet.append(line)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in sheet.iter_rows(min_row=2):
        for index in rates:
            row[index - 1].number_format = "0.0%"
    about = book.create_sheet(str(_("说明")))
    generated = timezone.now().astimezone(CALENDAR_TZ).strftime("%Y-%m-%d %H:%M")
    for line in (
        [str(_("统计周期")), f"{q.period.start.isoformat()} – {q.period.end.isoformat()}"],
        [str(_("单位")), q.unit.name if q.unit is not None else str(_("全部"))],
        [str(_("生成时间")), generated],
        [str(_("指标定义")), "docs/kpi.md"],
    ):
        about.append(line)
    out = io.BytesIO()
    book.save(out)
    _audit_export(request, "xlsx", q, result)
    response = HttpResponse(
        out.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(q, "xlsx")}"'
    return response


# --- public transparency ------------------------------------------------------------------------
# Below this a published count reads "<5": a handful of cases in a small unit can point to people.
SMALL = 5
PUBLIC_MONTHS = 6
PUBLIC_COLUMNS = (
    "received",
    "dispatched",
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "overdue",
    "avg_close_hours",
    "reopen_rate",
)


def public_cell(row: Row, name: str) -> str:
    """A figure fit to publish: small counts as "<5", rates and averages on fewer than 5 cases
    not at all."""
    column = next(c for c in COLUMNS if c.name == name)
    if column.base and row.counts[column.base] < SMALL:
        return "—"
    value = row.value(name)
    if column.kind == "count" and value is not None and 0 < int(value) < SMALL:
        return f"<{SMALL}"
    return _cell(row, name, column.kind)


def _public_units() -> list[Unit]:
    return list(Unit.objects.active().filter(depth__lte=2).order_by("path"))


def _month(text: str) -> dt.date | None:
    """The first day of the month ``YYYY-MM`` (today's month when empty); None when malformed."""
    if not text:
        return periods.today()
    try:
        return dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        return None


@require_GET
def transparency_index(request: HttpRequest) -> HttpResponse:
    return render(request, "kpi/transparency_index.html", {"units": _public_units()})


@require_GET
def transparency_unit(request: HttpRequest, code: str) -> HttpResponse:
    unit = Unit.objects.active().filter(code=code).first()
    if unit is None:
        raise Http404(_("没有这个单位"))
    month = _month(request.GET.get("month", ""))
    if month is None:
        return HttpResponse(
            _("月份应写作 2025-11 这样的格式"), status=400, content_type="text/plain; charset=utf-8"
        )
    last = periods.Period.containing("month", month)
    first = last.previous(PUBLIC_MONTHS - 1)
    months = table(by="month", start=first.start, end=last.end, unit=unit)
    quarter = last.previous(2)
    categories = table(by="category", start=quarter.start, end=last.end, unit=unit)
    columns = [c for c in COLUMNS if c.name in PUBLIC_COLUMNS]
    return render(
        request,
        "kpi/transparency_unit.html",
        {
            "unit": unit,
            "columns": columns,
            "months": [
                (row, [(c, public_cell(row, c.name)) for c in columns])
                for row in reversed(months.rows)
            ],
            "categories": [
                (row, public_cell(row, "received"), public_cell(row, "satisfaction_rate"))
                for row in sorted(categories.rows, key=lambda r: -r.counts["received"])
                if row.counts["received"]
            ],
            "category_start": quarter.start,
            "category_end": last.end,
            "children": Unit.objects.active().filter(parent=unit).order_by("sort_order", "code"),
            "rolled_at": months.rolled_at,
            "small": SMALL,
        },
    )
