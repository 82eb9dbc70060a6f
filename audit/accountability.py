"""Accountability figures per unit and per handler, each backed by the list of records behind it.

Every figure is the length of a list of ``Record`` (one appeal, one moment, the unit and the
handler it is charged to), and the drill-down page shows exactly that list, so a number can
always be checked one click away. Attribution:

- 超期 overdue: an escalation (``escalate`` event) charged to the unit that held the order and to
  the handler who signed it for that unit;
- 退回 returns and 申请延期 extensions: the event's unit and actor;
- 重办 reopenings (a 不满意 callback or a citizen's reopen): the unit, and the author of the reply
  the citizen reacted to (the latest reply before the reopening);
- 不满意 dissatisfaction: callbacks rated 不满意, charged to the rated reply's unit and author;
- 答复 replies (the closures of the unit's work) and 回访 callbacks are the denominators;
- 临期答复 last-hour replies: replies given within the last hour before the reply deadline.

Outliers: a unit whose reopen rate (reopenings / replies) is at least ``factor`` times the
city-wide rate with at least ``min_n`` replies; a handler whose 不满意 rate (per callback) is at
least ``factor`` times the city-wide rate with at least ``min_n`` callbacks; a unit or handler
with at least ``bulk_min`` last-hour replies making up at least ``bulk_share`` of its replies.

The reply deadline of a last-hour reply is the appeal's current ``reply_due``; after a reopening
that is the new deadline, so an earlier reply of a reopened appeal is not counted as last-hour.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appeals.models import Appeal, AppealEvent, Callback, Rating, Reply, State
from org.models import Unit
from org.roles import Role, role_required, units_for

METRICS: dict[str, Any] = {
    "overdue": _("超期"),
    "returns": _("退回"),
    "reopenings": _("重办"),
    "unsatisfied": _("不满意"),
    "extensions": _("申请延期"),
    "replies": _("答复"),
    "callbacks": _("回访"),
    "last_hour": _("临期一小时内答复"),
    "substantiated": _("查实的举报"),
}
LAST_HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Thresholds:
    min_n: int = 10
    factor: float = 2.0
    bulk_min: int = 5
    bulk_share: float = 0.3


@dataclass(frozen=True)
class Record:
    metric: str
    appeal_id: int
    at: dt.datetime
    unit_id: int | None
    handler_id: int | None


@dataclass
class Row:
    key: int
    label: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(METRICS, 0))
    flags: list[str] = field(default_factory=list)

    def rate(self, num: str, den: str) -> float | None:
        return self.counts[num] / self.counts[den] if self.counts[den] else None

    @property
    def reopen_rate(self) -> float | None:
        return self.rate("reopenings", "replies")

    @property
    def unsatisfied_rate(self) -> float | None:
        return self.rate("unsatisfied", "callbacks")


@dataclass
class Table:
    by: str
    rows: list[Row]
    city_reopen_rate: float | None
    city_unsatisfied_rate: float | None


def period_bounds(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(since, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min))
    return start, end


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    today = today or timezone.localdate()
    return today - dt.timedelta(days=89), today


def _events(action: str, start: dt.datetime, end: dt.datetime) -> Any:
    return AppealEvent.objects.filter(action=action, at__gte=start, at__lt=end)


def _latest_reply_authors(
    pairs: Iterable[tuple[int, dt.datetime]],
) -> dict[tuple[int, dt.datetime], tuple[int | None, int | None]]:
    """(appeal, moment) → (unit, author) of the latest reply at or before that moment."""
    pairs = list(pairs)
    replies: dict[int, list[tuple[dt.datetime, int | None, int | None]]] = defaultdict(list)
    rows = Reply.objects.filter(appeal_id__in={a for a, _m in pairs}).values_list(
        "appeal_id", "at", "unit_id", "author_id"
    )
    for appeal_id, at, unit_id, author_id in rows.order_by("at", "pk"):
        replies[appeal_id].append((at, unit_id, author_id))
    out: dict[tuple[int, dt.datetime], tuple[int | None, int | None]] = {}
    for appeal_id, moment in pairs:
        before = [r for r in replies.get(appeal_id, []) if r[0] <= moment]
        out[(appeal_id, moment)] = (before[-1][1], before[-1][2]) if before else (None, None)
    return out


def collect(start: dt.datetime, end: dt.datetime) -> list[Record]:
    """Every record of every metric in the period, city-wide."""
    out: list[Record] = []
    # Overdue: charged to the unit, and to whoever signed the order for that unit.
    escalations = list(_events("escalate", start, end).values_list("appeal_id", "at", "unit_id"))
    signs: dict[tuple[int, int | None], list[tuple[dt.datetime, int | None]]] = defaultdict(list)
    sign_rows = AppealEvent.objects.filter(
        action="sign", appeal_id__in={e[0] for e in escalations}
    ).values_list("appeal_id", "unit_id", "at", "actor_id")
    for appeal_id, unit_id, at, actor_id in sign_rows.order_by("at", "pk"):
        signs[(appeal_id, unit_id)].append((at, actor_id))
    for appeal_id, at, unit_id in escalations:
        signers = [s for s in signs.get((appeal_id, unit_id), []) if s[0] <= at]
        out.append(Record("overdue", appeal_id, at, unit_id, signers[-1][1] if signers else None))
    for metric, action in (("returns", "return"), ("extensions", "request_extension")):
        for appeal_id, at, unit_id, actor_id in _events(action, start, end).values_list(
            "appeal_id", "at", "unit_id", "actor_id"
        ):
            out.append(Record(metric, appeal_id, at, unit_id, actor_id))
    reopen_events = list(
        AppealEvent.objects.filter(at__gte=start, at__lt=end)
        .filter(Q(action="reopen") | Q(action="callback", to_state=State.REOPENED))
        .values_list("appeal_id", "at", "unit_id")
    )
    authors = _latest_reply_authors((a, at) for a, at, _u in reopen_events)
    for appeal_id, at, unit_id in reopen_events:
        out.append(Record("reopenings", appeal_id, at, unit_id, authors[(appeal_id, at)][1]))
    # Follower copies of a reply (merged appeals) are not separate work: count the original.
    for appeal_id, at, unit_id, author_id, reply_due in Reply.objects.filter(
        at__gte=start, at__lt=end, source__isnull=True
    ).values_list("appeal_id", "at", "unit_id", "author_id", "appeal__reply_due"):
        out.append(Record("replies", appeal_id, at, unit_id, author_id))
        if reply_due is not None and dt.timedelta(0) <= reply_due - at <= LAST_HOUR:
            out.append(Record("last_hour", appeal_id, at, unit_id, author_id))
    for appeal_id, at, rating, unit_id, author_id in Callback.objects.filter(
        at__gte=start, at__lt=end
    ).values_list("appeal_id", "at", "rating", "reply__unit_id", "reply__author_id"):
        out.append(Record("callbacks", appeal_id, at, unit_id, author_id))
        if rating == Rating.UNSATISFIED:
            out.append(Record("unsatisfied", appeal_id, at, unit_id, author_id))
    return out


def collect_substantiated(user: Any, start: dt.datetime, end: dt.datetime) -> list[Record]:
    """Misconduct reports decided after 立案 (处理结果) in the period, for inspectors only.

    Only the reports ``integrity.services.visible_to`` lets this inspector see (never their own
    unit's, never about themselves); for anybody else nothing, so no page tells a unit or a
    leader that reports about it exist. ``appeal_id`` holds the report's id here.
    """
    from integrity import services as integrity

    if not integrity.is_inspector(user):
        return []
    from integrity.models import Event

    rows = Event.objects.filter(
        action="step.decide",
        created_at__gte=start,
        created_at__lt=end,
        report__in=integrity.visible_to(user),
    ).values_list("report_id", "created_at", "report__target_unit_id", "report__target_person_id")
    return [
        Record("substantiated", pk, at, unit_id, person_id) for pk, at, unit_id, person_id in rows
    ]


def records_for(user: Any, start: dt.datetime, end: dt.datetime) -> list[Record]:
    return collect(start, end) + collect_substantiated(user, start, end)


def scope_units(user: Any) -> list[Unit] | None:
    """The units whose figures the user may read: where they lead, audit or administer (each
    with the units below). None — every unit — for a superuser."""
    if getattr(user, "is_superuser", False):
        return None
    reach = units_for(user, Role.LEADER) | units_for(user, Role.AUDITOR)
    return list((reach | units_for(user, Role.ADMIN)).distinct())


def _rate(records: list[Record], num: str, den: str) -> float | None:
    n = sum(1 for r in records if r.metric == den)
    return sum(1 for r in records if r.metric == num) / n if n else None


def table(
    records: list[Record],
    by: str,
    units: list[Unit] | None,
    thresholds: Thresholds = Thresholds(),
) -> Table:
    """Rows per unit or per handler, limited to ``units`` (None: all), with outlier flags."""
    allowed = None if units is None else {u.pk for u in units}
    visible = [r for r in records if allowed is None or r.unit_id in allowed]
    rows: dict[int, Row] = {}
    for r in visible:
        key = r.unit_id if by == "unit" else r.handler_id
        if key is None:
            continue
        rows.setdefault(key, Row(key, "")).counts[r.metric] += 1
    if by == "unit":
        labels = dict(Unit.objects.filter(pk__in=rows).values_list("pk", "name"))
    else:
        users = get_user_model().objects.filter(pk__in=rows)
        labels = {u.pk: getattr(u, "display_name", "") or u.get_username() for u in users}
    city_reopen = _rate(records, "reopenings", "replies")
    city_unsat = _rate(records, "unsatisfied", "callbacks")
    t = thresholds
    for row in rows.values():
        row.label = str(labels.get(row.key, row.key))
        reopen, unsat = row.reopen_rate, row.unsatisfied_rate
        if (
            by == "unit"
            and reopen is not None
            and city_reopen is not None
            and row.counts["replies"] >= t.min_n
            and reopen > 0
            and reopen >= t.factor * city_reopen
        ):
            row.flags.append("reopen_rate")
        if (
            by == "handler"
            and unsat is not None
            and city_unsat is not None
            and row.counts["callbacks"] >= t.min_n
            and unsat > 0
            and unsat >= t.factor * city_unsat
        ):
            row.flags.append("unsatisfied_rate")
        last = row.counts["last_hour"]
        if last >= t.bulk_min and last >= t.bulk_share * row.counts["replies"]:
            row.flags.append("last_hour_bulk")
    ordered = sorted(rows.values(), key=lambda r: (-len(r.flags), r.label))
    return Table(by, ordered, city_reopen, city_unsat)


def drill(
    records: list[Record],
    metric: str,
    units: list[Unit] | None,
    *,
    unit_id: int | None = None,
    handler_id: int | None = None,
) -> list[tuple[Record, Appeal]]:
    """The records behind one figure, with their appeals, newest first."""
    allowed = None if units is None else {u.pk for u in units}
    chosen = [
        r
        for r in records
        if r.metric == metric
        and (allowed is None or r.unit_id in allowed)
        and (unit_id is None or r.unit_id == unit_id)
        and (handler_id is None or r.handler_id == handler_id)
    ]
    appeals = Appeal.objects.in_bulk({r.appeal_id for r in chosen})
    pairs = [(r, appeals[r.appeal_id]) for r in chosen if r.appeal_id in appeals]
    return sorted(pairs, key=lambda p: p[0].at, reverse=True)


# --- pages ---------------------------------------------------------------------------------------
class PeriodForm(forms.Form):
    by = forms.ChoiceField(
        label=_("维度"),
        required=False,
        choices=[("unit", _("按单位")), ("handler", _("按承办人"))],
    )
    since = forms.DateField(
        label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = default_period()
        data["since"] = data.get("since") or since
        data["until"] = data.get("until") or until
        data["by"] = data.get("by") or "unit"
        if data["since"] > data["until"]:
            self.add_error("until", _("截止日期不能早于起始日期。"))
        return data


class DrillForm(PeriodForm):
    metric = forms.ChoiceField(label=_("指标"), choices=list(METRICS.items()))
    unit = forms.IntegerField(required=False, min_value=1)
    handler = forms.IntegerField(required=False, min_value=1)


readers_only = role_required(Role.LEADER, Role.AUDITOR, Role.ADMIN)
SHOWN = ("overdue", "returns", "reopenings", "unsatisfied", "extensions", "replies", "last_hour")


@readers_only
def overview(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/accountability.html", {"form": form}, status=400)
    data = form.cleaned_data
    records = records_for(request.user, *period_bounds(data["since"], data["until"]))
    result = table(records, data["by"], scope_units(request.user))
    shown = SHOWN + (("substantiated",) if _inspects(request.user) else ())
    base = {"since": data["since"].isoformat(), "until": data["until"].isoformat()}
    rows = [
        {
            "row": row,
            "cells": [
                (
                    row.counts[m],
                    urlencode({**base, "metric": m, data["by"]: row.key}),
                )
                for m in shown
            ],
        }
        for row in result.rows
    ]
    return render(
        request,
        "audit/accountability.html",
        {
            "form": form,
            "table": result,
            "rows": rows,
            "headers": [METRICS[m] for m in shown],
            "by": data["by"],
        },
    )


@readers_only
def records_view(request: HttpRequest) -> HttpResponse:
    form = DrillForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/accountability_records.html", {"form": form}, status=400)
    data = form.cleaned_data
    if data["metric"] == "substantiated":
        return _substantiated_records(request, form)
    records = collect(*period_bounds(data["since"], data["until"]))
    pairs = drill(
        records,
        data["metric"],
        scope_units(request.user),
        unit_id=data.get("unit"),
        handler_id=data.get("handler"),
    )
    return render(
        request,
        "audit/accountability_records.html",
        {"form": form, "pairs": pairs, "metric": METRICS[data["metric"]], "data": data},
    )


def _inspects(user: Any) -> bool:
    from integrity.services import is_inspector

    return is_inspector(user)


def _substantiated_records(request: HttpRequest, form: DrillForm) -> HttpResponse:
    """The decided reports behind the inspectors' column; 404 for anybody else, as integrity's
    own pages answer."""
    if not _inspects(request.user):
        raise Http404
    data = form.cleaned_data
    records = collect_substantiated(request.user, *period_bounds(data["since"], data["until"]))
    chosen = [
        r
        for r in records
        if (data.get("unit") is None or r.unit_id == data["unit"])
        and (data.get("handler") is None or r.handler_id == data["handler"])
    ]
    return render(
        request,
        "audit/accountability_reports.html",
        {"records": sorted(chosen, key=lambda r: r.at, reverse=True), "data": data},
    )
