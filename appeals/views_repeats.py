"""The repeated-claim panel of the workbench case page and its three POSTs.

The panel (``appeals/workbench/_repeat.html``) shows the earlier appeal with its outcome, answer
dates and review history, the legal basis and the drafted lawful reply; agents of the intake unit
confirm or accept as new, a leader over it overturns a confirmed repeat. Hooks for journeys:
``#repeat``, ``#form-repeat-confirm`` / ``#form-repeat-new`` / ``#form-repeat-overturn`` with
buttons ``#btn-repeat-confirm`` / ``#btn-repeat-new`` / ``#btn-repeat-overturn``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from appeals import repeats
from appeals.models import Appeal, RepeatFinding, RepeatStatus, State
from appeals.views_workbench import _case_context, _visible_case, staff_reader
from minsheng.errors import ServiceError


def context(appeal: Appeal, user: Any) -> dict[str, Any] | None:
    """What the case page shows about a repeat, or None when the appeal repeats nothing."""
    finding = repeats.finding_for(appeal)
    if finding is None:
        return None
    earlier = finding.earlier
    visible = Appeal.objects.visible_to(user).filter(pk=earlier.pk).exists()
    pending = finding.status == RepeatStatus.PENDING
    return {
        "finding": finding,
        "earlier": earlier,
        "earlier_state": State(earlier.state).label,
        "earlier_visible": visible,
        "replies": list(earlier.replies.select_related("unit")) if visible else [],
        "reviews": list(earlier.reviews.select_related("unit")) if visible else [],
        "can_decide": pending
        and appeal.state in repeats.DECIDABLE_STATES
        and repeats.may_decide(finding, user),
        "can_overturn": finding.status == RepeatStatus.CONFIRMED
        and appeal.state == State.REJECTED
        and repeats.may_overturn(finding, user),
    }


def _confirm(f: RepeatFinding, r: HttpRequest) -> str:
    repeats.do_confirm(f, r.user, reply=r.POST.get("reply", ""), request=r)
    return _("已认定为重复诉求，并依法答复群众。")


def _accept(f: RepeatFinding, r: HttpRequest) -> str:
    repeats.do_accept_as_new(f, r.user, reason=r.POST.get("reason", ""), request=r)
    return _("已按新诉求受理并立案。")


def _overturn(f: RepeatFinding, r: HttpRequest) -> str:
    repeats.do_overturn(f, r.user, reason=r.POST.get("reason", ""), request=r)
    return _("已撤销重复认定，诉求恢复立案，并告知群众。")


DECISIONS: dict[str, Callable[[RepeatFinding, HttpRequest], str]] = {
    "confirm": _confirm,
    "new": _accept,
    "overturn": _overturn,
}


@never_cache
@require_POST
@staff_reader
def decide(request: HttpRequest, appeal_id: int, decision: str) -> HttpResponse:
    if decision not in DECISIONS:
        raise Http404(_("没有这个办理步骤。"))
    appeal = _visible_case(request, appeal_id)
    finding = repeats.finding_for(appeal)
    if finding is None:
        raise Http404(_("该诉求没有重复诉求记录。"))
    try:
        message = DECISIONS[decision](finding, request)
    except ServiceError as exc:
        fresh = _visible_case(request, appeal_id)
        # Bad input is said beside the form; a refusal (403) or a late decision (409) on top.
        refused = exc.message if exc.status != 422 else None
        page = _case_context(request, fresh, page_error=refused)
        page["repeat_error"] = {"decision": decision, "message": exc.message}
        page["repeat_posted"] = request.POST
        return render(request, "appeals/workbench/case.html", page, status=exc.status)
    messages.success(request, message)
    return redirect("appeals_wb:case", appeal_id=appeal.pk)
