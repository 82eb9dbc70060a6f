"""Citizen pages (report, track) and the inspectors' workbench pages (queue, case, steps,
unsealing, export).

Every workbench page answers 404 to anyone who is not a discipline inspector allowed to see the
report, signed in or not: a 403 or a login redirect would tell the reported person that there is
something behind the door.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from integrity import limits, services
from integrity.forms import ReportForm, StepForm, TrackForm, UnsealForm
from integrity.models import Report
from minsheng.errors import NotFound, RateLimited, ServiceError


def _inspector_only(request: HttpRequest) -> None:
    if not services.is_inspector(request.user):
        raise Http404


def _visible(request: HttpRequest, report_id: int) -> Report:
    # No early role check: get_visible logs a signed-in non-inspector's look (the reported
    # person's, say) before answering 404 like for any missing report.
    try:
        return services.get_visible(request.user, report_id)
    except NotFound as exc:
        raise Http404 from exc


# --- citizens ------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        sub = services.Submission(
            kind=data["kind"],
            target_unit_id=data["target_unit"].pk,
            content=data["content"],
            target_name=data["target_name"],
            named=bool(data["named"]),
            name=data["name"],
            phone=data["phone"],
            id_number=data["id_number"],
        )
        try:
            created, secret = services.submit(request.user, sub)
        except ServiceError as exc:
            field = exc.detail[0]["field"] if exc.detail else None
            form.add_error(field if field in form.fields else None, str(exc.message))
        else:
            # Rendered, not redirected: the secret is shown once and never put in a URL.
            return render(request, "integrity/done.html", {"report": created, "secret": secret})
    status = 422 if request.method == "POST" else 200
    return render(request, "integrity/report.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    form = TrackForm(request.POST or None)
    found = None
    status, retry_after = 200, None
    if request.method == "POST" and form.is_valid():
        try:
            limits.check_tracking_budget(request)
            found = services.track(form.cleaned_data["code"], form.cleaned_data["secret"])
        except RateLimited as exc:
            form.add_error(None, str(exc.message))
            status, retry_after = exc.status, exc.retry_after
        except NotFound as exc:
            limits.spend_tracking_budget(request)
            form.add_error(None, str(exc.message))
            status = 404
    response = render(
        request, "integrity/track.html", {"form": form, "found": found}, status=status
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


# --- inspectors ----------------------------------------------------------------------------------
def queue(request: HttpRequest) -> HttpResponse:
    _inspector_only(request)
    reports = services.visible_to(request.user).select_related("target_unit")
    return render(
        request,
        "integrity/wb/queue.html",
        {
            "reports": reports,
            "now": timezone.now(),
            "forged_tracking": services.forged_tracking_count(),
        },
    )


def case(request: HttpRequest, report_id: int) -> HttpResponse:
    r = _visible(request, report_id)
    identity = services.revealed_identity(request.user, r.pk)
    return render(
        request,
        "integrity/wb/case.html",
        {
            "report": r,
            "steps": [(name, services.STEPS[name].label) for name in services.allowed_steps(r)],
            "events": services.events(r),
            "has_identity": services.identity_of(r) is not None,
            "unsealings": services.unsealings(r),
            "identity": identity,
            "step_form": StepForm(),
            "unseal_form": UnsealForm(),
            "now": timezone.now(),
        },
    )


def _post_outcome(request: HttpRequest, report_id: int, act: Any) -> HttpResponse:
    try:
        act()
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    return redirect("integrity_wb:case", report_id)


def step(request: HttpRequest, report_id: int) -> HttpResponse:
    # Visibility before the method: a GET from anybody else is a 404 like everything else here.
    _visible(request, report_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = StepForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    return _post_outcome(
        request,
        report_id,
        lambda: services.take_step(
            request.user, report_id, data.get("action", ""), data.get("note", "")
        ),
    )


def unseal(request: HttpRequest, report_id: int) -> HttpResponse:
    _visible(request, report_id)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = UnsealForm(request.POST)
    form.is_valid()
    reason = form.cleaned_data.get("reason", "")
    return _post_outcome(
        request, report_id, lambda: services.approve_unseal(request.user, report_id, reason)
    )


def export(request: HttpRequest) -> HttpResponse:
    """The inspector's own queue as CSV: no content, no identity, only what a register lists."""
    _inspector_only(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="integrity-reports.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([_("受理编号"), _("问题类别"), _("被举报单位"), _("状态"), _("本环节期限")])
    for r in services.visible_to(request.user).select_related("target_unit"):
        writer.writerow(
            [r.code, r.get_kind_display(), r.target_unit.name, r.get_state_display(), r.due_at]
        )
    return response
