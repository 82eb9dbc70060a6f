"""Daily and weekly 舆情 reports: one data structure, rendered as a page and as an XLSX workbook
with charts (openpyxl.chart). Days are Beijing calendar days; a week runs Monday to Sunday.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.utils.translation import gettext as _

from opinion.models import GRADES, Alert, Event, Item, ResponseTask
from opinion.services import ResponseKpi, response_kpi

TZ = ZoneInfo("Asia/Shanghai")
KINDS = ("daily", "weekly")


@dataclass
class Report:
    kind: str
    start: dt.datetime
    end: dt.datetime
    items: int = 0
    relevant: int = 0
    new_events: int = 0
    active_events: int = 0
    alerts_by_grade: dict[str, int] = field(default_factory=dict)
    tasks_opened: int = 0
    tasks_closed: int = 0
    kpi: ResponseKpi | None = None
    volume: list[tuple[str, int, int]] = field(default_factory=list)  # label, items, relevant
    sentiment: dict[str, int] = field(default_factory=dict)
    sources: list[tuple[str, int]] = field(default_factory=list)
    top_events: list[Event] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    tasks: list[ResponseTask] = field(default_factory=list)

    @property
    def title(self) -> str:
        if self.kind == "daily":
            return _("舆情日报 %(day)s") % {"day": self.start.strftime("%Y-%m-%d")}
        last = (self.end - dt.timedelta(days=1)).strftime("%Y-%m-%d")
        return _("舆情周报 %(start)s – %(end)s") % {
            "start": self.start.strftime("%Y-%m-%d"),
            "end": last,
        }

    @property
    def alerts_total(self) -> int:
        return sum(self.alerts_by_grade.values())


def period(kind: str, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    if kind not in KINDS:
        raise ValueError(kind)
    if kind == "weekly":
        day = day - dt.timedelta(days=day.weekday())
    start = dt.datetime.combine(day, dt.time(), tzinfo=TZ)
    return start, start + dt.timedelta(days=1 if kind == "daily" else 7)


def build(kind: str, day: dt.date, *, now: dt.datetime | None = None) -> Report:
    start, end = period(kind, day)
    report = Report(kind=kind, start=start, end=end)
    items = Item.objects.between(start, end)
    counts = items.aggregate(n=Count("pk"), relevant=Count("pk", filter=Q(relevant=True)))
    report.items, report.relevant = counts["n"], counts["relevant"]
    trunc = TruncHour if kind == "daily" else TruncDay
    buckets = {
        row["bucket"].astimezone(TZ): (row["n"], row["relevant"])
        for row in items.annotate(bucket=trunc("time", tzinfo=TZ))
        .values("bucket")
        .annotate(n=Count("pk"), relevant=Count("pk", filter=Q(relevant=True)))
    }
    step = dt.timedelta(hours=1) if kind == "daily" else dt.timedelta(days=1)
    cursor = start
    while cursor < end:
        n, rel = buckets.get(cursor, (0, 0))
        label = cursor.strftime("%H:00") if kind == "daily" else cursor.strftime("%m-%d")
        report.volume.append((label, n, rel))
        cursor += step
    report.sentiment = {
        row["sentiment"]: row["n"]
        for row in items.relevant()
        .exclude(sentiment="")
        .values("sentiment")
        .annotate(n=Count("pk"))
    }
    report.sources = [
        (row["source"], row["n"])
        for row in items.relevant()
        .values("source")
        .annotate(n=Count("pk"))
        .order_by("-n", "source")
    ]
    events = Event.objects.visible()
    report.new_events = events.filter(first_time__gte=start, first_time__lt=end).count()
    report.active_events = events.filter(first_time__lt=end, last_time__gte=start).count()
    top = (
        events.filter(items__time__gte=start, items__time__lt=end)
        .annotate(in_period=Count("items"), reach_in_period=Sum("items__reach"))
        .order_by("-in_period", "-pk")[:10]
    )
    report.top_events = list(top)
    alerts = Alert.objects.filter(raised_at__gte=start, raised_at__lt=end).select_related("event")
    report.alerts = list(alerts.order_by("raised_at"))
    by_grade = dict(alerts.values_list("grade").annotate(n=Count("pk")))
    report.alerts_by_grade = {g: int(by_grade.get(g, 0)) for g in GRADES}
    tasks = ResponseTask.objects.select_related("event", "analyst", "unit")
    report.tasks = list(tasks.filter(opened_at__gte=start, opened_at__lt=end).order_by("opened_at"))
    report.tasks_opened = len(report.tasks)
    report.tasks_closed = tasks.filter(closed_at__gte=start, closed_at__lt=end).count()
    report.kpi = response_kpi(start, end, now=now)
    return report


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def xlsx(report: Report) -> bytes:
    """The report as a workbook: 概览, 声量 (with a bar chart), 事件, 预警 (with a pie chart),
    处置."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, PieChart, Reference
    from openpyxl.styles import Font

    wb = Workbook()
    bold = Font(bold=True)
    ws = wb.active
    ws.title = _("概览")
    kpi = report.kpi
    rows: list[tuple[str, Any]] = [
        (report.title, ""),
        (_("信息总量"), report.items),
        (_("涉本辖区信息"), report.relevant),
        (_("新发现事件"), report.new_events),
        (_("活跃事件"), report.active_events),
        (_("预警总数"), report.alerts_total),
        *[(_("%(grade)s预警") % {"grade": g}, n) for g, n in report.alerts_by_grade.items()],
        (_("新开处置任务"), report.tasks_opened),
        (_("办结处置任务"), report.tasks_closed),
        (_("首次回应用时中位数（小时）"), _hours(kpi.median_hours if kpi else None)),
        (_("首次回应用时平均（小时）"), _hours(kpi.mean_hours if kpi else None)),
        (_("按时首次回应"), f"{kpi.on_time}/{kpi.answered}" if kpi else "—"),
    ]
    for row in rows:
        ws.append(list(row))
    ws["A1"].font = Font(bold=True, size=14)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 16

    vol = wb.create_sheet(_("声量"))
    vol.append([_("时段"), _("信息量"), _("涉本辖区")])
    for cell in vol[1]:
        cell.font = bold
    for label, n, rel in report.volume:
        vol.append([label, n, rel])
    chart = BarChart()
    chart.title = _("声量走势")
    chart.y_axis.title = _("条数")
    chart.x_axis.title = _("时段")
    last = len(report.volume) + 1
    chart.add_data(
        Reference(vol, min_col=2, max_col=3, min_row=1, max_row=last), titles_from_data=True
    )
    chart.set_categories(Reference(vol, min_col=1, min_row=2, max_row=last))
    chart.width, chart.height = 24, 10
    vol.add_chart(chart, "E2")

    ev = wb.create_sheet(_("事件"))
    ev.append(
        [
            _("事件"),
            _("首条时间"),
            _("最新时间"),
            _("本期条数"),
            _("累计条数"),
            _("最高等级"),
            _("关键词"),
            _("状态"),
        ]
    )
    for cell in ev[1]:
        cell.font = bold
    for e in report.top_events:
        ev.append(
            [
                e.title,
                e.first_time.astimezone(TZ).strftime("%Y-%m-%d %H:%M"),
                e.last_time.astimezone(TZ).strftime("%Y-%m-%d %H:%M"),
                getattr(e, "in_period", 0),
                e.size,
                e.grade or "",
                "、".join(e.key_terms[:6]),
                str(e.get_status_display()),
            ]
        )
    ev.column_dimensions["A"].width = 44

    al = wb.create_sheet(_("预警"))
    al.append([_("等级"), _("条数")])
    for cell in al[1]:
        cell.font = bold
    for grade, n in report.alerts_by_grade.items():
        al.append([grade, n])
    pie = PieChart()
    pie.title = _("预警等级分布")
    pie.add_data(
        Reference(al, min_col=2, min_row=1, max_row=len(GRADES) + 1), titles_from_data=True
    )
    pie.set_categories(Reference(al, min_col=1, min_row=2, max_row=len(GRADES) + 1))
    al.add_chart(pie, "D2")
    al.append([])
    al.append([_("预警时间"), _("等级"), _("事件"), _("原因"), _("状态")])
    for a in report.alerts:
        al.append(
            [
                a.raised_at.astimezone(TZ).strftime("%Y-%m-%d %H:%M"),
                a.grade,
                a.event.title,
                a.reason,
                str(a.get_status_display()),
            ]
        )

    tk = wb.create_sheet(_("处置"))
    tk.append(
        [
            _("任务"),
            _("等级"),
            _("事件"),
            _("分析员"),
            _("责任单位"),
            _("开始计时"),
            _("权威信息时限"),
            _("办结时限"),
            _("首次回应"),
            _("状态"),
            _("总结"),
        ]
    )
    for cell in tk[1]:
        cell.font = bold
    for t in report.tasks:
        tk.append(
            [
                t.pk,
                t.grade,
                t.event.title,
                str(t.analyst) if t.analyst else "",
                t.unit.name if t.unit else "",
                _fmt(t.opened_at),
                _fmt(t.due_first),
                _fmt(t.due_full),
                _fmt(t.first_response_at),
                str(t.get_state_display()),
                t.summary,
            ]
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _fmt(value: dt.datetime | None) -> str:
    return "" if value is None else value.astimezone(TZ).strftime("%Y-%m-%d %H:%M")
