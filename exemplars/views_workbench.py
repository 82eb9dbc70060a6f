"""Staff pages of exemplar campaigns: set-up, review, objections, flags, voiding, results.

Organisers run campaigns; auditors (纪检监察) see every page and may review flags, so voiding is
never in one person's hands alone; admins may do everything.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from exemplars import detect, services
from exemplars.forms import CampaignForm, ReasonForm
from exemplars.models import (
    NEXT_PHASE,
    Campaign,
    Candidate,
    CandidateStatus,
    Flag,
    FlagStatus,
    Objection,
    ObjectionStatus,
    Phase,
)
from exemplars.reasons import describe
from minsheng.errors import ServiceError
from org.roles import Role, role_required
from vault.services import display

STAFF = (Role.ORGANISER, Role.AUDITOR, Role.ADMIN)


def _try(request: HttpRequest, action: Any, success: str) -> bool:
    try:
        action()
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return False
    messages.success(request, success)
    return True


def _reachable(request: HttpRequest, campaign: Campaign) -> Campaign:
    """A campaign outside the caller's units answers 404 like a missing one."""
    if not services.may_review_votes(request.user, campaign):
        raise Http404
    return campaign


@role_required(*STAFF)
@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    may_create = services.may_organise(request.user)
    form = CampaignForm(request.POST or None) if may_create else None
    if request.method == "POST" and form is not None and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.create_campaign(
                request.user,
                title=data["title"],
                kind=data["kind"],
                description=data["description"],
                owner_label=data["owner_label"],
                categories=form.category_names(),
                voting_opens=data["voting_opens"],
                voting_closes=data["voting_closes"],
                vote_period=data["vote_period"],
                picks_per_category=data["picks_per_category"],
                honours_per_category=data["honours_per_category"],
                require_real_name=data["require_real_name"],
            )
        except ServiceError as exc:
            form.add_error(None, str(exc.message))
        else:
            messages.success(request, _("评选活动已创建：%(title)s") % {"title": created.title})
            return redirect("exemplars_wb:campaign", created.pk)
    campaigns = services.visible_campaigns(request.user).annotate(
        n_candidates=Count("candidates", distinct=True),
        n_open_flags=Count("flags", filter=Q(flags__status=FlagStatus.OPEN), distinct=True),
    )
    return render(request, "exemplars/wb/index.html", {"campaigns": campaigns, "form": form})


@role_required(*STAFF)
def campaign(request: HttpRequest, campaign_id: int) -> HttpResponse:
    found = _reachable(request, get_object_or_404(Campaign, pk=campaign_id))
    candidates = list(
        Candidate.objects.filter(campaign=found)
        .select_related("category")
        .prefetch_related("photos")
    )
    for c in candidates:
        c.phone_shown = display(request.user, c.phone)  # type: ignore[attr-defined]
    counts = services.tallies(found)
    context = {
        "campaign": found,
        "may_organise": services.may_organise(request.user, found),
        "next_phase": NEXT_PHASE.get(found.phase),
        "next_label": Phase(NEXT_PHASE[found.phase]).label if found.phase in NEXT_PHASE else "",
        "pending": [c for c in candidates if c.status == CandidateStatus.NOMINATED],
        "decided": [c for c in candidates if c.status != CandidateStatus.NOMINATED],
        "objections": Objection.objects.filter(
            candidate__campaign=found, status=ObjectionStatus.OPEN
        ).select_related("candidate"),
        "counts": counts,
        "total_valid": sum(t.valid for t in counts.values()),
        "total_voided": sum(t.voided for t in counts.values()),
        "open_flags": found.flags.filter(status=FlagStatus.OPEN).count(),
        "reason_form": ReasonForm(),
        "Phase": Phase,
    }
    return render(request, "exemplars/wb/campaign.html", context)


@role_required(*STAFF)
@require_POST
def advance(request: HttpRequest, campaign_id: int) -> HttpResponse:
    found = _reachable(request, get_object_or_404(Campaign, pk=campaign_id))
    _try(request, lambda: services.advance_phase(request.user, found), _("已进入下一阶段。"))
    return redirect("exemplars_wb:campaign", found.pk)


@role_required(*STAFF)
@require_POST
def publish(request: HttpRequest, campaign_id: int) -> HttpResponse:
    found = _reachable(request, get_object_or_404(Campaign, pk=campaign_id))
    _try(request, lambda: services.publish_results(request.user, found), _("结果和光荣榜已公布。"))
    return redirect("exemplars_wb:campaign", found.pk)


@role_required(*STAFF)
@require_POST
def review(request: HttpRequest, candidate_id: int) -> HttpResponse:
    found = get_object_or_404(Candidate.objects.select_related("campaign"), pk=candidate_id)
    _reachable(request, found.campaign)
    accept = request.POST.get("decision") == "accept"
    reason = request.POST.get("reason", "")
    _try(
        request,
        lambda: services.review(request.user, found, accept=accept, reason=reason),
        _("已审核：%(name)s") % {"name": found.name},
    )
    return redirect("exemplars_wb:campaign", found.campaign_id)


@role_required(*STAFF)
@require_POST
def answer(request: HttpRequest, objection_id: int) -> HttpResponse:
    found = get_object_or_404(
        Objection.objects.select_related("candidate__campaign"), pk=objection_id
    )
    _reachable(request, found.candidate.campaign)
    upheld = request.POST.get("decision") == "uphold"
    text = request.POST.get("reason", "")
    _try(
        request,
        lambda: services.answer_objection(request.user, found, upheld=upheld, answer=text),
        _("异议已答复。"),
    )
    return redirect("exemplars_wb:campaign", found.candidate.campaign_id)


@role_required(*STAFF)
def flags(request: HttpRequest, campaign_id: int) -> HttpResponse:
    found = _reachable(request, get_object_or_404(Campaign, pk=campaign_id))
    rows = []
    for flag in (
        found.flags.select_related("candidate", "reviewed_by")
        .annotate(
            n_votes=Count("votes", distinct=True),
            n_live=Count("votes", filter=Q(votes__voided_at__isnull=True), distinct=True),
        )
        .order_by("status", "-pk")[:200]
    ):
        rows.append({"flag": flag, "reasons": [describe(r) for r in flag.reasons]})
    return render(
        request,
        "exemplars/wb/flags.html",
        {
            "campaign": found,
            "rows": rows,
            "may_review": services.may_review_votes(request.user, found),
            "reason_form": ReasonForm(),
        },
    )


@role_required(*STAFF)
@require_POST
def run_detect(request: HttpRequest, campaign_id: int) -> HttpResponse:
    found = _reachable(request, get_object_or_404(Campaign, pk=campaign_id))
    if not services.may_review_votes(request.user, found):
        messages.error(request, _("只有活动组织者或纪检监察人员可以复核投票。"))
    else:
        summary = detect.run_detection(found)
        messages.success(
            request,
            _("检测完成：扫描 %(n)s 票，新增 %(new)s 条标记，涉及 %(flagged)s 票。")
            % {
                "n": summary.votes_scanned,
                "new": summary.flags_new,
                "flagged": summary.votes_flagged,
            },
        )
    return redirect("exemplars_wb:flags", found.pk)


@role_required(*STAFF)
@require_POST
def flag_decide(request: HttpRequest, flag_id: int) -> HttpResponse:
    found = get_object_or_404(Flag.objects.select_related("campaign"), pk=flag_id)
    _reachable(request, found.campaign)
    form = ReasonForm(request.POST)
    reason = form.data.get("reason", "")
    if request.POST.get("decision") == "void":
        _try(
            request,
            lambda: services.void_flag(request.user, found, reason),
            _("已作废这组投票，理由已记录。"),
        )
    else:
        _try(
            request,
            lambda: services.dismiss_flag(request.user, found, reason),
            _("已确认这组投票有效，理由已记录。"),
        )
    return redirect("exemplars_wb:flags", found.campaign_id)
