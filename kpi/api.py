"""``GET /api/kpi/table``: the KPI page's table as JSON, for the same readers as the page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from accounts.api_auth import token_or_session
from kpi.access import VIEWER_ROLES, scope_for
from kpi.forms import KpiFilterForm
from kpi.metrics import COLUMNS, PERIOD_GROUPINGS, table
from minsheng.api import ErrorOut
from minsheng.errors import ServiceError
from org.roles import require_role

router = Router(tags=["kpi"], auth=token_or_session)


class TableQuery(Schema):
    period: str = Field("month", description="day | week | month | quarter | custom")
    date: dt.date | None = Field(None, description="统计该日期所在的周期（默认今天，北京时间）")
    start: dt.date | None = Field(None, description="period=custom 时的开始日期（含）")
    end: dt.date | None = Field(None, description="period=custom 时的结束日期（含）")
    by: str = Field("unit", description="unit | category | grid | day | week | month | quarter")
    unit: str = Field("", max_length=64, description="单位编码：只统计该单位及其下属单位")
    sort: str = Field("", description="排名所依据的列，如 satisfaction_rate")
    order: str = Field("", description="desc | asc")


class ColumnOut(Schema):
    name: str
    label: str
    kind: str = Field(description="count | rate (0–1) | hours")
    base: str = Field(description="比率或平均值所依据的件数列")


class RowOut(Schema):
    key: str
    label: str
    code: str
    received: int
    dispatched: int
    sign_expected: int
    signed_on_time: int
    response_rate: float | None
    final_callbacks: int
    resolved: int
    resolution_rate: float | None
    callbacks: int
    satisfied: int
    basically_satisfied: int
    unsatisfied: int
    satisfaction_rate: float | None
    overdue: int
    overdue_sign: int
    overdue_handle: int
    overdue_reply: int
    closed: int
    avg_close_hours: float | None
    close_seconds: int
    replied: int
    reopened: int
    reopen_rate: float | None


class TableOut(Schema):
    by: str
    start: dt.date
    end: dt.date
    unit: str | None
    rolled_at: dt.datetime | None = Field(description="计数最近一次汇总的时间")
    columns: list[ColumnOut]
    rows: list[RowOut]
    total: RowOut


@router.get(
    "/table",
    response={200: TableOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    url_name="kpi_table",
    summary="考核指标表",
)
def kpi_table(request: HttpRequest, filters: Query[TableQuery]) -> Any:
    require_role(request, *VIEWER_ROLES)
    scope = scope_for(request.user)
    data = {k: v for k, v in filters.dict().items() if v not in (None, "")}
    form = KpiFilterForm(data, scope=scope)
    if not form.is_valid():
        detail = [
            {"field": field if field != "__all__" else "period", "message": str(message)}
            for field, messages in form.errors.items()
            for message in messages
        ]
        raise ServiceError(
            "; ".join(d["message"] for d in detail),
            code="validation_error",
            status=422,
            detail=detail,
        )
    q = form.query()
    result = table(by=q.by, start=q.period.start, end=q.period.end, unit=q.unit, scope=scope)
    rows = result.rows if q.by in PERIOD_GROUPINGS else result.sorted(q.sort, q.descending)
    return {
        "by": q.by,
        "start": q.period.start,
        "end": q.period.end,
        "unit": q.unit.code if q.unit is not None else None,
        "rolled_at": result.rolled_at,
        "columns": [
            {"name": c.name, "label": str(c.label), "kind": c.kind, "base": c.base} for c in COLUMNS
        ],
        "rows": [row.as_dict() for row in rows],
        "total": result.total.as_dict(),
    }
