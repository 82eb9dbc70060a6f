"""Misconduct reports over JSON under ``/api/integrity/``.

Submitting and tracking are open to anyone (tracking needs the code and the secret). Everything
else is for discipline inspectors who may see the report; anybody else, signed in or not, gets
404 — never 401 or 403, which would tell a reported person that something is there.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema

from accounts.api_auth import session_auth, token_auth
from integrity import limits, services
from integrity.models import CONTENT_LIMIT, Kind, Report
from minsheng.errors import NotFound

router = Router(tags=["integrity"])

from minsheng.api import ErrorOut  # noqa: E402  (after ``router``: minsheng.api imports us)

ID = Path(..., ge=1, le=2**62, description="举报 id")


def _anonymous(request: HttpRequest) -> Any:
    if request.headers.get("Authorization"):
        return None
    return "anonymous"


anyone: list[Any] = [token_auth, session_auth, _anonymous]
OPTIONAL_AUTH: dict[str, Any] = {"security": [{"TokenAuth": []}, {"CsrfSessionAuth": []}, {}]}
NOT_FOUND: dict[int | str, Any] = {404: ErrorOut, 422: ErrorOut}


def _actor(request: HttpRequest) -> Any:
    auth = getattr(request, "auth", None)
    return auth if getattr(auth, "pk", None) else None


def _inspector(request: HttpRequest) -> Any:
    actor = _actor(request)
    if actor is None or not services.is_inspector(actor):
        raise NotFound(_not_found())
    return actor


def _not_found() -> str:
    from django.utils.translation import gettext as _

    return _("找不到该举报。")


class ReportIn(Schema):
    kind: Kind = Field(..., description="问题类别")
    target_unit: int = Field(..., ge=1, le=2**62, description="被举报单位 id")
    target_name: str = Field("", max_length=100, description="被举报人姓名或职务")
    content: str = Field("", max_length=CONTENT_LIMIT, description="举报内容（必填）")
    named: bool = Field(False, description="实名举报")
    name: str = Field("", max_length=100)
    phone: str = Field("", max_length=20)
    id_number: str = Field("", max_length=32)


class ReceiptOut(Schema):
    code: str
    secret: str = Field(..., description="查询密码，只显示这一次")


class TrackIn(Schema):
    code: str = Field(..., max_length=20)
    secret: str = Field(..., max_length=20)


class StatusOut(Schema):
    code: str
    state: str
    state_label: str
    feedback: str
    feedback_at: str | None


class StepIn(Schema):
    action: str = Field(
        ..., max_length=20, description="register / file / conclude / decide / feedback"
    )
    note: str = Field("", max_length=CONTENT_LIMIT)


class UnsealReasonIn(Schema):
    reason: str = Field("", max_length=1000)


def _status(r: Report) -> dict[str, Any]:
    return {
        "code": r.code,
        "state": r.state,
        "state_label": r.get_state_display(),
        "feedback": r.feedback,
        "feedback_at": r.feedback_at.isoformat() if r.feedback_at else None,
    }


def _row(r: Report) -> dict[str, Any]:
    return {
        "id": r.pk,
        "code": r.code,
        "kind": r.kind,
        "target_unit": {"id": r.target_unit_id, "name": r.target_unit.name},
        "state": r.state,
        "due_at": r.due_at.isoformat(),
        "named": r.named,
    }


def _case(r: Report, actor: Any) -> dict[str, Any]:
    identity = services.revealed_identity(actor, r.pk)
    return {
        **_row(r),
        "target_name": r.target_name,
        "content": r.content,
        "outcome": r.outcome,
        "feedback": r.feedback,
        "next_steps": services.allowed_steps(r),
        "unsealings": [
            {
                "first": u.first.username,
                "first_reason": u.first_reason,
                "second": u.second.username if u.second else None,
                "second_reason": u.second_reason,
                "opened": u.opened,
            }
            for u in services.unsealings(r)
        ],
        "identity": (
            {"name": identity.name, "phone": identity.phone, "id_number": identity.id_number}
            if identity
            else None
        ),
        "events": [
            {
                "at": e.created_at.isoformat(),
                "action": e.action,
                "actor": getattr(e.actor, "username", None),
            }
            for e in services.events(r)
        ],
    }


@router.post(
    "/reports",
    auth=anyone,
    url_name="integrity_submit",
    response={201: ReceiptOut, 400: ErrorOut, 422: ErrorOut},
    summary="提交监督举报（匿名或实名）",
    openapi_extra=OPTIONAL_AUTH,
)
def submit(request: HttpRequest, payload: ReportIn) -> tuple[int, dict[str, Any]]:
    sub = services.Submission(
        kind=payload.kind,
        target_unit_id=payload.target_unit,
        content=payload.content,
        target_name=payload.target_name,
        named=payload.named,
        name=payload.name,
        phone=payload.phone,
        id_number=payload.id_number,
    )
    report, secret = services.submit(_actor(request), sub)
    return 201, {"code": report.code, "secret": secret}


@router.post(
    "/track",
    auth=anyone,
    url_name="integrity_track",
    response={200: StatusOut, 400: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    summary="凭受理编号和查询密码查看进展",
    openapi_extra=OPTIONAL_AUTH,
)
def track(request: HttpRequest, payload: TrackIn) -> dict[str, Any]:
    limits.check_tracking_budget(request)
    try:
        return _status(services.track(payload.code, payload.secret))
    except NotFound:
        limits.spend_tracking_budget(request)
        raise


@router.get(
    "/reports",
    auth=anyone,
    url_name="integrity_queue",
    response={200: dict[str, Any], 400: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="纪检监察人员的举报队列",
    openapi_extra=OPTIONAL_AUTH,
)
def queue(request: HttpRequest) -> dict[str, Any]:
    actor = _inspector(request)
    rows = [_row(r) for r in services.visible_to(actor).select_related("target_unit")]
    return {"count": len(rows), "items": rows}


@router.get(
    "/reports/{report_id}",
    auth=anyone,
    url_name="integrity_detail",
    response={200: dict[str, Any], 400: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="一件举报（纪检监察人员）",
    openapi_extra=OPTIONAL_AUTH,
)
def detail(request: HttpRequest, report_id: int = ID) -> dict[str, Any]:
    actor = _actor(request)
    if actor is None:
        raise NotFound(_not_found())
    # get_visible logs a refused look by a signed-in non-inspector too (the reported person).
    return _case(services.get_visible(actor, report_id), actor)


@router.post(
    "/reports/{report_id}/steps",
    auth=anyone,
    url_name="integrity_step",
    response={200: dict[str, Any], 400: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="办理一步：登记、立案、了结、处理结果、反馈",
    openapi_extra=OPTIONAL_AUTH,
)
def step(request: HttpRequest, payload: StepIn, report_id: int = ID) -> dict[str, Any]:
    actor = _actor(request)
    if actor is None:
        raise NotFound(_not_found())
    report = services.take_step(actor, report_id, payload.action, payload.note)
    return _case(report, actor)


@router.post(
    "/reports/{report_id}/unseal",
    auth=anyone,
    url_name="integrity_unseal",
    response={200: dict[str, Any], 400: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="批准启封举报人身份（须两名不同的纪检监察人员）",
    openapi_extra=OPTIONAL_AUTH,
)
def unseal(request: HttpRequest, payload: UnsealReasonIn, report_id: int = ID) -> dict[str, Any]:
    actor = _actor(request)
    if actor is None:
        raise NotFound(_not_found())
    services.approve_unseal(actor, report_id, payload.reason)
    return _case(services.get_visible(actor, report_id), actor)
