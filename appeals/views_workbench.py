"""Staff pages for appeals (诉求办理) under ``/workbench/appeals/``: the queue, the case, the steps.

Each step is one POST to ``<id>/<step>/``: the view parses the step's form, calls the one service
function for it, and redirects back to the case with a message (post/redirect/get). A service's
refusal — 403 not allowed here, 409 not in this state, 422 bad input — is shown on the case page
beside the form, with the status the API would answer. Cases outside the reader's scope are 404.

Stable hooks for people writing journeys (kept across changes): each step's form is
``#form-<step>`` with its button ``#btn-<step>`` and fields ``#id_<step>-<field>`` (``#id_reply-text``,
the dispatch radios ``name=dispatch-unit``, ``#id_callback-rating_0``…); the case's state is
``#case-state``, its timeline ``#timeline``, the messages ``.messages``, a refusal ``#page-error``;
the queue's tabs are ``#tab-<view>`` and each row links the appeal's code.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Literal
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Case, DateTimeField, F, Q, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from appeals import clock, duplicates, review, services, suggest
from appeals import forms_workbench as wf
from appeals.models import (
    HANDLE_CLOCK_STATES,
    SIGN_CLOCK_STATES,
    Appeal,
    AppealPhoto,
    AppealQuerySet,
    CallbackChannel,
    Rating,
    Review,
    State,
)
from minsheng.errors import ServiceError
from org import calendar
from org.calendar import CALENDAR_TZ
from org.models import Unit
from org.roles import Role, has_role, units_for
from search import appeals as search_appeals
from vault import services as vault

STAFF_READERS = (Role.AGENT, Role.HANDLER, Role.LEADER, Role.AUDITOR, Role.ADMIN)
PER_PAGE = 50
# Steps the workbench offers; withdrawing is the citizen's own step.
STAFF_STEPS = tuple(wf.STEP_FORMS)
# What each role has waiting for it ("我的待办").
AGENT_TODO = (State.RECEIVED, State.REGISTERED, State.RETURNED, State.CALLED_BACK)
HANDLER_TODO = (State.DISPATCHED, State.SIGNED, State.HANDLING, State.REOPENED)

_View = Callable[..., HttpResponseBase]


def staff_reader(view: _View) -> _View:
    """Signed-in staff who read appeals: anonymous → sign-in, citizens and other staff → 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(request.user, "kind", None) == Role.CITIZEN.value or not has_role(
            request.user, *STAFF_READERS
        ):
            raise PermissionDenied(_("诉求办理只对话务员、承办人、领导和纪检人员开放。"))
        return view(request, *args, **kwargs)

    return wrapper


# --- the clock as a person reads it ------------------------------------------------------------
Level = Literal["ok", "warning", "overdue", "paused", "done"]
CLOCK_NAMES = frozenset({"sign", "handle", "reply"})


@dataclass(frozen=True)
class Countdown:
    clock: str
    label: str
    due: dt.datetime
    level: Level
    text: str
    # Working seconds left (negative once overdue) and, while a working period is under way,
    # how many seconds it still runs: the page's script ticks only inside that window.
    seconds: int
    ticking: int


def _clock_label(name: str) -> str:
    return {"sign": _("签收"), "handle": _("办理"), "reply": _("答复")}[name]


def _span(delta: dt.timedelta, *, petition: bool) -> str:
    """A duration in the words of the clock: calendar days for 信访, working time otherwise."""
    seconds = int(abs(delta.total_seconds()))
    if petition:
        days, rest = divmod(seconds, 86400)
        if days:
            return _("%(d)s 天 %(h)s 小时") % {"d": days, "h": rest // 3600}
    else:
        day = int(calendar.working_day_length().total_seconds()) or 86400
        days, rest = divmod(seconds, day)
        if days:
            hours = rest // 3600
            if hours:
                return _("%(d)s 个工作日 %(h)s 小时") % {"d": days, "h": hours}
            return _("%(d)s 个工作日") % {"d": days}
    hours, minutes = rest // 3600, rest % 3600 // 60
    if hours and minutes:
        return _("%(h)s 小时 %(m)s 分") % {"h": hours, "m": minutes}
    if hours:
        return _("%(h)s 小时") % {"h": hours}
    return _("%(m)s 分钟") % {"m": minutes}


def _ticking_window(now: dt.datetime) -> int:
    """Seconds until the working period under way ends; 0 outside working hours."""
    local = now.astimezone(CALENDAR_TZ)
    if not calendar.is_workday(local):
        return 0
    for start, end in calendar.working_periods():
        begin = dt.datetime.combine(local.date(), start, tzinfo=CALENDAR_TZ)
        finish = dt.datetime.combine(local.date(), end, tzinfo=CALENDAR_TZ)
        if begin <= local < finish:
            return int((finish - local).total_seconds())
    return 0


def running_clocks(appeal: Appeal) -> list[str]:
    if appeal.state in SIGN_CLOCK_STATES:
        return ["sign"]
    if appeal.state in HANDLE_CLOCK_STATES:
        return ["handle", "reply"]
    return []


class WorkingTime:
    """``calendar.working_time_between`` for a page of countdowns, with whole days summed once.

    The calendar walks a span day by day; an order overdue for a year costs a year of days, and
    the "overdue" queue lists the longest-overdue first: 50 rows × two clocks took seconds. Here
    a span is cut at midnights (working periods never cross one, so the parts add up exactly):
    the partial first and last days go to the calendar; the whole days between come from running
    totals of the calendar's figure for each day, computed once per page and shared by its rows.
    """

    def __init__(self) -> None:
        self._base: dt.date | None = None
        # _totals[i]: working time of the days from _base up to (not including) _base + i.
        self._totals: list[dt.timedelta] = [dt.timedelta(0)]

    @staticmethod
    def _day(day: dt.date) -> dt.timedelta:
        start = dt.datetime.combine(day, dt.time.min, tzinfo=CALENDAR_TZ)
        return calendar.working_time_between(start, start + dt.timedelta(days=1))

    def _whole_days(self, first: dt.date, stop: dt.date) -> dt.timedelta:
        """Working time of the days ``first`` up to (not including) ``stop``."""
        if self._base is None:
            self._base = first
        if first < self._base:
            earlier = [dt.timedelta(0)]
            day = first
            while day < self._base:
                earlier.append(earlier[-1] + self._day(day))
                day += dt.timedelta(days=1)
            shift = earlier[-1]
            self._totals = earlier + [shift + t for t in self._totals[1:]]
            self._base = first
        while len(self._totals) <= (stop - self._base).days:
            day = self._base + dt.timedelta(days=len(self._totals) - 1)
            self._totals.append(self._totals[-1] + self._day(day))
        return self._totals[(stop - self._base).days] - self._totals[(first - self._base).days]

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        if end < start:
            return -self.between(end, start)
        first, last = start.astimezone(CALENDAR_TZ).date(), end.astimezone(CALENDAR_TZ).date()
        if (last - first).days < 2:
            return calendar.working_time_between(start, end)
        after_first = dt.datetime.combine(first + dt.timedelta(days=1), dt.time.min, CALENDAR_TZ)
        last_begins = dt.datetime.combine(last, dt.time.min, tzinfo=CALENDAR_TZ)
        return (
            calendar.working_time_between(start, after_first)
            + self._whole_days(first + dt.timedelta(days=1), last)
            + calendar.working_time_between(last_begins, end)
        )


def countdown(
    appeal: Appeal, name: str, now: dt.datetime, working: WorkingTime | None = None
) -> Countdown | None:
    """Where one of the appeal's clocks stands now; None when it has no deadline. ``working``
    shares whole days' working time between the rows of one page."""
    due: dt.datetime | None = getattr(appeal, f"{name}_due")
    if due is None:
        return None
    label = _clock_label(name)
    if name not in running_clocks(appeal):
        return Countdown(name, label, due, "done", "", 0, 0)
    if appeal.suspended_at is not None:
        return Countdown(name, label, due, "paused", _("已中止计时"), 0, 0)
    petition = clock.is_petition(appeal)
    between = (working or WorkingTime()).between
    left = (due - now) if petition else between(now, due)
    if now >= due:
        # The same span the other way round: one walk of the calendar, not two.
        late = -left
        text = _("超期 %(span)s") % {"span": _span(late, petition=petition)}
        level: Level = "overdue"
    elif getattr(appeal, f"{name}_overdue"):
        # Flagged by the sweep, then the deadline moved (a resumed clock): still counted late.
        text, level = _("已超期"), "overdue"
    else:
        text = _("剩余 %(span)s") % {"span": _span(left, petition=petition)}
        warned = bool(getattr(appeal, f"{name}_warned"))
        level = (
            "warning" if warned or clock.warning_started(now, due, clock.rule_for(appeal)) else "ok"
        )
    ticking = 0 if petition else _ticking_window(now)
    return Countdown(name, label, due, level, text, int(left.total_seconds()), ticking)


def next_countdown(
    appeal: Appeal, now: dt.datetime, working: WorkingTime | None = None
) -> Countdown | None:
    """The most pressing running clock: an overdue one first, else the nearest deadline."""
    clocks = (countdown(appeal, n, now, working) for n in running_clocks(appeal))
    found = [c for c in clocks if c]
    if not found:
        return None
    return min(found, key=lambda c: (c.level != "overdue", c.due))


# --- the queue ---------------------------------------------------------------------------------
def _under(field: str, units: Any) -> Q:
    """``field`` is one of ``units`` or below one. ``units_for`` lists every unit of a subtree;
    only the subtrees' tops are needed, which keeps the OR short for a city-wide role."""
    tops: list[Unit] = []
    for unit in sorted(units, key=lambda u: len(u.path)):
        if not any(unit.path.startswith(top.path) for top in tops):
            tops.append(unit)
    condition = Q(pk__in=[])
    for unit in tops:
        condition |= Q(**{f"{field}__path__startswith": unit.path})
    return condition


def todo_filter(user: Any) -> Q:
    """What waits for this person in their roles: the hotline's intake steps, the unit's orders,
    and a leader's overdue, extension and suspension decisions."""
    condition = Q(pk__in=[])
    if has_role(user, Role.AGENT):
        condition |= Q(state__in=AGENT_TODO) & (
            _under("intake_unit", units_for(user, Role.AGENT)) | Q(intake_unit__isnull=True)
        )
    if has_role(user, Role.HANDLER):
        condition |= Q(state__in=HANDLER_TODO) & _under(
            "current_unit", units_for(user, Role.HANDLER)
        )
    if has_role(user, Role.LEADER):
        waiting = (
            Q(sign_overdue=True)
            | Q(handle_overdue=True)
            | Q(reply_overdue=True)
            | Q(extension_requested_days__isnull=False)
            | Q(suspended_at__isnull=False)
        )
        leader_units = units_for(user, Role.LEADER)
        condition |= waiting & Q(state__in=HANDLER_TODO) & _under("current_unit", leader_units)
        # 复查/复核 requests waiting for the written opinion of the leader's unit.
        pending = Review.objects.filter(decided_at__isnull=True).filter(
            _under("unit", leader_units)
        )
        condition |= Q(pk__in=pending.values("appeal_id"))
    return condition


def has_todo(user: Any) -> bool:
    return has_role(user, Role.AGENT, Role.HANDLER, Role.LEADER)


def _view_queryset(qs: AppealQuerySet, view: str, user: Any) -> AppealQuerySet:
    open_ = qs.exclude(state__in=[State.REJECTED, State.CLOSED, State.WITHDRAWN, State.MERGED])
    views: dict[str, Callable[[], AppealQuerySet]] = {
        "todo": lambda: qs.filter(todo_filter(user)),
        "overdue": lambda: open_.filter(
            Q(state__in=SIGN_CLOCK_STATES, sign_overdue=True)
            | Q(state__in=HANDLE_CLOCK_STATES) & (Q(handle_overdue=True) | Q(reply_overdue=True))
        ),
        "due_soon": lambda: qs.due_soon().filter(
            state__in=[*SIGN_CLOCK_STATES, *HANDLE_CLOCK_STATES]
        ),
        "extension": lambda: open_.filter(extension_requested_days__isnull=False),
        "suspended": lambda: open_.filter(suspended_at__isnull=False),
        "all": lambda: qs,
    }
    return views.get(view, views["all"])()


CODE_PATTERN = re.compile(r"MS-\d{4}-\d{1,12}", re.IGNORECASE)


def _filtered(qs: AppealQuerySet, data: dict[str, Any]) -> AppealQuerySet:
    """The queue's filters through the search app: keywords via its index (two-character words
    included), the structured filters with sub-units and sub-categories. A tracking code typed
    into the keyword box finds that appeal."""
    q = (data.get("q") or "").strip()
    if CODE_PATTERN.fullmatch(q):
        qs = qs.filter(code=q.upper())
    elif q:
        qs = search_appeals.filter_appeals(qs, q)
    return search_appeals.apply_filters(
        qs,
        state=data.get("state") or None,
        unit=data.get("unit"),
        category=data.get("category"),
        grid=data.get("grid"),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
    )


# The deadline a row is judged by, for "most urgent first".
_NEXT_DUE = Case(
    When(state__in=list(SIGN_CLOCK_STATES), then=F("sign_due")),
    When(state__in=list(HANDLE_CLOCK_STATES), then=F("handle_due")),
    default=None,
    output_field=DateTimeField(),
)
ROW_RELATED = (
    "category__parent__deadline_rule",
    "category__deadline_rule",
    "current_unit",
    "intake_unit",
)


def _page_number(raw: str | None) -> int:
    try:
        number = int(raw or 1)
    except ValueError:
        return 1
    return min(max(number, 1), 100_000)


def _attach_filter_error(form: wf.QueueFilterForm, exc: ServiceError) -> None:
    fields = [d.get("field") for d in exc.detail if isinstance(d, dict)] if exc.detail else []
    field = next((f for f in fields if f in form.fields), None)
    form.add_error(field, str(exc.message))


@never_cache
@require_GET
@staff_reader
def queue(request: HttpRequest) -> HttpResponse:
    user = request.user
    default_view = "todo" if has_todo(user) else "all"
    form = wf.QueueFilterForm(request.GET or None)
    data: dict[str, Any] = form.cleaned_data if form.is_bound and form.is_valid() else {}
    view = data.get("view") or (request.GET.get("view") if form.is_bound else None)
    if view not in wf.VIEWS:
        view = default_view
    visible = Appeal.objects.visible_to(user)
    try:
        qs = _filtered(_view_queryset(visible, view, user), data)
    except ServiceError as exc:
        _attach_filter_error(form, exc)
        qs = _view_queryset(visible, view, user)
    if view in ("todo", "overdue", "due_soon"):
        qs = qs.annotate(next_due=_NEXT_DUE).order_by(
            F("next_due").asc(nulls_last=True), "-created", "-pk"
        )
    else:
        qs = qs.order_by("-created", "-pk")
    number = _page_number(request.GET.get("page"))
    # A capped count: at a million appeals "10000+" is as useful as the exact figure and cheap.
    total, exact = search_appeals.count_capped(qs)
    offset = (number - 1) * PER_PAGE
    items = list(qs.select_related(*ROW_RELATED)[offset : offset + PER_PAGE])
    page = search_appeals.ResultPage(
        items=items,
        number=number,
        per_page=PER_PAGE,
        total=max(total, offset + len(items)),
        total_exact=exact,
    )
    now = timezone.now()
    working = WorkingTime()
    rows = [{"appeal": a, "countdown": next_countdown(a, now, working)} for a in items]
    keep = {k: v for k, v in request.GET.items() if k not in ("page", "view") and v}
    tabs = [
        {
            "key": key,
            "label": label,
            "url": "?" + urlencode({**keep, "view": key}),
            "current": key == view,
        }
        for key, label in wf.VIEWS.items()
        if key != "todo" or has_todo(user)
    ]
    page_query = urlencode({**keep, "view": view})
    return render(
        request,
        "appeals/workbench/queue.html",
        {
            "form": form,
            "rows": rows,
            "page": page,
            "tabs": tabs,
            "view": view,
            "view_label": wf.VIEWS[view],
            "page_query": page_query,
            "filtered": bool(keep),
            "day_seconds": int(calendar.working_day_length().total_seconds()),
        },
    )


# --- the case ----------------------------------------------------------------------------------
CASE_RELATED = (
    "category__parent__deadline_rule",
    "category__deadline_rule",
    "category__responsible_unit",
    "current_unit",
    "intake_unit",
    "merged_into",
    "grid",
    "duplicate_of",
    "taken_by",
)


STEP_TEMPLATES = {
    step: f"appeals/workbench/steps/{step}.html" for step in ("dispatch", "reply", "merge")
}
# Steps that turn an order aside rather than move it on: folded away until opened.
SECONDARY_STEPS = frozenset(
    {"reject", "return", "merge", "request_extension", "suspend", "request_review"}
)


def _visible_case(request: HttpRequest, appeal_id: int) -> Appeal:
    appeal = (
        Appeal.objects.visible_to(request.user)
        .select_related(*CASE_RELATED)
        .filter(pk=appeal_id)
        .first()
    )
    if appeal is None:
        raise Http404(_("找不到该诉求。"))
    return appeal


# What a step needs beyond its state (the services check these too; the page only offers a step
# that can succeed): resuming needs a stopped clock, approving a pending request, and so on.
_STEP_READY: dict[str, Callable[[Appeal], bool]] = {
    "resume": lambda a: a.suspended_at is not None,
    "suspend": lambda a: a.suspended_at is None,
    "approve_extension": lambda a: bool(a.extension_requested_days),
    "request_extension": lambda a: not a.extension_requested_days and not a.extended_days,
    "request_review": lambda a: (
        clock.is_petition(a) and review.open_review(a) is None and review.next_kind(a) is not None
    ),
}


def staff_steps(appeal: Appeal, user: Any) -> list[str]:
    """The steps this person may take on the appeal now: the main ones first, in the loop's
    order, then those that turn it aside (reject, return, merge, extension, suspension)."""
    allowed = set(services.allowed_actions(appeal))
    steps = [
        a
        for a in STAFF_STEPS
        if a in allowed
        and _STEP_READY.get(a, lambda _a: True)(appeal)
        and services.may(appeal, a, user)
    ]
    return sorted(steps, key=lambda a: a in SECONDARY_STEPS)


@dataclass(frozen=True)
class UnitOption:
    unit: Unit
    confidence: float | None
    is_default: bool

    @property
    def percent(self) -> int | None:
        return None if self.confidence is None else round(self.confidence * 100)


def router_suggestions(appeal: Appeal) -> list[tuple[Unit, float]]:
    """The router's top three units with their confidence; none while no model is installed."""
    found = suggest.suggest(appeal, top=3)
    units = Unit.objects.in_bulk([s["unit_id"] for s in found])
    return [(units[s["unit_id"]], float(s["confidence"])) for s in found if s["unit_id"] in units]


def dispatch_options(appeal: Appeal) -> tuple[list[UnitOption], list[tuple[Unit, float]]]:
    """The radio options of the dispatch form: the category's default unit first (preselected),
    then the router's suggestions; and the suggestions as kept with the dispatch."""
    default = services.default_unit_for(appeal)
    suggested = router_suggestions(appeal)
    options: list[UnitOption] = []
    if default is not None and default.active:
        confidence = next((c for u, c in suggested if u.pk == default.pk), None)
        options.append(UnitOption(default, confidence, True))
    for unit, confidence in suggested:
        if unit.active and all(o.unit.pk != unit.pk for o in options):
            options.append(UnitOption(unit, confidence, False))
    return options, suggested


# Targets do_merge refuses: nothing can follow an appeal that is finished or itself merged.
MERGE_REFUSED = frozenset({State.MERGED, State.REJECTED, State.CLOSED, State.WITHDRAWN})


def duplicate_candidates(appeal: Appeal, user: Any) -> list[dict[str, Any]]:
    """Possible duplicates (appeal, score, distance in metres) the person may merge into: those
    they can see, so the list names no appeal outside their scope."""
    found = duplicates.candidates(appeal)
    flagged = appeal.duplicate_of
    if (
        flagged is not None
        and flagged.state not in MERGE_REFUSED
        and all(other.pk != flagged.pk for other, _s, _d in found)
    ):
        score = appeal.duplicate_score or 0.0
        found.insert(0, (flagged, score, duplicates.distance_m(appeal, flagged)))
    ids = {other.pk for other, _s, _d in found}
    visible = set(Appeal.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))
    return [
        {"appeal": other, "score": score, "distance": distance}
        for other, score, distance in found
        if other.pk in visible
    ]


def reply_templates(appeal: Appeal) -> list[dict[str, Any]]:
    from appeals.templates_service import render_template, templates_for

    return [
        {"id": tpl.pk, "title": tpl.title, "text": render_template(tpl, appeal)}
        for tpl in templates_for(appeal)
    ]


def _event_label(action: str) -> str:
    if action in services.TRANSITIONS:
        return str(services.TRANSITIONS[action].label)
    return {
        "submit": _("受理"),
        "warn": _("期限预警"),
        "escalate": _("超期督办"),
        "photo": _("上传照片"),
        "flag_duplicate": _("标记疑似重复"),
        "flag_repeat": _("发现重复诉求"),
        "repeat_new": _("按新诉求受理"),
        "import": _("导入"),
    }.get(action, action)


def _timeline(appeal: Appeal) -> list[dict[str, Any]]:
    rows = []
    for event in appeal.events.select_related("actor", "unit").order_by("at", "pk"):
        data = event.data or {}
        extra = ""
        if event.action == "callback" and data.get("rating") in Rating.values:
            extra = str(Rating(data["rating"]).label)
            if data.get("channel") in CallbackChannel.values:
                extra += " · " + str(CallbackChannel(data["channel"]).label)
        elif event.action in ("warn", "escalate") and data.get("clock") in CLOCK_NAMES:
            extra = _clock_label(data["clock"])
        elif event.action in ("request_extension", "approve_extension") and data.get("days"):
            extra = _("%(n)s 天") % {"n": data["days"]}
        elif event.action == "merge" and data.get("target_code"):
            extra = _("并入 %(code)s") % {"code": data["target_code"]}
        rows.append(
            {
                "event": event,
                "label": _event_label(event.action),
                "to_label": _to_label(event.action, event.to_state),
                "actor": _person(event.actor),
                "extra": extra,
            }
        )
    return rows


def _to_label(action: str, to_state: str) -> str:
    """The state a step led to, when its name does not already say it (立案 → 立案 would)."""
    if to_state not in State.values:
        return ""
    label = str(State(to_state).label)
    return "" if label == _event_label(action) else label


def _person(user: Any) -> str:
    if user is None:
        return ""
    return str(getattr(user, "display_name", "") or user.get_username())


def _template_text(request: HttpRequest, templates: list[dict[str, Any]]) -> str | None:
    """The template chosen with the no-script picker (``?template=<id>``), already filled in."""
    wanted = request.GET.get("template", "")
    return next((t["text"] for t in templates if str(t["id"]) == wanted), None)


def _case_context(
    request: HttpRequest,
    appeal: Appeal,
    *,
    bound: wf.StepForm | None = None,
    page_error: str | Promise | None = None,
    revealed_phone: str | None = None,
    reveal_form: wf.RevealForm | None = None,
) -> dict[str, Any]:
    from appeals import views_repeats  # it builds on this module

    user = request.user
    now = timezone.now()
    steps = staff_steps(appeal, user)
    forms: dict[str, wf.StepForm] = {}
    context: dict[str, Any] = {}
    for step in steps:
        if bound is not None and bound.action == step:
            forms[step] = bound
            continue
        form_class = wf.STEP_FORMS[step]
        if step == "dispatch":
            options, _suggested = dispatch_options(appeal)
            context["dispatch_options"] = options
            context["router_trained"] = suggest.load_model() is not None
            forms[step] = wf.DispatchForm(choices=[(str(o.unit.pk), o.unit.name) for o in options])
        elif step == "reply":
            templates = reply_templates(appeal)
            context["reply_templates"] = templates
            chosen = _template_text(request, templates)
            forms[step] = wf.ReplyForm(initial={"text": chosen} if chosen else None)
        else:
            forms[step] = form_class()
    if bound is not None and bound.action == "dispatch":
        context["dispatch_options"] = dispatch_options(appeal)[0]
        context["router_trained"] = suggest.load_model() is not None
    if bound is not None and bound.action == "reply":
        context["reply_templates"] = reply_templates(appeal)
    if "merge" in steps:
        context["duplicates"] = duplicate_candidates(appeal, user)
    units = appeal.personal_data_units()
    clocks = [c for c in (countdown(appeal, n, now) for n in ("sign", "handle", "reply")) if c]
    photos = list(appeal.photos.all()) if hasattr(appeal, "photos") else []
    panels = [
        {
            "action": step,
            "label": services.TRANSITIONS[step].label,
            "form": forms[step],
            "url": reverse("appeals_wb:step", args=[appeal.pk, step_slug(step)]),
            "template": STEP_TEMPLATES.get(step, "appeals/workbench/steps/_generic.html"),
            "secondary": step in SECONDARY_STEPS,
            "open": bound is not None and bound.action == step,
        }
        for step in steps
    ]
    context.update(
        {
            "appeal": appeal,
            "state_label": State(appeal.state).label,
            "steps": steps,
            "panels": panels,
            "page_error": page_error,
            "phone_masked": vault.display(user, appeal.contact_phone),
            "can_reveal": bool(appeal.contact_phone) and vault.can_reveal(user, units),
            "revealed_phone": revealed_phone,
            "reveal_form": reveal_form or wf.RevealForm(),
            "clocks": clocks,
            "timeline": _timeline(appeal),
            "dispatches": _dispatch_history(appeal),
            "replies": list(appeal.replies.select_related("unit", "author")),
            "callbacks": list(appeal.callbacks.select_related("actor")),
            "followers": list(appeal.merged.order_by("pk")),
            "reviews": list(appeal.reviews.select_related("unit", "decided_by")),
            "photos": photos,
            "channel_label": appeal.get_channel_display(),
            "day_seconds": int(calendar.working_day_length().total_seconds()),
            "repeat": views_repeats.context(appeal, user),
        }
    )
    return context


def _dispatch_history(appeal: Appeal) -> list[dict[str, Any]]:
    """Each dispatch with the router's suggestions of the time, named (one query for the names)."""
    dispatches = list(appeal.dispatches.select_related("unit", "default_unit", "decided_by"))
    ids: set[int] = {
        s["unit_id"]
        for d in dispatches
        for s in (d.suggestions or [])
        if isinstance(s, dict) and isinstance(s.get("unit_id"), int)
    }
    names = dict(Unit.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
    rows = []
    for d in dispatches:
        suggested = [
            {
                "name": names.get(s.get("unit_id") or 0, s.get("unit_code", "")),
                "percent": round(float(s.get("confidence") or 0) * 100),
            }
            for s in (d.suggestions or [])
            if isinstance(s, dict)
        ]
        rows.append({"d": d, "decided_by": _person(d.decided_by), "suggested": suggested})
    return rows


@never_cache
@require_GET
@staff_reader
def case(request: HttpRequest, appeal_id: int) -> HttpResponse:
    appeal = _visible_case(request, appeal_id)
    return render(request, "appeals/workbench/case.html", _case_context(request, appeal))


# --- the steps ---------------------------------------------------------------------------------
def _merge_target(request: HttpRequest, text: str) -> Appeal:
    wanted = text.strip().upper()
    found = Appeal.objects.visible_to(request.user).filter(code=wanted).first()
    if found is None and wanted.isdigit() and len(wanted) < 19:
        found = Appeal.objects.visible_to(request.user).filter(pk=int(wanted)).first()
    if found is None:
        message = _("找不到编号为“%(code)s”的诉求，或它不在您的办理范围内。") % {
            "code": text.strip()
        }
        raise ServiceError(
            message,
            code="validation_error",
            status=422,
            detail=[{"field": "target", "message": message}],
        )
    return found


Runner = Callable[[Appeal, dict[str, Any], HttpRequest, Any], str]


def _register(a: Appeal, d: dict[str, Any], r: HttpRequest, form: Any) -> str:
    services.do_register(a, r.user, reason=d["reason"], request=r)
    return _("已立案。")


def _reject(a: Appeal, d: dict[str, Any], r: HttpRequest, form: Any) -> str:
    services.do_reject(a, r.user, reason=d["reason"], legal_basis=d["legal_basis"], request=r)
    return _("已不予受理，并告知群众理由和依据。")


def _dispatch(a: Appeal, d: dict[str, Any], r: HttpRequest, form: Any) -> str:
    unit = form.chosen_unit()
    if unit is None:
        raise ServiceError(
            _("请选择承办单位。"),
            code="validation_error",
            status=422,
            detail=[{"field": "unit", "message": _("请选择承办单位。")}],
        )
    # What the router suggested is recomputed here rather than trusted from the browser.
    suggested = [
        {"unit_id": u.pk, "unit_code": u.code, "confidence": round(c, 4)}
        for u, c in router_suggestions(a)
    ]
    services.do_dispatch(a, unit, r.user, suggestions=suggested, note=d["note"], request=r)
    return _("已派遣至%(unit)s。") % {"unit": unit.name}


def _sign(a: Appeal, d: dict[str, Any], r: HttpRequest, form: Any) -> str:
    services.do_sign(a, r.user, request=r)
    return _("已签收。")


def _return(a: Appeal, d: dict[str, Any], r: HttpRequest, form: Any) -> str:
    services.do_return(a, r.user, reason=d["reason"], request=r)
    return _("已退回派单员重新派遣。")


def _handle(a: Appeal, d: dict[str, Any], r: HttpRequest, form: Any) -> str:
    services.do_handle(a, r.user, note=d["note"], request=r)
    return _("已开始处置。")


def _reply(a: Appeal, d: dict[str, Any], r: HttpRequest, form: Any) -> str:
    services.do_reply(a, r.user, text=d["text"], request=r)
    return _("已答复，群众将收到短信并评价。")


def _callback(a: Appeal, d: dict[str, Any], r: HttpRequest, form: Any) -> str:
    services.do_callback(a, r.user, rating=d["rating"], comment=d["comment"], request=r)
    if d["rating"] == Rating.UNSATISFIED:
        return _("已记录电话回访：不满意，诉求已转重办。")
    return _("已记录电话回访：%(rating)s。") % {"rating": Rating(d["rating"]).label}


def _close(a: Appeal, d: dict[str, Any], r: HttpRequest, form: Any) -> str:
    services.do_close(a, r.user, request=r)
    return _("已结案。")


def _merge(a: Appeal, d: dict[str, Any], r: HttpRequest, form: Any) -> str:
    target = _merge_target(r, d["target"])
    services.do_merge(a, target, r.user, reason=d["reason"], request=r)
    return _("已并入 %(code)s，将随其一并答复。") % {"code": target.code}


def _request_extension(a: Appeal, d: dict[str, Any], r: HttpRequest, form: Any) -> str:
    services.do_request_extension(a, r.user, days=d["days"], reason=d["reason"], request=r)
    return _("已申请延期 %(n)s 天，等待领导批准。") % {"n": d["days"]}


def _approve_extension(a: Appeal, d: dict[str, Any], r: HttpRequest, form: Any) -> str:
    services.do_approve_extension(a, r.user, request=r)
    return _("已批准延期。")


def _suspend(a: Appeal, d: dict[str, Any], r: HttpRequest, form: Any) -> str:
    services.do_suspend(a, r.user, reason=d["reason"], request=r)
    return _("已中止计时。")


def _resume(a: Appeal, d: dict[str, Any], r: HttpRequest, form: Any) -> str:
    services.do_resume(a, r.user, request=r)
    return _("已恢复计时，期限已顺延。")


def _request_review(a: Appeal, d: dict[str, Any], r: HttpRequest, form: Any) -> str:
    item = services.do_request_review(a, r.user, reason=d["reason"], request=r)
    return _("已登记%(kind)s申请，转%(unit)s办理。") % {
        "kind": item.get_kind_display(),
        "unit": item.unit.name,
    }


def _answer_review(a: Appeal, d: dict[str, Any], r: HttpRequest, form: Any) -> str:
    item = services.do_answer_review(a, r.user, outcome=d["outcome"], text=d["text"], request=r)
    return _("已作出%(kind)s意见：%(outcome)s。") % {
        "kind": item.get_kind_display(),
        "outcome": item.get_outcome_display(),
    }


RUNNERS: dict[str, Runner] = {
    "register": _register,
    "reject": _reject,
    "dispatch": _dispatch,
    "sign": _sign,
    "return": _return,
    "handle": _handle,
    "reply": _reply,
    "callback": _callback,
    "close": _close,
    "merge": _merge,
    "request_extension": _request_extension,
    "approve_extension": _approve_extension,
    "suspend": _suspend,
    "resume": _resume,
    "request_review": _request_review,
    "answer_review": _answer_review,
}
assert set(RUNNERS) == set(wf.STEP_FORMS), "every step form needs its runner"


def step_slug(action: str) -> str:
    return action.replace("_", "-")


def _bound_form(action: str, appeal: Appeal, data: Any) -> wf.StepForm:
    if action == "dispatch":
        options, _suggested = dispatch_options(appeal)
        return wf.DispatchForm(data, choices=[(str(o.unit.pk), o.unit.name) for o in options])
    return wf.STEP_FORMS[action](data)


def _attach(form: wf.StepForm, exc: ServiceError) -> bool:
    """Put a service's complaint beside the field it names; False when no field of this form
    is named (the message then goes to the top of the form)."""
    placed = False
    if isinstance(exc.detail, list):
        for item in exc.detail:
            field = item.get("field") if isinstance(item, dict) else None
            if field in form.fields:
                form.add_error(field, str(item.get("message") or exc.message))
                placed = True
    if not placed:
        form.add_error(None, str(exc.message))
    return placed


@never_cache
@require_POST
@staff_reader
def step(request: HttpRequest, appeal_id: int, slug: str) -> HttpResponse:
    action = slug.replace("-", "_")
    if action not in RUNNERS:
        raise Http404(_("没有这个办理步骤。"))
    appeal = _visible_case(request, appeal_id)
    form = _bound_form(action, appeal, request.POST)
    shown = action in staff_steps(appeal, request.user)
    if not form.is_valid():
        context = _case_context(request, appeal, bound=form if shown else None)
        if not shown:
            context["page_error"] = _("提交的内容有误，请检查后重试。")
        return render(request, "appeals/workbench/case.html", context, status=422)
    try:
        message = RUNNERS[action](appeal, form.cleaned_data, request, form)
    except ServiceError as exc:
        fresh = _visible_case(request, appeal_id)
        # The form stays on the page only while the step is still open to this person (a 422);
        # a refusal (403) or a step the state no longer allows (409) is said at the top.
        still_shown = action in staff_steps(fresh, request.user)
        if still_shown:
            _attach(form, exc)
        context = _case_context(
            request,
            fresh,
            bound=form if still_shown else None,
            page_error=None if still_shown else exc.message,
        )
        return render(request, "appeals/workbench/case.html", context, status=exc.status)
    messages.success(request, message)
    if Appeal.objects.visible_to(request.user).filter(pk=appeal.pk).exists():
        return redirect("appeals_wb:case", appeal_id=appeal.pk)
    # A returned order leaves the unit's scope: back to the queue, which no longer lists it.
    messages.info(request, _("该诉求已不在您的办理范围内。"))
    return redirect("appeals_wb:queue")


@never_cache
@require_POST
@staff_reader
def reveal_phone(request: HttpRequest, appeal_id: int) -> HttpResponse:
    """Show the full contact phone once, on this answer only; the look is written to the access
    log by ``vault.services.reveal`` (and a refused attempt too)."""
    appeal = _visible_case(request, appeal_id)
    form = wf.RevealForm(request.POST)
    if not form.is_valid():
        context = _case_context(request, appeal, reveal_form=form)
        return render(request, "appeals/workbench/case.html", context, status=422)
    try:
        phone = vault.reveal(
            request.user, appeal, "contact_phone", form.cleaned_data["purpose"], request
        )
    except PermissionDenied as exc:
        context = _case_context(request, appeal, page_error=str(exc) or _("您无权查看完整号码。"))
        return render(request, "appeals/workbench/case.html", context, status=403)
    context = _case_context(request, appeal, revealed_phone=phone, reveal_form=form)
    return render(request, "appeals/workbench/case.html", context)


@require_GET
@staff_reader
def photo(request: HttpRequest, appeal_id: int, photo_id: int) -> HttpResponseBase:
    """One photo of a case, for those who may read the case (media files are not public: a
    photo can show a person or a home)."""
    appeal = _visible_case(request, appeal_id)
    found = AppealPhoto.objects.filter(pk=photo_id, appeal=appeal).first()
    if found is None:
        raise Http404(_("找不到这张照片。"))
    response = FileResponse(found.image.open("rb"), content_type=found.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response
