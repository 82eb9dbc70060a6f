"""Consultation over JSON under ``/api/consult/``: drafts and comments, hearing registration and
the draw (with its public verification data), opinion-map votes and groups, decisions and the
adoption-rate KPI. Handlers parse, call one service, answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Path, Router, Schema

from accounts.api_auth import token_or_session
from consult import decisions, drafts, hearings, maps
from consult import draw as lottery
from consult.common import ORGANISERS, device_hash
from consult.models import (
    COMMENT_LIMIT,
    REASON_LIMIT,
    Article,
    Decision,
    Draft,
    Hearing,
    MapStatement,
    OpinionMap,
)
from minsheng.errors import NotFound
from org.models import Unit
from org.roles import require_role

router = Router(tags=["consult"])

from minsheng.api import ErrorOut  # noqa: E402  (after ``router``: minsheng.api imports us)

ID = Path(..., ge=1, le=2**62)
ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


def _anonymous(request: HttpRequest) -> Any:
    if request.headers.get("Authorization"):
        return None
    return "anonymous"


anyone: list[Any] = [*token_or_session, _anonymous]
OPTIONAL_AUTH: dict[str, Any] = {"security": [{"TokenAuth": []}, {"CsrfSessionAuth": []}, {}]}


def _actor(request: HttpRequest) -> Any:
    auth = getattr(request, "auth", None)
    return auth if getattr(auth, "pk", None) else request.user


def _device(request: HttpRequest) -> str:
    from consult.views import DEVICE_COOKIE

    return device_hash(request.COOKIES.get(DEVICE_COOKIE, ""))


# --- drafts ---------------------------------------------------------------------------------------
class DraftIn(Schema):
    unit: str = Field(..., max_length=64, description="起草单位编码")
    title: str = Field(..., min_length=1, max_length=200)
    body: str = Field(..., min_length=1, max_length=200_000, description="草案全文，自动拆分条文")
    summary: str = Field("", max_length=20_000)
    major: bool = Field(False, description="重大行政决策：征求意见期不少于30日")
    anonymous_allowed: bool = False
    opens_at: dt.datetime
    closes_at: dt.datetime


class ArticleOut(Schema):
    id: int
    chapter: str
    heading: str
    text: str


class ThemeOut(Schema):
    id: int
    article: int | None
    label: str
    quotes: list[str]
    count: int
    answer: str


class DraftOut(Schema):
    id: int
    unit: str
    title: str
    major: bool
    opens_at: dt.datetime
    closes_at: dt.datetime
    published: bool
    articles: list[ArticleOut]
    themes: list[ThemeOut]


def _draft_out(d: Draft) -> dict[str, Any]:
    return {
        "id": d.pk,
        "unit": d.unit.name,
        "title": d.title,
        "major": d.major,
        "opens_at": d.opens_at,
        "closes_at": d.closes_at,
        "published": d.published_at is not None,
        "articles": [
            {"id": a.pk, "chapter": a.chapter, "heading": a.heading, "text": a.text}
            for a in d.articles.all()
        ],
        "themes": [
            {
                "id": t.pk,
                "article": t.article_id,
                "label": t.label,
                "quotes": t.quotes,
                "count": t.count,
                "answer": t.answer,
            }
            for t in d.themes.all()
        ],
    }


@router.post(
    "/drafts",
    auth=token_or_session,
    url_name="consult_draft_create",
    response={201: DraftOut, **ERRORS},
    summary="新建征求意见稿 / create a draft",
)
def create_draft(request: HttpRequest, payload: DraftIn) -> tuple[int, dict[str, Any]]:
    require_role(request, *ORGANISERS)
    unit = Unit.objects.filter(code=payload.unit).first()
    if unit is None:
        raise NotFound("unit")
    data = payload.dict()
    data.pop("unit")
    row = drafts.create_draft(_actor(request), unit=unit, **data)
    return 201, _draft_out(row)


@router.get(
    "/drafts/{draft_id}",
    auth=None,
    url_name="consult_draft",
    response={200: DraftOut, **ERRORS},
    summary="征求意见稿 / a draft",
)
def get_draft(request: HttpRequest, draft_id: int = ID) -> dict[str, Any]:
    row = get_object_or_404(Draft.objects.published().select_related("unit"), pk=draft_id)
    return _draft_out(row)


class CommentIn(Schema):
    text: str = Field(..., min_length=1, max_length=COMMENT_LIMIT)


class CommentOut(Schema):
    id: int
    article: int
    created: dt.datetime


@router.post(
    "/drafts/{draft_id}/articles/{article_id}/comments",
    auth=anyone,
    openapi_extra=OPTIONAL_AUTH,
    url_name="consult_comment",
    response={201: CommentOut, **ERRORS},
    summary="对条文提意见 / comment on an article",
)
def post_comment(
    request: HttpRequest, payload: CommentIn, draft_id: int = ID, article_id: int = ID
) -> tuple[int, dict[str, Any]]:
    article = get_object_or_404(
        Article.objects.select_related("draft"),
        pk=article_id,
        draft_id=draft_id,
        draft__published_at__isnull=False,
    )
    row = drafts.comment(_actor(request), article, payload.text, device=_device(request))
    return 201, {"id": row.pk, "article": article.pk, "created": row.created}


# --- hearings -------------------------------------------------------------------------------------
class RegistrationIn(Schema):
    category: Literal["resident", "business", "expert", "organisation"]
    name: str = Field(..., min_length=1, max_length=50)
    reason: str = Field(..., min_length=1, max_length=REASON_LIMIT)
    organisation: str = Field("", max_length=200)


class RegistrationOut(Schema):
    id: int
    category: str
    status: str


@router.post(
    "/hearings/{hearing_id}/registrations",
    auth=token_or_session,
    url_name="consult_register",
    response={201: RegistrationOut, **ERRORS},
    summary="听证会报名 / apply for a hearing seat",
)
def post_registration(
    request: HttpRequest, payload: RegistrationIn, hearing_id: int = ID
) -> tuple[int, dict[str, Any]]:
    hearing = get_object_or_404(Hearing.objects.published(), pk=hearing_id)
    row = hearings.register(_actor(request), hearing, **payload.dict())
    return 201, {"id": row.pk, "category": row.category, "status": row.status}


class DrawIn(Schema):
    seed: str = Field(..., min_length=1, max_length=200)


class ApplicantOut(Schema):
    id: int
    category: str
    name: str
    rank: int | None
    status: str
    score: str


class DrawOut(Schema):
    hearing: int
    method: str
    seed: str
    seed_commitment: str
    seed_source: str
    seats: dict[str, int]
    digest: str
    verified: bool
    applicants: list[ApplicantOut]


def _draw_out(hearing: Hearing) -> dict[str, Any]:
    from consult.views import mask_name

    same, _tickets = hearings.verify(hearing)
    return {
        "hearing": hearing.pk,
        "method": lottery.METHOD,
        "seed": hearing.seed,
        "seed_commitment": hearing.seed_commitment,
        "seed_source": hearing.seed_source,
        "seats": hearing.seats,
        "digest": hearing.draw_digest,
        "verified": same,
        "applicants": [
            {
                "id": r.pk,
                "category": r.category,
                "name": mask_name(r.name),
                "rank": r.rank,
                "status": r.status,
                "score": r.score,
            }
            for r in hearing.registrations.order_by("category", "rank", "pk")
        ],
    }


@router.post(
    "/hearings/{hearing_id}/draw",
    auth=token_or_session,
    url_name="consult_draw_run",
    response={200: DrawOut, **ERRORS},
    summary="公开抽签 / run the draw (once)",
)
def post_draw(request: HttpRequest, payload: DrawIn, hearing_id: int = ID) -> dict[str, Any]:
    require_role(request, *ORGANISERS)
    hearing = get_object_or_404(Hearing, pk=hearing_id)
    hearings.run_draw(_actor(request), hearing, payload.seed)
    hearing.refresh_from_db()
    return _draw_out(hearing)


@router.get(
    "/hearings/{hearing_id}/draw",
    auth=None,
    url_name="consult_draw",
    response={200: DrawOut, **ERRORS},
    summary="抽签结果与复核 / the draw, re-run",
)
def get_draw(request: HttpRequest, hearing_id: int = ID) -> dict[str, Any]:
    hearing = get_object_or_404(Hearing.objects.published(), pk=hearing_id)
    if hearing.drawn_at is None:
        raise NotFound("draw")
    return _draw_out(hearing)


# --- opinion maps ---------------------------------------------------------------------------------
class MapVoteIn(Schema):
    value: Literal["agree", "disagree", "pass"]


class MapVoteOut(Schema):
    statement: int
    value: int


@router.post(
    "/maps/{map_id}/statements/{statement_id}/votes",
    auth=anyone,
    openapi_extra=OPTIONAL_AUTH,
    url_name="consult_vote",
    response={200: MapVoteOut, **ERRORS},
    summary="投票 / vote on a statement",
)
def post_vote(
    request: HttpRequest, payload: MapVoteIn, map_id: int = ID, statement_id: int = ID
) -> dict[str, Any]:
    statement = get_object_or_404(
        MapStatement.objects.select_related("map"),
        pk=statement_id,
        map_id=map_id,
        map__published_at__isnull=False,
    )
    value = {"agree": 1, "disagree": -1, "pass": 0}[payload.value]
    row = maps.vote(_actor(request), statement, value, device=_device(request))
    return {"statement": statement.pk, "value": row.value}


@router.get(
    "/maps/{map_id}/groups",
    auth=None,
    url_name="consult_groups",
    response={200: dict[str, Any], **ERRORS},
    summary="意见分组 / opinion groups",
)
def get_groups(request: HttpRequest, map_id: int = ID) -> dict[str, Any]:
    opinion_map = get_object_or_404(OpinionMap.objects.published(), pk=map_id)
    data = dict(maps.result(opinion_map))
    data.pop("assignment", None)  # who is in which group stays private
    return data


# --- decisions ------------------------------------------------------------------------------------
class ItemOut(Schema):
    source: str
    source_title: str
    text: str
    context: str
    status: str
    reason: str


class DecisionOut(Schema):
    id: int
    unit: str
    title: str
    text: str
    decided_on: dt.date
    items: list[ItemOut]


@router.get(
    "/decisions/{decision_id}",
    auth=None,
    url_name="consult_decision",
    response={200: DecisionOut, **ERRORS},
    summary="意见采纳情况 / a decision's feedback",
)
def get_decision(request: HttpRequest, decision_id: int = ID) -> dict[str, Any]:
    d = get_object_or_404(Decision.objects.published().select_related("unit"), pk=decision_id)
    return {
        "id": d.pk,
        "unit": d.unit.name,
        "title": d.title,
        "text": d.text,
        "decided_on": d.decided_on,
        "items": [
            {
                "source": i.link.kind,
                "source_title": i.link.title,
                "text": i.text,
                "context": i.context,
                "status": i.status,
                "reason": i.reason,
            }
            for i in d.items.select_related("link")
        ],
    }


class RateOut(Schema):
    unit_id: int
    unit: str
    decisions: int
    items: int
    adopted: int
    partly: int
    not_adopted: int
    rate: float | None
    full_rate: float | None


@router.get(
    "/adoption-rates",
    auth=None,
    url_name="consult_adoption_rates",
    response={200: list[RateOut]},
    summary="各单位意见采纳率 / adoption rate per unit",
)
def get_rates(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "unit_id": r.unit_id,
            "unit": r.unit,
            "decisions": r.decisions,
            "items": r.items,
            "adopted": r.adopted,
            "partly": r.partly,
            "not_adopted": r.not_adopted,
            "rate": r.rate,
            "full_rate": r.full_rate,
        }
        for r in decisions.adoption_rates()
    ]
