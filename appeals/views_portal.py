"""Citizen pages of the appeal loop, and the hotline agent's entry on a caller's behalf.

- ``/appeals/new/``: the web form (anonymous allowed); ``/appeals/new/done/`` shows the tracking
  code and secret once.
- ``/appeals/track/``: look an appeal up by code and secret; ``/appeals/track/<code>/`` is its
  progress for the owner or for a browser session that proved the secret; rating, withdrawing,
  reopening and a 复查 request are POSTs beside it.
- ``/appeals/mine/``: a signed-in citizen's own appeals.
- ``/appeals/agent/new/``: the agent enters a caller's appeal (channel hotline).

Each view parses a form, calls one service, and renders or redirects. A proven secret is kept in
the session encrypted (``vault.crypto``), never in a URL, so rating and withdrawing need it once.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.services import client_ip
from appeals import photos, review, services
from appeals.forms_portal import (
    AgentAppealForm,
    AppealForm,
    LookupForm,
    RateForm,
    ReopenForm,
    ReviewRequestForm,
    WithdrawForm,
)
from appeals.models import (
    Appeal,
    AppealEvent,
    Channel,
    Rating,
    ReviewKind,
    ReviewOutcome,
    State,
)
from minsheng.counters import hit_counters, peek, window_key
from minsheng.errors import RateLimited, ServiceError
from org.calendar import CALENDAR_TZ
from org.roles import Role, role_required
from vault import crypto
from vault.crypto import VaultError

TRACKED_KEY = "appeals.tracked"  # session: {code: encrypted secret} proven in this browser
JUST_SUBMITTED_KEY = "appeals.just_submitted"  # session: the code and secret to show once
SESSION_SUBMITS_KEY = "appeals.submitted_at"  # session: times of this browser's submissions
USED_TOKENS_KEY = "appeals.used_form_tokens"  # session: forms already taken in (no duplicates)
TRACKED_MAX = 20

# Submissions from one address per hour, and from one browser session per hour. Modest: a family
# behind one home router reports a few problems a day; a script filling the queue is stopped.
SUBMITS_PER_IP_PER_HOUR = 30
SUBMITS_PER_SESSION_PER_HOUR = 10
# Failed look-ups from one address per hour (a secret has 50 bits, so this only keeps logs quiet).
LOOKUP_FAILURES_PER_IP_PER_HOUR = 60
HOUR = 3600

_RELATED = ("category", "current_unit", "intake_unit", "merged_into", "citizen")


# --- small helpers --------------------------------------------------------------------------------
def _actor(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


def _is_citizen(user: Any) -> bool:
    return getattr(user, "kind", None) == Role.CITIZEN.value


def _place_errors(form: Any, exc: ServiceError) -> None:
    """Put a service's complaint beside the field it names; the rest above the form."""
    aliases = {"lat": "address", "lng": "address", "title": "text"}
    placed = False
    for item in exc.detail if isinstance(exc.detail, list) else []:
        field = aliases.get(str(item.get("field")), str(item.get("field")))
        if field in form.fields and item.get("message"):
            form.add_error(field, str(item["message"]))
            placed = True
    if not placed:
        form.add_error(None, str(exc.message))


def _page_status(exc: ServiceError) -> int:
    # A page answers a bad field with 400 (the form is shown again); refusals keep their status.
    return 400 if exc.status == 422 else exc.status


def _remember(request: HttpRequest, code: str, secret: str) -> None:
    tracked = dict(request.session.get(TRACKED_KEY, {}))
    tracked.pop(code, None)
    tracked[code] = crypto.encrypt(secret)
    # The newest few only: a shared computer should not keep a long list of appeals open.
    request.session[TRACKED_KEY] = dict(list(tracked.items())[-TRACKED_MAX:])


def _remembered(request: HttpRequest, code: str) -> str | None:
    token = request.session.get(TRACKED_KEY, {}).get(code)
    if not token:
        return None
    try:
        return crypto.decrypt(token)
    except VaultError:
        return None


def _access(request: HttpRequest, code: str) -> tuple[Appeal, str | None] | None:
    """The appeal, for its signed-in owner or a session that proved its secret; else None."""
    appeal = Appeal.objects.select_related(*_RELATED).filter(code=code.strip().upper()).first()
    if appeal is None:
        return None
    secret = _remembered(request, appeal.code)
    if secret is not None and not services.secret_matches(appeal, secret):
        secret = None
    if secret is None and not services.is_owner(appeal, _actor(request)):
        return None
    return appeal, secret


def _local(value: dt.datetime) -> dt.datetime:
    return value.astimezone(CALENDAR_TZ)


def _day(value: dt.datetime) -> str:
    return date_format(_local(value), _("n月j日"))


def _moment(value: dt.datetime) -> str:
    return date_format(_local(value), _("Y年n月j日 H:i"))


# --- rate limits ----------------------------------------------------------------------------------
def _submit_limit(request: HttpRequest) -> RateLimited | None:
    key, remaining = window_key("appeal-submit-ip", client_ip(request), HOUR)
    if peek(key) >= SUBMITS_PER_IP_PER_HOUR:
        return RateLimited(
            _("您的网络在一小时内提交的诉求太多，请 %(m)d 分钟后再试，急事请拨打 12345。")
            % {"m": max(1, remaining // 60)},
            retry_after=remaining,
        )
    now = time.time()
    recent = [t for t in request.session.get(SESSION_SUBMITS_KEY, []) if now - t < HOUR]
    if len(recent) >= SUBMITS_PER_SESSION_PER_HOUR:
        wait = int(HOUR - (now - min(recent))) + 1
        return RateLimited(
            _("您在一小时内已提交 %(n)d 件诉求，请 %(m)d 分钟后再试，急事请拨打 12345。")
            % {"n": len(recent), "m": max(1, wait // 60)},
            retry_after=wait,
        )
    return None


def _spend_submit(request: HttpRequest) -> None:
    key, _remaining = window_key("appeal-submit-ip", client_ip(request), HOUR)
    hit_counters([key], HOUR + 5)
    now = time.time()
    recent = [t for t in request.session.get(SESSION_SUBMITS_KEY, []) if now - t < HOUR]
    request.session[SESSION_SUBMITS_KEY] = [*recent, now]


def _lookup_limit(request: HttpRequest) -> RateLimited | None:
    key, remaining = window_key("appeal-lookup-ip", client_ip(request), HOUR)
    if peek(key) >= LOOKUP_FAILURES_PER_IP_PER_HOUR:
        return RateLimited(
            _("查询失败次数太多，请 %(m)d 分钟后再试，或拨打 12345 查询。")
            % {"m": max(1, remaining // 60)},
            retry_after=remaining,
        )
    return None


def _too_many(request: HttpRequest, exc: RateLimited, template: str = "too_many") -> HttpResponse:
    response = render(
        request, f"appeals/portal/{template}.html", {"message": exc.message}, status=429
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


# --- intake -----------------------------------------------------------------------------------------
def _take_in(
    request: HttpRequest, form: AppealForm, actor: Any, channel: str
) -> tuple[Appeal, str]:
    """Submit and attach the photos in one transaction: a refused photo takes nothing in."""
    data = form.cleaned_data
    submission = services.Submission(
        text=data["text"],
        category=services.resolve_category(data.get("category") or None),
        address=data.get("address") or "",
        lat=data.get("lat"),
        lng=data.get("lng"),
        contact_name=data.get("contact_name") or "",
        contact_phone=data.get("contact_phone") or "",
        channel=channel,
    )
    stored: list[Any] = []
    try:
        with transaction.atomic():
            appeal, secret = services.do_submit(actor, submission, request=request)
            for upload in data.get("photos") or []:
                stored.append(photos.attach(appeal, upload, actor))
    except BaseException:
        # The rows rolled back; the files written for the photos before the refused one did not.
        for photo in stored:
            photo.image.storage.delete(str(photo.image.name))
        raise
    return appeal, secret


def _intake_page(
    request: HttpRequest,
    *,
    form_class: type[AppealForm],
    template: str,
    actor: Any,
    channel: str,
    done: str,
    limit: Callable[[HttpRequest], RateLimited | None] | None = None,
    on_success: Callable[[Appeal, str], None] | None = None,
) -> HttpResponse:
    form = form_class(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {
        "form": form,
        "photo_max_count": photos.max_photos(),
        "photo_max_bytes": photos.max_bytes(),
        "photos_sent": bool(request.FILES),
    }
    if request.method != "POST":
        return render(request, template, context)
    token = str(request.POST.get("token") or "")[:64]
    if token and token in request.session.get(USED_TOKENS_KEY, []):
        # The same form sent again (a retry on a weak connection, the back button and send):
        # the appeal exists already; the done page still shows its secret if it was never seen.
        return redirect(done)
    if limit is not None and (limited := limit(request)) is not None:
        return _too_many(request, limited)
    if not form.is_valid():
        return render(request, template, context, status=400)
    try:
        appeal, secret = _take_in(request, form, actor, channel)
    except ServiceError as exc:
        _place_errors(form, exc)
        return render(request, template, context, status=_page_status(exc))
    request.session[JUST_SUBMITTED_KEY] = {
        "code": appeal.code,
        "secret": crypto.encrypt(secret),
        "id": appeal.pk,
    }
    if token:
        used = [t for t in request.session.get(USED_TOKENS_KEY, []) if t != token]
        request.session[USED_TOKENS_KEY] = [*used, token][-TRACKED_MAX:]
    if on_success is not None:
        on_success(appeal, secret)
    return redirect(done)


@never_cache
@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest) -> HttpResponse:
    """The citizen's web form. A signed-in citizen's appeal is linked to the account."""

    def taken_in(appeal: Appeal, secret: str) -> None:
        _spend_submit(request)
        # This browser may follow the appeal at once, without typing the secret back.
        _remember(request, appeal.code, secret)

    return _intake_page(
        request,
        form_class=AppealForm,
        template="appeals/portal/submit.html",
        actor=_actor(request),
        channel=Channel.WEB,
        done="citizen:submitted",
        limit=_submit_limit,
        on_success=taken_in,
    )


def _shown_once(request: HttpRequest) -> dict[str, Any] | None:
    shown = request.session.pop(JUST_SUBMITTED_KEY, None)
    if not shown:
        return None
    try:
        return {
            "code": shown["code"],
            "secret": crypto.decrypt(shown["secret"]),
            "id": shown.get("id"),
        }
    except (KeyError, VaultError):
        return None


@never_cache
def submitted(request: HttpRequest) -> HttpResponse:
    """The code and the secret, once: reloading the page does not show the secret again."""
    return render(request, "appeals/portal/submitted.html", {"shown": _shown_once(request)})


@never_cache
@role_required(Role.AGENT)
@require_http_methods(["GET", "POST"])
def agent_submit(request: HttpRequest) -> HttpResponse:
    """The hotline agent enters what a caller says; the appeal is taken in at the agent's unit."""
    return _intake_page(
        request,
        form_class=AgentAppealForm,
        template="appeals/portal/agent_submit.html",
        actor=request.user,
        channel=Channel.HOTLINE,
        done="citizen:agent_submitted",
    )


@never_cache
@role_required(Role.AGENT)
def agent_submitted(request: HttpRequest) -> HttpResponse:
    return render(request, "appeals/portal/agent_submitted.html", {"shown": _shown_once(request)})


# --- a signed-in citizen's appeals ------------------------------------------------------------------
@never_cache
def mine(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect(f"{reverse('accounts:citizen')}?next={reverse('citizen:mine')}")
    # The owner's appeals only: staff scopes (visible_to) are for the workbench, not this page.
    appeals = Appeal.objects.filter(citizen_id=request.user.pk).order_by("-created", "-pk")
    page = Paginator(appeals.only("code", "title", "state", "created", "suspended_at"), 20)
    current = page.get_page(request.GET.get("page"))
    rows = [{"appeal": a, "status": plain_status(a)} for a in current.object_list]
    return render(request, "appeals/portal/mine.html", {"page": current, "rows": rows})


# --- tracking ---------------------------------------------------------------------------------------
@never_cache
@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    """Look an appeal up by code and secret (a form posts them; a GET with them works too)."""
    data = request.POST if request.method == "POST" else request.GET
    form = LookupForm(data if ("code" in data or "secret" in data) else None)
    context: dict[str, Any] = {"form": form}
    template = "appeals/portal/track.html"
    if not form.is_bound:
        return render(request, template, context)
    if (limited := _lookup_limit(request)) is not None:
        return _too_many(request, limited)
    if not form.is_valid():
        return render(request, template, context, status=400)
    code, secret = form.cleaned_data["code"], form.cleaned_data["secret"]
    appeal = Appeal.objects.filter(code=code).first()
    if not secret:
        if appeal is not None and services.is_owner(appeal, _actor(request)):
            return redirect("citizen:detail", code=appeal.code)
        if request.method == "GET":
            # Arriving with the code alone (a text message, the home page): ask for the secret.
            context["ask_secret"] = True
            return render(request, template, context)
        form.add_error("secret", _("请输入查询码"))
        return render(request, template, context, status=400)
    if appeal is None or not services.secret_matches(appeal, secret):
        key, _remaining = window_key("appeal-lookup-ip", client_ip(request), HOUR)
        hit_counters([key], HOUR + 5)
        form.add_error(None, _("编号或查询码不正确，请核对后再试。"))
        return render(request, template, context, status=404)
    _remember(request, appeal.code, secret)
    return redirect("citizen:detail", code=appeal.code)


_STATUS: dict[str, Any] = {
    State.RECEIVED: gettext_lazy("已收到，正在登记"),
    State.REGISTERED: gettext_lazy("已登记，正在安排承办单位"),
    State.REJECTED: gettext_lazy("不予受理"),
    State.DISPATCHED: gettext_lazy("已转交承办单位，等待签收"),
    State.SIGNED: gettext_lazy("承办单位已签收，正在办理"),
    State.RETURNED: gettext_lazy("正在重新安排承办单位"),
    State.HANDLING: gettext_lazy("正在办理"),
    State.REPLIED: gettext_lazy("已答复，请您评价"),
    State.CALLED_BACK: gettext_lazy("您已评价，等待办结"),
    State.REOPENED: gettext_lazy("正在重新办理"),
    State.CLOSED: gettext_lazy("已办结"),
    State.MERGED: gettext_lazy("与相同问题的诉求合并办理"),
    State.WITHDRAWN: gettext_lazy("已撤回"),
}


def plain_status(appeal: Appeal) -> str:
    if appeal.suspended_at is not None and appeal.state not in (State.CLOSED, State.WITHDRAWN):
        return _("办理暂停计时（如等待鉴定、听证），恢复后继续办理")
    return str(_STATUS.get(appeal.state, State(appeal.state).label))


def deadline_text(appeal: Appeal) -> str:
    """The one deadline a citizen cares about, in plain words."""
    if appeal.state in (State.DISPATCHED, State.SIGNED, State.HANDLING, State.REOPENED):
        if appeal.suspended_at is not None:
            return _("计时暂停中，答复期限将顺延")
        if appeal.reply_due is not None:
            if appeal.reply_overdue:
                return _("答复期限：%(day)s前（已超期，已督促承办单位）") % {
                    "day": _day(appeal.reply_due)
                }
            return _("答复期限：%(day)s前") % {"day": _day(appeal.reply_due)}
    return ""


def next_step_text(appeal: Appeal) -> str:
    """What happens next when no deadline runs yet."""
    if appeal.state in (State.RECEIVED, State.REGISTERED, State.RETURNED):
        return _("工作人员会尽快登记并转交承办单位，转交后告诉您答复期限。")
    if appeal.state == State.REPLIED:
        return _("请看下面的答复，并告诉我们您是否满意。")
    if appeal.state == State.MERGED:
        return _("答复后您会收到同样的答复，并可以评价。")
    return ""


def _unit_name(event: AppealEvent) -> str:
    return event.unit.name if event.unit is not None else _("承办单位")


def _review_label(event: AppealEvent) -> str:
    kind = str(event.data.get("kind", ""))
    return str(ReviewKind(kind).label) if kind in ReviewKind.values else _("复查")


def _outcome_label(event: AppealEvent) -> str:
    outcome = str(event.data.get("outcome", ""))
    return str(ReviewOutcome(outcome).label) if outcome in ReviewOutcome.values else ""


def _rating_label(event: AppealEvent) -> str:
    rating = str(event.data.get("rating", ""))
    return str(Rating(rating).label) if rating in Rating.values else ""


# What a citizen is told about each step: unit names yes, staff names and internal notes no.
# Steps not listed (warnings, escalations, extension requests) stay on the staff side.
_PUBLIC_EVENTS: dict[str, Callable[[AppealEvent], str]] = {
    "submit": lambda e: (
        _("热线话务员为您登记了诉求")
        if e.data.get("channel") == Channel.HOTLINE
        else _("您的诉求已提交，等待登记")
    ),
    "register": lambda e: _("已登记立案"),
    "reject": lambda e: _("不予受理"),
    "dispatch": lambda e: _("转交%(unit)s办理") % {"unit": _unit_name(e)},
    "sign": lambda e: _("%(unit)s已签收") % {"unit": _unit_name(e)},
    "return": lambda e: _("承办单位退回，正在重新安排"),
    "handle": lambda e: _("%(unit)s正在处置") % {"unit": _unit_name(e)},
    "reply": lambda e: _("%(unit)s已答复") % {"unit": _unit_name(e)},
    "follow_reply": lambda e: _("%(unit)s已答复（合并办理）") % {"unit": _unit_name(e)},
    "callback": lambda e: (
        (
            _("您的评价：%(rating)s")
            if e.data.get("channel") == "online"
            else _("电话回访：%(rating)s")
        )
        % {"rating": _rating_label(e)}
    ),
    "close": lambda e: _("已办结"),
    "merge": lambda e: _("与相同问题的诉求合并办理"),
    "withdraw": lambda e: _("已撤回"),
    "approve_extension": lambda e: _("经批准延期 %(days)s 天") % {"days": e.data.get("days", "")},
    "suspend": lambda e: _("暂停计时"),
    "resume": lambda e: _("恢复计时"),
    "photo": lambda e: _("上传了一张照片"),
    "reopen": lambda e: _("您申请了重新办理"),
    "request_review": lambda e: _("您申请了%(kind)s") % {"kind": _review_label(e)},
    "answer_review": lambda e: (
        _("%(kind)s答复：%(outcome)s") % {"kind": _review_label(e), "outcome": _outcome_label(e)}
    ),
}
# Reasons the citizen is owed: why it was rejected (and on what basis), why it was extended,
# what the citizen wrote themselves. Other reasons are staff notes.
_PUBLIC_REASONS = frozenset(
    {
        "reject",
        "approve_extension",
        "callback",
        "withdraw",
        "reopen",
        "request_review",
        "answer_review",
    }
)
_PUBLIC_BASES = frozenset({"reject", "request_review", "answer_review"})


def public_timeline(appeal: Appeal) -> list[dict[str, str]]:
    events = appeal.events.select_related("unit").order_by("at", "pk")
    timeline = []
    for event in events:
        describe = _PUBLIC_EVENTS.get(event.action)
        if describe is None:
            continue
        shown_reason = event.action in _PUBLIC_REASONS
        timeline.append(
            {
                "action": event.action,
                "text": describe(event),
                "at": _moment(event.at),
                "iso": event.at.isoformat(),
                "reason": event.reason if shown_reason else "",
                "legal_basis": event.legal_basis if event.action in _PUBLIC_BASES else "",
            }
        )
    return timeline


def _detail_context(
    request: HttpRequest, appeal: Appeal, secret: str | None, **forms: Any
) -> dict[str, Any]:
    actor = _actor(request)
    allowed = set(services.allowed_actions(appeal))

    def can(action: str) -> bool:
        return action in allowed and services.may(appeal, action, actor, secret=secret)

    def form_for(name: str, action: str, form_class: type[Any]) -> Any:
        return forms.get(name) or (form_class() if can(action) else None)

    reopen_until = services.reopen_deadline(appeal) if can("reopen") else None
    review_kind = review.next_kind(appeal) if can("request_review") else None
    review_until = review.request_window(appeal, review_kind)[1] if review_kind else None
    review_label = (
        _("申请%(kind)s") % {"kind": ReviewKind(review_kind).label} if review_kind else ""
    )
    return {
        "appeal": appeal,
        "is_owner": services.is_owner(appeal, actor),
        "status": plain_status(appeal),
        "deadline": deadline_text(appeal),
        "next_step": next_step_text(appeal),
        "timeline": public_timeline(appeal),
        "replies": [
            {"text": r.text, "unit": r.unit.name if r.unit else "", "at": _moment(r.at)}
            for r in appeal.replies.select_related("unit")
        ],
        "photo_count": appeal.photos.count(),
        "rate_form": form_for("rate_form", "callback", RateForm),
        "withdraw_form": form_for("withdraw_form", "withdraw", WithdrawForm),
        "reopen_form": form_for("reopen_form", "reopen", ReopenForm),
        "reopen_until": _day(reopen_until) if reopen_until else "",
        "review_form": forms.get("review_form") or (ReviewRequestForm() if review_kind else None),
        "review_label": review_label,
        "review_help": (
            _("对答复意见不服的，可以在 %(day)s 前申请，写明理由。") % {"day": _day(review_until)}
            if review_until
            else ""
        ),
    }


def _render_detail(
    request: HttpRequest, appeal: Appeal, secret: str | None, status: int = 200, **forms: Any
) -> HttpResponse:
    context = _detail_context(request, appeal, secret, **forms)
    return render(request, "appeals/portal/detail.html", context, status=status)


def _not_open_here(request: HttpRequest, code: str) -> HttpResponse:
    """No access: the look-up form with the code filled in, the same whether or not it exists."""
    form = LookupForm(initial={"code": code.strip().upper()[:32]})
    return render(request, "appeals/portal/track.html", {"form": form, "ask_secret": True})


@never_cache
def detail(request: HttpRequest, code: str) -> HttpResponse:
    found = _access(request, code)
    if found is None:
        return _not_open_here(request, code)
    return _render_detail(request, *found)


def _step(
    request: HttpRequest,
    code: str,
    form_class: type[Any],
    form_name: str,
    act: Callable[[Appeal, str | None, dict[str, Any]], Any],
    done: str,
) -> HttpResponse:
    found = _access(request, code)
    if found is None:
        return _not_open_here(request, code)
    appeal, secret = found
    form = form_class(request.POST)
    if not form.is_valid():
        return _render_detail(request, appeal, secret, status=400, **{form_name: form})
    try:
        act(appeal, secret, form.cleaned_data)
    except ServiceError as exc:
        _place_errors(form, exc)
        fresh = Appeal.objects.select_related(*_RELATED).get(pk=appeal.pk)
        return _render_detail(request, fresh, secret, status=_page_status(exc), **{form_name: form})
    messages.success(request, done)
    return redirect("citizen:detail", code=appeal.code)


@never_cache
@require_POST
def rate(request: HttpRequest, code: str) -> HttpResponse:
    def act(appeal: Appeal, secret: str | None, data: dict[str, Any]) -> None:
        services.do_callback(
            appeal,
            _actor(request),
            rating=data["rating"],
            comment=data.get("comment") or "",
            secret=secret,
            request=request,
        )

    return _step(request, code, RateForm, "rate_form", act, _("感谢您的评价。"))


@never_cache
@require_POST
def withdraw(request: HttpRequest, code: str) -> HttpResponse:
    def act(appeal: Appeal, secret: str | None, data: dict[str, Any]) -> None:
        services.do_withdraw(
            appeal,
            _actor(request),
            secret=secret,
            reason=data.get("reason") or "",
            request=request,
        )

    return _step(request, code, WithdrawForm, "withdraw_form", act, _("诉求已撤回。"))


@never_cache
@require_POST
def reopen(request: HttpRequest, code: str) -> HttpResponse:
    """重新办理 within the window after closing (``settings.APPEAL_REOPEN_DAYS``)."""

    def act(appeal: Appeal, secret: str | None, data: dict[str, Any]) -> None:
        services.do_reopen(
            appeal, _actor(request), reason=data["reason"], secret=secret, request=request
        )

    return _step(request, code, ReopenForm, "reopen_form", act, _("已申请重新办理。"))


@never_cache
@require_POST
def request_review(request: HttpRequest, code: str) -> HttpResponse:
    """复查, then 复核, for 信访 matters (appeals.review)."""

    def act(appeal: Appeal, secret: str | None, data: dict[str, Any]) -> None:
        services.do_request_review(
            appeal, _actor(request), reason=data["reason"], secret=secret, request=request
        )

    return _step(
        request, code, ReviewRequestForm, "review_form", act, _("申请已提交，我们会按期答复。")
    )
