"""Exemplar campaigns over JSON: public reading, and the vote (the platform's hottest write).

The vote endpoint does the least it can: the session (or token) identifies the voter, the
service checks the campaign's cached rules and the rate counters, and one INSERT counts the vote.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema

from accounts.api_auth import token_or_session
from exemplars import services
from exemplars.models import Campaign, Candidate, CandidateStatus, Phase
from minsheng.errors import NotFound

router = Router(tags=["exemplars"])

from minsheng.api import ErrorOut  # noqa: E402  (after ``router``: minsheng.api imports us)

ID = Path(..., ge=1, le=2**62, description="评选活动 id")
# Counts are public from the voting phase on (live standings), as most such campaigns show them.
COUNTS_PUBLIC = (Phase.VOTING, Phase.COUNTING, Phase.RESULTS)


class VoteIn(Schema):
    candidate: int = Field(..., ge=1, le=2**62, description="候选人 id")


class VoteOut(Schema):
    vote: int
    candidate: int
    day: date
    picks_used: int = Field(description="本周期内该类别已支持的人数")
    picks_allowed: int


class CandidateOut(Schema):
    id: int
    name: str
    affiliation: str
    category: str
    votes: int | None = Field(None, description="有效票数（投票阶段起公开）")
    voided: int | None = Field(None, description="经复核作废的票数")
    rank: int | None = None
    honoured: bool = False


class CampaignOut(Schema):
    id: int
    title: str
    kind: str
    phase: str
    phase_label: str
    voting_opens: datetime
    voting_closes: datetime
    vote_period: str
    picks_per_category: int
    require_real_name: bool
    categories: list[str]


class CampaignDetailOut(CampaignOut):
    candidates: list[CandidateOut]


def _campaign_out(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.pk,
        "title": campaign.title,
        "kind": campaign.kind,
        "phase": campaign.phase,
        "phase_label": str(Phase(campaign.phase).label),
        "voting_opens": campaign.voting_opens,
        "voting_closes": campaign.voting_closes,
        "vote_period": campaign.vote_period,
        "picks_per_category": campaign.picks_per_category,
        "require_real_name": campaign.require_real_name,
        "categories": [c.name for c in campaign.categories.all()],
    }


def _public_campaign(campaign_id: int) -> Campaign:
    campaign = (
        Campaign.objects.public().prefetch_related("categories").filter(pk=campaign_id).first()
    )
    if campaign is None:
        raise NotFound(_not_found())
    return campaign


def _not_found() -> str:
    from django.utils.translation import gettext as _

    return _("没有这项评选活动。")


@router.get(
    "/campaigns",
    url_name="exemplar_campaigns",
    response={200: list[CampaignOut]},
    summary="评选活动 / exemplar campaigns",
)
def campaigns(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        _campaign_out(c) for c in Campaign.objects.public().prefetch_related("categories")[:100]
    ]


@router.get(
    "/campaigns/{campaign_id}",
    url_name="exemplar_campaign",
    response={200: CampaignDetailOut, 404: ErrorOut, 422: ErrorOut},
    summary="评选活动与候选人 / a campaign and its candidates",
)
def campaign_detail(request: HttpRequest, campaign_id: int = ID) -> dict[str, Any]:
    campaign = _public_campaign(campaign_id)
    counts = services.tallies(campaign) if campaign.phase in COUNTS_PUBLIC else None
    candidates = []
    for c in (
        Candidate.objects.filter(campaign=campaign, status=CandidateStatus.ACCEPTED)
        .select_related("category")
        .order_by("category__order", "pk")
    ):
        tally = counts.get(c.pk) if counts is not None else None
        candidates.append(
            {
                "id": c.pk,
                "name": c.name,
                "affiliation": c.affiliation,
                "category": c.category.name,
                "votes": None if counts is None else (tally.valid if tally else 0),
                "voided": None if counts is None else (tally.voided if tally else 0),
                "rank": c.rank,
                "honoured": c.honoured,
            }
        )
    return {**_campaign_out(campaign), "candidates": candidates}


@router.post(
    "/campaigns/{campaign_id}/votes",
    url_name="exemplar_vote",
    auth=token_or_session,
    response={
        201: VoteOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
    },
    summary="投票 / cast a vote",
    description=(
        "经手机号验证的群众投票。409 `voting_closed` 不在投票时间；409 `already_voted` 本周期已投；"
        "409 `pick_limit` 超过该类别可选人数；429 `rate_limited` 太频繁（Retry-After）。"
    ),
)
def vote(
    request: HttpRequest, payload: VoteIn, campaign_id: int = ID
) -> tuple[int, dict[str, Any]]:
    cast = services.cast_vote(
        request.user, campaign_id, payload.candidate, services.Origin.of(request)
    )
    return 201, {
        "vote": cast.vote_id,
        "candidate": cast.candidate_id,
        "day": cast.day,
        "picks_used": cast.picks_used,
        "picks_allowed": cast.picks_allowed,
    }
