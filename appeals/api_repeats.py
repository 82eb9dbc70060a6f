"""Repeated claims (重复诉求) under ``/api/appeals/{id}/repeat``: what was found, the intake
unit's decision (confirm with the lawful reply, or accept as new), and a leader's overturn.

A case outside the caller's scope, or one with no finding, answers 404. Rights are checked
before state (403, then 409), then the input (422), as in ``appeals.services``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from accounts.api_auth import token_or_session
from appeals import repeats
from appeals.api import ID, STAFF_READERS
from appeals.models import TEXT_LIMIT, Appeal, RepeatFinding, RepeatKind, RepeatStatus, State
from minsheng.errors import NotFound
from org.roles import require_role

router = Router(tags=["appeals"])

from minsheng.api import ErrorOut  # noqa: E402  (after ``router``: minsheng.api imports us)

# 400: a body that is not JSON at all (minsheng.api answers malformed_body before validation).
_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class RepeatEarlierOut(Schema):
    id: int
    code: str
    title: str
    state: str
    state_label: str
    created: dt.datetime
    replied_at: dt.datetime | None
    closed_at: dt.datetime | None


class RepeatFindingOut(Schema):
    appeal: str = Field(..., description="本件诉求编号")
    earlier: RepeatEarlierOut
    score: float = Field(..., description="字符二元组 Jaccard 相似度 0–1")
    word_score: float = Field(..., description="分词后词语 Jaccard 重合度 0–1")
    shared_words: list[str]
    others: list[dict[str, Any]] = Field(..., description="同一诉求人其他相似的已办结诉求")
    matched_by: str = Field(..., description="account（同一账号）或 phone（同一联系电话）")
    kind: str
    kind_label: str
    earlier_outcome: str
    legal_basis: str
    reply_draft: str
    status: str
    status_label: str
    decided_at: dt.datetime | None
    reason: str
    reply_sent: str
    overturned_at: dt.datetime | None
    overturn_reason: str


class RepeatConfirmIn(Schema):
    reply: str = Field(
        "", max_length=TEXT_LIMIT, description="给群众的答复；留空则使用系统拟好的依法答复"
    )


class RepeatReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=TEXT_LIMIT, description="理由")


def _finding(request: HttpRequest, appeal_id: int) -> RepeatFinding:
    appeal = Appeal.objects.visible_to(request.user).filter(pk=appeal_id).first()
    if appeal is None:
        raise NotFound(_("找不到该诉求。"))
    require_role(request, *STAFF_READERS)
    finding = repeats.finding_for(appeal)
    if finding is None:
        raise NotFound(_("该诉求没有重复诉求记录。"))
    return finding


def _out(finding: RepeatFinding) -> dict[str, Any]:
    earlier = finding.earlier
    return {
        "appeal": finding.appeal.code,
        "earlier": {
            "id": earlier.pk,
            "code": earlier.code,
            "title": earlier.title,
            "state": earlier.state,
            "state_label": str(State(earlier.state).label),
            "created": earlier.created,
            "replied_at": earlier.replied_at,
            "closed_at": earlier.closed_at,
        },
        "score": finding.score,
        "word_score": finding.word_score,
        "shared_words": finding.shared_words,
        "others": finding.others,
        "matched_by": finding.matched_by,
        "kind": finding.kind,
        "kind_label": str(RepeatKind(finding.kind).label),
        "earlier_outcome": finding.earlier_outcome,
        "legal_basis": finding.legal_basis,
        "reply_draft": finding.reply_draft,
        "status": finding.status,
        "status_label": str(RepeatStatus(finding.status).label),
        "decided_at": finding.decided_at,
        "reason": finding.reason,
        "reply_sent": finding.reply_sent,
        "overturned_at": finding.overturned_at,
        "overturn_reason": finding.overturn_reason,
    }


@router.get(
    "/{appeal_id}/repeat",
    auth=token_or_session,
    url_name="appeal_repeat",
    response={200: RepeatFindingOut, **_ERRORS},
    summary="重复诉求 / the concluded appeal this one repeats, its outcome and the lawful reply",
)
def repeat_finding(request: HttpRequest, appeal_id: int = ID) -> dict[str, Any]:
    return _out(_finding(request, appeal_id))


@router.post(
    "/{appeal_id}/repeat/confirm",
    auth=token_or_session,
    url_name="appeal_repeat_confirm",
    response={200: RepeatFindingOut, **_ERRORS},
    summary="认定重复 / the intake unit answers with the lawful reply (不予受理, citizen texted)",
)
def repeat_confirm(
    request: HttpRequest, payload: RepeatConfirmIn, appeal_id: int = ID
) -> dict[str, Any]:
    finding = _finding(request, appeal_id)
    repeats.do_confirm(finding, request.user, reply=payload.reply, request=request)
    return _out(finding)


@router.post(
    "/{appeal_id}/repeat/accept-as-new",
    auth=token_or_session,
    url_name="appeal_repeat_accept",
    response={200: RepeatFindingOut, **_ERRORS},
    summary="按新诉求受理 / new facts or reasons: registered and handled as a new appeal",
)
def repeat_accept(
    request: HttpRequest, payload: RepeatReasonIn, appeal_id: int = ID
) -> dict[str, Any]:
    finding = _finding(request, appeal_id)
    repeats.do_accept_as_new(finding, request.user, reason=payload.reason, request=request)
    return _out(finding)


@router.post(
    "/{appeal_id}/repeat/overturn",
    auth=token_or_session,
    url_name="appeal_repeat_overturn",
    response={200: RepeatFindingOut, **_ERRORS},
    summary="撤销重复认定 / a leader over the intake unit sends the appeal back to 立案",
)
def repeat_overturn(
    request: HttpRequest, payload: RepeatReasonIn, appeal_id: int = ID
) -> dict[str, Any]:
    finding = _finding(request, appeal_id)
    repeats.do_overturn(finding, request.user, reason=payload.reason, request=request)
    return _out(finding)
