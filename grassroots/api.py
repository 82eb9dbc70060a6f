"""Grassroots work over JSON: a cadre's app logs visits and raises appeals; the case library is
public. Refusals are ``{code, message, detail}``: 403 ``outside_grid`` for a household outside the
cadre's grids, 409 ``already_raised`` for a second appeal from one visit, 422 naming a field."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema

from accounts.api_auth import token_or_session
from grassroots import cases, services
from grassroots.models import CaseState, Household, TypicalCase, Visit
from minsheng.errors import NotFound
from org.models import Category
from org.roles import Role, require_role

router = Router(tags=["grassroots"])

from minsheng.api import ErrorOut  # noqa: E402  (after ``router``: minsheng.api imports us)

ID = Path(..., ge=1, le=2**62)


class VisitIn(Schema):
    household: int = Field(..., ge=1, le=2**62, description="住户 id")
    met: str = Field(..., max_length=128, description="见到的人")
    found: str = Field(..., max_length=2000, description="了解到的情况")
    needs: str = Field("", max_length=2000, description="群众需求")
    visited_on: date | None = Field(None, description="走访日期，默认今天")
    follow_up_of: int | None = Field(None, ge=1, le=2**62, description="回访的上一次走访 id")


class VisitOut(Schema):
    id: int
    household: int
    visited_on: date
    appeal: str | None = Field(None, description="转成的诉求编号")


class RaiseIn(Schema):
    text: str = Field("", max_length=5000, description="诉求内容，默认取走访发现的情况")
    category: int | None = Field(None, ge=1, le=2**62)


class RaiseOut(Schema):
    visit: int
    appeal: str


class CoverageOut(Schema):
    grid: str
    households: int
    visited: int
    percent: int


class CaseOut(Schema):
    id: int
    title: str
    category: str | None
    problem: str
    handling: str
    lesson: str


def _visit_out(visit: Visit) -> dict[str, Any]:
    return {
        "id": visit.pk,
        "household": visit.household_id,
        "visited_on": visit.visited_on,
        "appeal": visit.appeal.code if visit.appeal else None,
    }


@router.post(
    "/visits",
    url_name="grassroots_visit_log",
    auth=token_or_session,
    response={
        201: VisitOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        422: ErrorOut,
    },
    summary="记录走访 / log a visit",
)
def visit_log(request: HttpRequest, payload: VisitIn) -> tuple[int, dict[str, Any]]:
    require_role(request, Role.CADRE)
    household = Household.objects.select_related("grid").filter(pk=payload.household).first()
    if household is None:
        raise NotFound(_("没有这户"), detail={"field": "household"})
    previous = None
    if payload.follow_up_of is not None:
        previous = Visit.objects.filter(pk=payload.follow_up_of).first()
        if previous is None:
            raise NotFound(_("没有这次走访"), detail={"field": "follow_up_of"})
    visit = services.log_visit(
        request.user,
        household,
        met=payload.met,
        found=payload.found,
        needs=payload.needs,
        visited_on=payload.visited_on,
        follow_up_of=previous,
        request=request,
    )
    return 201, _visit_out(visit)


@router.post(
    "/visits/{visit_id}/appeal",
    url_name="grassroots_visit_raise",
    auth=token_or_session,
    response={
        201: RaiseOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="走访发现的问题转为诉求 / raise an appeal from a visit",
)
def visit_raise(
    request: HttpRequest, payload: RaiseIn, visit_id: int = ID
) -> tuple[int, dict[str, Any]]:
    require_role(request, Role.CADRE)
    visit = Visit.objects.select_related("household__grid").filter(pk=visit_id).first()
    # Another cadre's visit outside the grids one oversees answers as if absent, like the page:
    # a 403 would confirm which visit ids exist.
    if visit is None or (
        visit.cadre_id != request.user.pk
        and visit.household.grid not in services.overseen_grids(request.user)
    ):
        raise NotFound(_("没有这次走访"))
    category = None
    if payload.category is not None:
        category = Category.objects.active().filter(pk=payload.category).first()
        if category is None:
            raise NotFound(_("没有这个分类"), detail={"field": "category"})
    appeal = services.raise_appeal(
        request.user, visit, text=payload.text, category=category, request=request
    )
    return 201, {"visit": visit.pk, "appeal": appeal.code}


@router.get(
    "/coverage",
    url_name="grassroots_coverage",
    auth=token_or_session,
    response={200: list[CoverageOut], 401: ErrorOut, 403: ErrorOut},
    summary="走访覆盖率 / visit coverage per grid",
)
def coverage(request: HttpRequest, days: int = Query(30, ge=1, le=366)) -> list[dict[str, Any]]:
    require_role(request, Role.CADRE, Role.LEADER, Role.ADMIN)
    grids = services.overseen_grids(request.user)
    return [
        {"grid": g.name, "households": c.households, "visited": c.visited, "percent": c.percent}
        for g, c in services.coverage_by_grid(grids, days)
    ]


def _case_out(case: TypicalCase) -> dict[str, Any]:
    return {
        "id": case.pk,
        "title": case.title,
        "category": case.category.name if case.category else None,
        "problem": case.problem,
        "handling": case.handling,
        "lesson": case.lesson,
    }


@router.get(
    "/cases",
    url_name="grassroots_cases",
    response={200: list[CaseOut], 422: ErrorOut},
    summary="典型案例 / typical cases",
)
def case_list(
    request: HttpRequest,
    q: str = Query("", max_length=100),
    category: int | None = Query(None, ge=1, le=2**62),
) -> list[dict[str, Any]]:
    chosen = Category.objects.filter(pk=category).first() if category else None
    return [_case_out(c) for c in cases.search(q, chosen)[:50]]


@router.get(
    "/cases/{case_id}",
    url_name="grassroots_case",
    response={200: CaseOut, 404: ErrorOut, 422: ErrorOut},
    summary="典型案例详情 / a typical case",
)
def case_detail(request: HttpRequest, case_id: int = ID) -> dict[str, Any]:
    case = (
        TypicalCase.objects.select_related("category")
        .filter(pk=case_id, state=CaseState.PUBLISHED)
        .first()
    )
    if case is None:
        raise NotFound(_("没有这个案例"))
    return _case_out(case)
