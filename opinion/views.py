"""Pages of the 舆情 desk. Analysts work here; leaders, auditors and admins read.

Each view parses its input, calls one service (opinion.services) and renders; a refused step
answers with the service's status (403, 409, 422) and its message.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from audit.services import record
from minsheng.errors import ServiceError
from opinion import charts, reports, services
from opinion import forms as of
from opinion.models import (
    Alert,
    AlertRule,
    Event,
    GazetteerTerm,
    Item,
    Notification,
    ResponseTask,
)
from org.roles import Role, has_role, role_required

READERS = (Role.ANALYST, Role.LEADER, Role.AUDITOR, Role.ADMIN)
EDITORS = (Role.ANALYST, Role.ADMIN)
TZ = reports.TZ


def _polarity_labels() -> dict[str, str]:
    return {"negative": _("负面"), "neutral": _("中性"), "positive": _("正面")}


def _refused(request: HttpRequest, exc: ServiceError, back: str) -> HttpResponse:
    return render(
        request,
        "opinion/refused.html",
        {"message": exc.message, "back": back},
        status=exc.status,
    )


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --- events -----------------------------------------------------------------------------------
@role_required(*READERS)
def event_list(request: HttpRequest) -> HttpResponse:
    form = of.EventFilterForm(request.GET or None)
    events = Event.objects.visible()
    if form.is_valid():
        data = form.cleaned_data
        if data["grade"]:
            events = events.filter(grade=data["grade"])
        if data["status"]:
            events = events.filter(status=data["status"])
        if data["period"]:
            since = timezone.now() - dt.timedelta(days=int(data["period"]))
            events = events.filter(last_time__gte=since)
        if data["q"]:
            q = data["q"].strip()
            mentions = Item.objects.filter(event=OuterRef("pk"), text__icontains=q)
            events = events.filter(
                Q(representative_text__icontains=q) | Q(category__icontains=q) | Exists(mentions)
            )
    page = Paginator(events.order_by("-last_time", "-pk"), 30).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "opinion/event_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "new_alerts": Alert.objects.filter(status=Alert.Status.NEW).count(),
            "open_tasks": ResponseTask.objects.active().count(),
        },
    )


def _volume(event: Event) -> tuple[list[tuple[str, int]], str, list[int]]:
    """Items per hour (events up to three days long) or per day, gaps filled with zeros, and
    the buckets where alerts were raised."""
    span = event.last_time - event.first_time
    hourly = span <= dt.timedelta(hours=72)
    trunc = TruncHour if hourly else TruncDay
    step = dt.timedelta(hours=1) if hourly else dt.timedelta(days=1)
    counts = {
        row["b"].astimezone(TZ): row["n"]
        for row in event.items.annotate(b=trunc("time", tzinfo=TZ))
        .values("b")
        .annotate(n=Count("pk"))
    }
    if not counts:
        return [], "", []
    start, end = min(counts), max(counts)
    alert_buckets = set()
    for raised in event.alerts.values_list("raised_at", flat=True):
        local = raised.astimezone(TZ)
        alert_buckets.add(
            local.replace(minute=0, second=0, microsecond=0)
            if hourly
            else local.replace(hour=0, minute=0, second=0, microsecond=0)
        )
    bars: list[tuple[str, int]] = []
    marked: list[int] = []
    cursor = start
    while cursor <= end and len(bars) < 400:
        label = cursor.strftime("%m-%d %H:00" if hourly else "%m-%d")
        if cursor in alert_buckets:
            marked.append(len(bars))
        bars.append((label, counts.get(cursor, 0)))
        cursor += step
    unit = _("每小时") if hourly else _("每天")
    return bars, unit, marked


@role_required(*READERS)
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=pk)
    if event.status == Event.Status.MERGED and event.merged_into_id:
        return redirect("opinion:event", pk=event.merged_into_id)
    bars, unit, marked = _volume(event)
    title = _("事件声量（%(unit)s条数）") % {"unit": unit}
    items = event.items.all()
    sources = list(
        items.values("source").annotate(n=Count("pk"), reach=Sum("reach")).order_by("-n", "source")
    )
    posts = list(
        items.filter(duplicate_of__isnull=True)
        .select_related("appeal")
        .order_by("-reach", "time")[:5]
    )
    earliest = list(items.select_related("appeal").order_by("time", "pk")[:5])
    latest = Paginator(items.select_related("appeal").order_by("-time", "-pk"), 30).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "opinion/event_detail.html",
        {
            "event": event,
            "chart": charts.volume(bars, title, highlight=marked) if bars else "",
            "chart_title": title,
            "bars": bars,
            "sentiment_chart": charts.sentiment_bar(event.sentiment, _polarity_labels())
            if event.sentiment
            else "",
            "sentiment_rows": [
                (label, event.sentiment.get(key, 0)) for key, label in _polarity_labels().items()
            ],
            "negative_share": event.negative_share(),
            "sources": sources,
            "posts": posts,
            "earliest": earliest,
            "latest": latest,
            "alerts": event.alerts.order_by("raised_at"),
            "tasks": event.tasks.select_related("analyst", "unit").order_by("-opened_at"),
            "absorbed": event.absorbed.all(),
            "can_act": has_role(request.user, Role.ANALYST),
        },
    )


# --- alerts -----------------------------------------------------------------------------------
@role_required(*READERS)
def alert_queue(request: HttpRequest) -> HttpResponse:
    form = of.AlertFilterForm(request.GET or None)
    alerts = Alert.objects.queue().select_related("event", "acknowledged_by")
    status = ""
    if form.is_valid():
        status = form.cleaned_data["status"]
        if form.cleaned_data["grade"]:
            alerts = alerts.filter(grade=form.cleaned_data["grade"])
    if status == "":
        alerts = alerts.exclude(status=Alert.Status.CLOSED)
    elif status != "all":
        alerts = alerts.filter(status=status)
    page = Paginator(alerts, 30).get_page(request.GET.get("page"))
    # An alert that raised the grade of an event already being answered has no task of its
    # own: it shows the event's newest task.
    tasks = {
        t.event_id: t
        for t in ResponseTask.objects.filter(event__in=[a.event_id for a in page]).order_by(
            "opened_at", "pk"
        )
    }
    return render(
        request,
        "opinion/alert_queue.html",
        {
            "form": form,
            "page": page,
            "rows": [(a, tasks.get(a.event_id)) for a in page],
            "can_act": has_role(request.user, Role.ANALYST),
        },
    )


@role_required(Role.ANALYST)
@require_POST
def alert_ack(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=pk)
    back = _back(request, reverse("opinion:alerts"))
    try:
        services.do_acknowledge_alert(alert, request.user, request=request)
    except ServiceError as exc:
        return _refused(request, exc, back)
    messages.success(request, _("已确认预警。"))
    return redirect(back)


# --- responses --------------------------------------------------------------------------------
def _countdown(due: dt.datetime | None, now: dt.datetime) -> dict[str, Any] | None:
    if due is None:
        return None
    seconds = int((due - now).total_seconds())
    late = seconds < 0
    minutes = abs(seconds) // 60
    text = _("%(h)s 小时 %(m)s 分") % {"h": minutes // 60, "m": minutes % 60}
    return {"due": due, "late": late, "text": text, "soon": 0 <= seconds < 3600}


def _task_row(task: ResponseTask, now: dt.datetime) -> dict[str, Any]:
    clock = task.next_deadline()
    return {
        "task": task,
        "clock": clock[0] if clock else None,
        "countdown": _countdown(clock[1], now) if clock else None,
    }


@role_required(*READERS)
def task_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    active = list(
        ResponseTask.objects.active()
        .select_related("event", "analyst", "unit")
        .order_by("due_full")
    )
    active.sort(key=lambda t: (t.next_deadline() or ("", t.due_full))[1])
    mine = request.GET.get("mine") == "1"
    if mine:
        active = [t for t in active if t.analyst_id == request.user.pk]
    closed = (
        ResponseTask.objects.filter(state=ResponseTask.State.CLOSED)
        .select_related("event", "analyst", "unit")
        .order_by("-closed_at")[:20]
    )
    local = timezone.localtime(now, TZ)
    week_start = (local - dt.timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    kpis = [
        (_("本周"), services.response_kpi(week_start, now + dt.timedelta(seconds=1), now=now)),
        (
            _("近 30 天"),
            services.response_kpi(
                now - dt.timedelta(days=30), now + dt.timedelta(seconds=1), now=now
            ),
        ),
    ]
    return render(
        request,
        "opinion/task_list.html",
        {
            "rows": [_task_row(t, now) for t in active],
            "closed": closed,
            "kpis": kpis,
            "mine": mine,
        },
    )


def _task_context(request: HttpRequest, task: ResponseTask, **forms: Any) -> dict[str, Any]:
    now = timezone.now()
    items = task.event.items.select_related("appeal").order_by("-reach", "time")[:10]
    return {
        "row": _task_row(task, now),
        "task": task,
        "event": task.event,
        "actions": task.actions.select_related("actor"),
        "items": items,
        "action_form": forms.get("action_form") or of.ActionForm(),
        "close_form": forms.get("close_form") or of.CloseForm(),
        "assign_form": forms.get("assign_form")
        or of.AssignForm(initial={"analyst": task.analyst_id, "unit": task.unit_id}),
        "can_act": has_role(request.user, Role.ANALYST),
        "first_hours": task.first_response_hours(),
    }


def _task(pk: int) -> ResponseTask:
    return get_object_or_404(
        ResponseTask.objects.select_related("event", "alert", "analyst", "unit", "closed_by"), pk=pk
    )


@role_required(*READERS)
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task(pk)
    return render(request, "opinion/task_detail.html", _task_context(request, task))


def _task_step(
    request: HttpRequest, task: ResponseTask, form_name: str, form: Any, call: Any, done: str
) -> HttpResponse:
    if not form.is_valid():
        ctx = _task_context(request, task, **{form_name: form})
        return render(request, "opinion/task_detail.html", ctx, status=422)
    try:
        call(form.cleaned_data)
    except ServiceError as exc:
        form.add_error(None, str(exc.message))
        ctx = _task_context(request, task, **{form_name: form})
        return render(request, "opinion/task_detail.html", ctx, status=exc.status)
    messages.success(request, done)
    return redirect("opinion:task", pk=task.pk)


@role_required(Role.ANALYST)
@require_POST
def task_act(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task(pk)
    return _task_step(
        request,
        task,
        "action_form",
        of.ActionForm(request.POST),
        lambda d: services.do_record_action(
            task, request.user, d["kind"], d["text"], request=request
        ),
        _("已记录处置。"),
    )


@role_required(Role.ANALYST)
@require_POST
def task_close(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task(pk)
    return _task_step(
        request,
        task,
        "close_form",
        of.CloseForm(request.POST),
        lambda d: services.do_close_task(task, request.user, d["summary"], request=request),
        _("任务已办结。"),
    )


@role_required(Role.ANALYST)
@require_POST
def task_assign(request: HttpRequest, pk: int) -> HttpResponse:
    task = _task(pk)
    return _task_step(
        request,
        task,
        "assign_form",
        of.AssignForm(request.POST),
        lambda d: services.do_reassign_task(
            task, request.user, analyst=d["analyst"], unit=d["unit"], request=request
        ),
        _("已调整负责人。"),
    )


@role_required(Role.ANALYST)
@require_POST
def item_appeal(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Item, pk=pk)
    default = (
        reverse("opinion:event", args=[item.event_id])
        if item.event_id
        else reverse("opinion:events")
    )
    back = _back(request, default)
    try:
        appeal = services.do_post_to_appeal(item, request.user, request=request)
    except ServiceError as exc:
        return _refused(request, exc, back)
    messages.success(request, _("已转为诉求 %(code)s，进入受理流程。") % {"code": appeal.code})
    return redirect(back)


# --- the gazetteer and the rules --------------------------------------------------------------
@role_required(*EDITORS)
def gazetteer(request: HttpRequest) -> HttpResponse:
    from org.models import Unit

    form = of.TermsForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                added = services.do_add_terms(
                    request.user, d["kind"], d["terms"], note=d["note"], request=request
                )
            except ServiceError as exc:
                form.add_error(None, str(exc.message))
                status = exc.status
            else:
                messages.success(request, _("已添加 %(n)s 个词语。") % {"n": len(added)})
                return redirect("opinion:gazetteer")
        else:
            status = 422
    terms = GazetteerTerm.objects.select_related("created_by").order_by("kind", "-active", "term")
    groups = [
        (label, [t for t in terms if t.kind == kind]) for kind, label in GazetteerTerm.Kind.choices
    ]
    return render(
        request,
        "opinion/gazetteer.html",
        {"form": form, "groups": groups, "units": Unit.objects.active().count()},
        status=status,
    )


@role_required(*EDITORS)
@require_POST
def gazetteer_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    term = get_object_or_404(GazetteerTerm, pk=pk)
    try:
        services.do_set_term_active(term, request.user, not term.active, request=request)
    except ServiceError as exc:
        return _refused(request, exc, reverse("opinion:gazetteer"))
    return redirect("opinion:gazetteer")


@role_required(*EDITORS)
def rules(request: HttpRequest) -> HttpResponse:
    import json

    from opinion.engine.rules import FEATURES

    status = 200
    if request.method == "POST":
        form = of.RulesForm(request.POST)
        if form.is_valid():
            try:
                row = services.do_save_rules(
                    request.user,
                    form.cleaned_data["rules"],
                    note=form.cleaned_data["note"],
                    request=request,
                )
            except ServiceError as exc:
                form.add_error("rules", str(exc.message))
                status = exc.status
            else:
                messages.success(request, _("预警规则已保存为第 %(v)s 版。") % {"v": row.version})
                return redirect("opinion:rules")
        else:
            status = 422
    else:
        text = json.dumps(services.current_rules(), ensure_ascii=False, indent=2)
        form = of.RulesForm(initial={"rules": text})
    return render(
        request,
        "opinion/rules.html",
        {
            "form": form,
            "features": FEATURES,
            "versions": AlertRule.objects.select_related("created_by")[:10],
        },
        status=status,
    )


# --- reports ----------------------------------------------------------------------------------
def _report_day(request: HttpRequest) -> dt.date:
    form = of.ReportForm(request.GET or None)
    if form.is_valid() and form.cleaned_data["date"]:
        return form.cleaned_data["date"]
    if request.GET.get("date") and not form.is_valid():
        raise Http404(_("日期格式应为 YYYY-MM-DD。"))
    return timezone.localtime(timezone.now(), TZ).date()


@role_required(*READERS)
def report(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in reports.KINDS:
        raise Http404
    day = _report_day(request)
    data = reports.build(kind, day)
    step = dt.timedelta(days=1 if kind == "daily" else 7)
    return render(
        request,
        "opinion/report.html",
        {
            "report": data,
            "kind": kind,
            "day": day,
            "prev": day - step,
            "next": day + step,
            "form": of.ReportForm(initial={"date": day}),
            "chart": charts.volume([(label, n) for label, n, _rel in data.volume], data.title),
        },
    )


@role_required(*READERS)
def report_xlsx(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in reports.KINDS:
        raise Http404
    day = _report_day(request)
    data = reports.build(kind, day)
    body = reports.xlsx(data)
    record(
        request.user,
        "opinion.report_export",
        None,
        after={"kind": kind, "day": day.isoformat(), "format": "xlsx"},
        request=request,
    )
    response = HttpResponse(
        body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="opinion-{kind}-{day.isoformat()}.xlsx"'
    )
    return response


# --- in-app notifications ---------------------------------------------------------------------
@role_required(*READERS)
def notifications(request: HttpRequest) -> HttpResponse:
    notes = Notification.objects.filter(recipient_id=request.user.pk).select_related("alert")[:50]
    return render(request, "opinion/notifications.html", {"notes": notes})


@role_required(*READERS)
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    services.do_mark_notifications_read(request.user)
    return redirect("opinion:notifications")
