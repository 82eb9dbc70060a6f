"""Public pages of exemplar campaigns: the campaign, candidates, nominating, voting, results.

Every page a voter opens gives the browser a signed device cookie (``ms_device``); the vote
stores a keyed hash of it with the user agent so the detector can see one phone behind many
accounts. The cookie carries no personal data.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from exemplars import services
from exemplars.forms import NominationForm, ObjectionForm
from exemplars.models import (
    Campaign,
    Candidate,
    CandidatePhoto,
    CandidateStatus,
    NominatorKind,
    ObjectionStatus,
    Phase,
)
from minsheng.errors import ServiceError

COUNTS_PUBLIC = (Phase.VOTING, Phase.COUNTING, Phase.RESULTS)
# Decided nominations are public with their reasons (accepted, declined, withdrawn).
SHOWN = (CandidateStatus.ACCEPTED, CandidateStatus.DECLINED, CandidateStatus.WITHDRAWN)


def _with_device(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if not request.get_signed_cookie(services.DEVICE_COOKIE, default="", salt=services.DEVICE_SALT):
        response.set_signed_cookie(
            services.DEVICE_COOKIE,
            secrets.token_urlsafe(16),
            salt=services.DEVICE_SALT,
            max_age=2 * 365 * 86400,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


def _campaign(campaign_id: int) -> Campaign:
    return get_object_or_404(Campaign.objects.public(), pk=campaign_id)


def _shown_candidates() -> Any:
    """Candidates the public may see: decided nominations of a campaign past its draft."""
    return Candidate.objects.select_related("campaign", "category").filter(
        status__in=SHOWN, campaign__phase__in=[p for p in Phase if p != Phase.DRAFT]
    )


def _sign_in_url(request: HttpRequest) -> str:
    return f"{reverse('accounts:citizen')}?next={request.path}"


def index(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.public().select_related("unit")
    return render(request, "exemplars/index.html", {"campaigns": campaigns})


def campaign(request: HttpRequest, campaign_id: int) -> HttpResponse:
    found = _campaign(campaign_id)
    counts = services.tallies(found) if found.phase in COUNTS_PUBLIC else {}
    mine = services.my_votes_today(request.user, found) if found.phase == Phase.VOTING else set()
    groups = []
    candidates = list(
        Candidate.objects.filter(campaign=found, status=CandidateStatus.ACCEPTED)
        .select_related("category")
        .prefetch_related("photos")
    )
    for category in found.categories.all():
        members = [c for c in candidates if c.category_id == category.pk]
        rows: list[dict[str, Any]] = [
            {
                "candidate": c,
                "votes": counts[c.pk].valid if c.pk in counts else 0,
                "voted": c.pk in mine,
                "photo": c.photos.all()[0] if c.photos.all() else None,
            }
            for c in members
        ]
        groups.append({"category": category, "rows": rows, "picked": sum(r["voted"] for r in rows)})
    context = {
        "campaign": found,
        "groups": groups,
        "counts_public": found.phase in COUNTS_PUBLIC,
        "voting_open": found.is_voting_open(),
        "sign_in_url": _sign_in_url(request),
        "declined": Candidate.objects.filter(
            campaign=found, status__in=(CandidateStatus.DECLINED, CandidateStatus.WITHDRAWN)
        ).select_related("category"),
    }
    return _with_device(request, render(request, "exemplars/campaign.html", context))


def candidate(request: HttpRequest, candidate_id: int) -> HttpResponse:
    found = get_object_or_404(_shown_candidates(), pk=candidate_id)
    counts = services.tallies(found.campaign) if found.campaign.phase in COUNTS_PUBLIC else {}
    tally = counts.get(found.pk)
    context = {
        "campaign": found.campaign,
        "candidate": found,
        "photos": found.photos.all(),
        "votes": tally.valid if tally else 0,
        "voided": tally.voided if tally else 0,
        "counts_public": found.campaign.phase in COUNTS_PUBLIC,
        "voted": found.pk in services.my_votes_today(request.user, found.campaign),
        "voting_open": found.campaign.is_voting_open() and found.status == CandidateStatus.ACCEPTED,
        "objections": found.objections.exclude(status=ObjectionStatus.OPEN),
        "objection_form": ObjectionForm()
        if found.campaign.phase == Phase.PUBLICITY and found.status == CandidateStatus.ACCEPTED
        else None,
        "sign_in_url": _sign_in_url(request),
    }
    return _with_device(request, render(request, "exemplars/candidate.html", context))


@require_POST
def vote(request: HttpRequest, candidate_id: int) -> HttpResponse:
    found = get_object_or_404(_shown_candidates(), pk=candidate_id)
    back = request.POST.get("back") == "candidate"
    target = (
        reverse("exemplars:candidate", args=[found.pk])
        if back
        else reverse("exemplars:campaign", args=[found.campaign_id]) + f"#c{found.pk}"
    )
    if not request.user.is_authenticated:
        messages.info(request, _("请先用手机号登录再投票。"))
        return redirect(f"{reverse('accounts:citizen')}?next={target.split('#')[0]}")
    try:
        cast = services.cast_vote(
            request.user, found.campaign_id, found.pk, services.Origin.of(request)
        )
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            _("投票成功：您支持了%(name)s（本类别已选 %(used)s / %(allowed)s 人）。")
            % {"name": found.name, "used": cast.picks_used, "allowed": cast.picks_allowed},
        )
    return redirect(target)


@require_http_methods(["GET", "POST"])
def nominate(request: HttpRequest, campaign_id: int) -> HttpResponse:
    found = _campaign(campaign_id)
    if not request.user.is_authenticated:
        return redirect(_sign_in_url(request))
    if found.phase != Phase.NOMINATING:
        messages.error(request, _("本次评选现在不接受推荐。"))
        return redirect("exemplars:campaign", found.pk)
    form = NominationForm(request.POST or None, request.FILES or None, campaign=found)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.nominate(
                request.user,
                found,
                services.NominationIn(
                    category_id=int(data["category"]),
                    name=data["name"],
                    affiliation=data["affiliation"],
                    story=data["story"],
                    evidence=data["evidence"],
                    phone=data["phone"],
                    nominator_kind=data["nominator_kind"] or NominatorKind.CITIZEN,
                    nominator_label=data["nominator_label"],
                ),
                data["photos"],
            )
        except ServiceError as exc:
            field = (exc.detail or [{}])[0].get("field") if isinstance(exc.detail, list) else None
            form.add_error(field if field in form.fields else None, str(exc.message))
        else:
            messages.success(
                request,
                _("推荐已提交：%(name)s。审核结果和理由会在活动页面公开。")
                % {"name": created.name},
            )
            return redirect("exemplars:campaign", found.pk)
    return render(request, "exemplars/nominate.html", {"campaign": found, "form": form})


@require_POST
def objection(request: HttpRequest, candidate_id: int) -> HttpResponse:
    found = get_object_or_404(_shown_candidates(), pk=candidate_id)
    if not request.user.is_authenticated:
        return redirect(_sign_in_url(request))
    form = ObjectionForm(request.POST)
    if form.is_valid():
        try:
            services.lodge_objection(request.user, found, form.cleaned_data["text"])
        except ServiceError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("异议已提交，核实结果会在候选人页面公开。"))
    else:
        messages.error(request, _("请具体说明异议（至少 10 个字）"))
    return redirect("exemplars:candidate", found.pk)


def _results_context(found: Campaign) -> dict[str, Any]:
    counts = services.tallies(found)
    groups = []
    candidates = list(
        Candidate.objects.filter(campaign=found, status=CandidateStatus.ACCEPTED).select_related(
            "category"
        )
    )
    for category in found.categories.all():
        rows: list[dict[str, Any]] = []
        for c in candidates:
            if c.category_id != category.pk:
                continue
            tally = counts.get(c.pk)
            published = found.phase == Phase.RESULTS
            rows.append(
                {
                    "candidate": c,
                    "votes": c.final_votes if published else (tally.valid if tally else 0),
                    "voided": c.final_voided if published else (tally.voided if tally else 0),
                }
            )
        rows.sort(key=lambda r: (-(r["votes"] or 0), r["candidate"].pk))
        groups.append({"category": category, "rows": rows})
    return {
        "campaign": found,
        "groups": groups,
        "total_valid": sum(t.valid for t in counts.values()),
        "total_voided": sum(t.voided for t in counts.values()),
    }


def results(request: HttpRequest, campaign_id: int) -> HttpResponse:
    found = _campaign(campaign_id)
    if found.phase not in COUNTS_PUBLIC:
        return render(
            request, "exemplars/results.html", {"campaign": found, "not_yet": True}, status=200
        )
    return render(request, "exemplars/results.html", _results_context(found))


def honours(request: HttpRequest, campaign_id: int) -> HttpResponse:
    found = _campaign(campaign_id)
    honoured = (
        Candidate.objects.filter(campaign=found, honoured=True)
        .select_related("category")
        .prefetch_related("photos")
        .order_by("category__order", "rank")
    )
    return render(
        request,
        "exemplars/honours.html",
        {"campaign": found, "honoured": honoured, "published": found.phase == Phase.RESULTS},
    )


def photo(request: HttpRequest, photo_id: int) -> HttpResponseBase:
    """A candidate's photo: public once the nomination is accepted; staff see them in review."""
    found = get_object_or_404(
        CandidatePhoto.objects.select_related("candidate__campaign"), pk=photo_id
    )
    public = found.candidate.status == CandidateStatus.ACCEPTED
    if not public and not services.may_organise(request.user, found.candidate.campaign):
        raise Http404(_("找不到这张照片。"))
    response = FileResponse(found.image.open("rb"), content_type=found.content_type)
    response["Cache-Control"] = "public, max-age=3600" if public else "private, max-age=600"
    return response
