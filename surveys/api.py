"""Questionnaires over JSON under ``/api/surveys/``: the open list, a questionnaire's structure,
answering (with ``Idempotency-Key``; anonymous when the audience is anyone) and the results.

Answers are a JSON object keyed by question id (as the structure lists them): a single choice's
value, a list of values for multiple choice, a string for text, an integer for a rating, and
``{row value: column value}`` for a matrix.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.db import connection
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Header, Path, Router, Schema

from accounts.api_auth import session_auth, token_auth
from accounts.services import client_ip
from minsheng.errors import Forbidden, NotFound
from surveys import services
from surveys.models import Audience, Questionnaire, State

router = Router(tags=["surveys"])

from minsheng.api import ErrorOut  # noqa: E402  (after ``router``: minsheng.api imports us)

ID = Path(..., ge=1, le=2**62, description="问卷 id")
DEVICE_COOKIE = "ms_survey_device"


def _anonymous(request: HttpRequest) -> Any:
    """Lets a caller without credentials through; a caller with a bad token stays refused."""
    if request.headers.get("Authorization"):
        return None
    return "anonymous"


anyone: list[Any] = [token_auth, session_auth, _anonymous]
OPTIONAL_AUTH: dict[str, Any] = {"security": [{"TokenAuth": []}, {"CsrfSessionAuth": []}, {}]}


def _actor(request: HttpRequest) -> Any:
    auth = getattr(request, "auth", None)
    return auth if getattr(auth, "pk", None) else None


def network_of(request: HttpRequest) -> str:
    """A keyed hash of the caller's address and browser: the anonymous rate limit's key."""
    agent = request.META.get("HTTP_USER_AGENT", "")[:300]
    return services.keyed_hash(f"{client_ip(request)}|{agent}", "network")


def device_of(request: HttpRequest) -> str:
    """The keyed hash of the signed device cookie the answering pages set ('' without one)."""
    raw = request.get_signed_cookie(DEVICE_COOKIE, default="", salt="surveys.device")
    return services.keyed_hash(raw, "device") if raw else ""


# --- schemas -----------------------------------------------------------------------------------
class Choice(Schema):
    value: str
    label: str


class QuestionOut(Schema):
    id: int
    kind: str
    text: str
    help: str
    required: bool
    options: list[Choice]
    rows: list[Choice]
    min_choices: int | None
    max_choices: int | None
    max_length: int | None
    scale: int | None
    low_label: str
    high_label: str
    condition: dict[str, Any]


class SectionOut(Schema):
    id: int
    title: str
    description: str
    condition: dict[str, Any]
    questions: list[QuestionOut]


class QuestionnaireRow(Schema):
    id: int
    title: str
    unit: str
    state: str
    audience: str
    opens_at: dt.datetime | None
    closes_at: dt.datetime | None
    open: bool
    results_public: bool


class QuestionnaireOut(QuestionnaireRow):
    description: str
    version: int
    sections: list[SectionOut]


class ResponseIn(Schema):
    answers: dict[str, Any] = Field(
        ...,
        description="按题目 id 作答：单选填选项值，多选填值列表，填空填文字，评分填整数，"
        "矩阵填 {行值: 列值}",
        json_schema_extra={"example": {"1": "a1", "2": ["o1", "o3"], "3": 4}},
    )


class ResponseOut(Schema):
    id: int
    questionnaire: int
    submitted_at: dt.datetime
    replayed: bool


class ResultsOut(Schema):
    id: int
    title: str
    state: str
    responses: int
    questions: list[dict[str, Any]]


# --- shaping -----------------------------------------------------------------------------------
def _row(q: Questionnaire) -> dict[str, Any]:
    return {
        "id": q.pk,
        "title": q.title,
        "unit": q.unit.name,
        "state": q.state,
        "audience": q.audience,
        "opens_at": q.opens_at,
        "closes_at": q.closes_at,
        "open": q.is_open(),
        "results_public": q.results_public,
    }


def _question(question: Any) -> dict[str, Any]:
    return {
        "id": question.pk,
        "kind": question.kind,
        "text": question.text,
        "help": question.help,
        "required": question.required,
        "options": question.options,
        "rows": question.rows,
        "min_choices": question.min_choices,
        "max_choices": question.max_choices,
        "max_length": question.max_length,
        "scale": question.scale,
        "low_label": question.low_label,
        "high_label": question.high_label,
        "condition": question.condition,
    }


def _visible(request: HttpRequest, pk: int) -> Questionnaire:
    """A published or closed questionnaire for anyone; a draft for its organisers only."""
    q = Questionnaire.objects.select_related("unit").filter(pk=pk).first()
    if q is None or (q.state == State.DRAFT and not services.can_manage(_actor(request), q)):
        raise NotFound(_("没有这份问卷。"))
    return q


# --- endpoints ---------------------------------------------------------------------------------
@router.get(
    "/",
    auth=anyone,
    openapi_extra=OPTIONAL_AUTH,
    url_name="survey_list",
    response={200: list[QuestionnaireRow], 401: ErrorOut},
    summary="正在征集和已结束的问卷 / published questionnaires",
)
def survey_list(request: HttpRequest) -> list[dict[str, Any]]:
    found = Questionnaire.objects.public().select_related("unit").order_by("-published_at")[:100]
    return [_row(q) for q in found]


@router.get(
    "/{pk}",
    auth=anyone,
    openapi_extra=OPTIONAL_AUTH,
    url_name="survey_detail",
    response={200: QuestionnaireOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="问卷的分节和题目 / a questionnaire's structure",
)
def survey_detail(request: HttpRequest, pk: int = ID) -> dict[str, Any]:
    q = _visible(request, pk)
    structure = services.structure_of(q)
    return {
        **_row(q),
        "description": q.description,
        "version": q.version,
        "sections": [
            {
                "id": s.pk,
                "title": s.title,
                "description": s.description,
                "condition": s.condition,
                "questions": [_question(x) for x in structure.questions[s.pk]],
            }
            for s in structure.sections
        ],
    }


@functools.cache
def _questionnaire_sql() -> str:
    return f"SELECT * FROM {connection.ops.quote_name(Questionnaire._meta.db_table)} WHERE id = %s"  # noqa: S608


@router.post(
    "/{pk}/responses",
    auth=anyone,
    openapi_extra=OPTIONAL_AUTH,
    url_name="survey_respond",
    response={
        200: ResponseOut,
        201: ResponseOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
    },
    summary="提交答卷 / submit a response",
)
def survey_respond(
    request: HttpRequest,
    payload: ResponseIn,
    pk: int = ID,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        max_length=128,
        description="重试时带上同一个键：同一份答卷只计一次",
    ),
) -> tuple[int, dict[str, Any]]:
    # Plain SQL, no query compiling: on this hot path the ORM's compiler cost more CPU than the
    # lookup itself (the same row, the same model instance).
    found = list(Questionnaire.objects.raw(_questionnaire_sql(), [pk]))
    if not found:
        raise NotFound(_("没有这份问卷。"))
    q = found[0]
    actor = _actor(request)
    anonymous = actor is None and q.audience == Audience.ANYONE
    done = services.submit(
        q,
        actor,
        payload.answers,
        device=device_of(request) if anonymous else "",
        network=network_of(request) if anonymous else "",
        idempotency_key=idempotency_key or "",
    )
    response = done.response
    return (200 if done.replayed else 201), {
        "id": response.pk,
        "questionnaire": q.pk,
        "submitted_at": response.submitted_at,
        "replayed": done.replayed,
    }


@router.get(
    "/{pk}/results",
    auth=anyone,
    openapi_extra=OPTIONAL_AUTH,
    url_name="survey_results",
    response={200: ResultsOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="问卷结果 / results",
)
def survey_results(request: HttpRequest, pk: int = ID) -> dict[str, Any]:
    q = _visible(request, pk)
    if not services.can_see_results(_actor(request), q):
        raise Forbidden(_("这份问卷的结果尚未公开。"), code="results_not_public")
    return services.results(q)
