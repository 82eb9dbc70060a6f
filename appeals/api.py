"""Appeals over JSON under ``/api/appeals/``: intake (with ``Idempotency-Key``), public tracking
by code and secret, the staff queue and case, and one POST per step of the loop.

Handlers parse, call one service, and answer with the case as the caller may see it. Reads of an
appeal outside the caller's scope answer 404, so its existence is not revealed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Header, Path, Query, Router, Schema
from pydantic import StrictFloat

from accounts.api_auth import session_auth, token_auth, token_or_session
from accounts.services import client_ip
from appeals import services
from appeals.models import TEXT_LIMIT, TITLE_LIMIT, Appeal, Channel, IdempotencyKey, State
from minsheng.counters import hit_counters, window_key
from minsheng.errors import Conflict, NotFound, RateLimited, ServiceError
from org.api import UnitRef
from org.models import Grid, Unit
from org.roles import Role, require_role
from vault.services import display

router = Router(tags=["appeals"])

from minsheng.api import ErrorOut  # noqa: E402  (after ``router``: minsheng.api imports us)

PHONE_PATTERN = r"^(\+86|0086|86)?[ -]*1[3-9]([ -]*[0-9]){9}$"
ID = Path(..., ge=1, le=2**62, description="诉求 id")
CODE = Path(..., max_length=32, description="诉求编号，如 MS-2026-000123")
STAFF_READERS = (Role.AGENT, Role.HANDLER, Role.LEADER, Role.AUDITOR, Role.ADMIN)


def _anonymous(request: HttpRequest) -> Any:
    """Lets a caller without credentials through; a caller with a bad token stays refused."""
    if request.headers.get("Authorization"):
        return None
    return "anonymous"


anyone: list[Any] = [token_auth, session_auth, _anonymous]
# The empty requirement tells clients (and the fuzzer) that credentials are optional here.
OPTIONAL_AUTH: dict[str, Any] = {"security": [{"TokenAuth": []}, {"CsrfSessionAuth": []}, {}]}


def _actor(request: HttpRequest) -> Any:
    auth = getattr(request, "auth", None)
    return auth if getattr(auth, "pk", None) else None


# --- schemas -----------------------------------------------------------------------------------
class AppealIn(Schema):
    text: str = Field(..., min_length=1, max_length=TEXT_LIMIT, description="诉求内容")
    title: str = Field("", max_length=TITLE_LIMIT, description="标题；空则取内容开头")
    category: str | None = Field(
        None, max_length=64, description="分类编码（见 /api/org/categories）"
    )
    address: str = Field("", max_length=255)
    lat: StrictFloat | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    lng: StrictFloat | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    grid: str | None = Field(None, max_length=64, description="网格编码（可选）")
    contact_name: str = Field("", max_length=64)
    contact_phone: str = Field(
        "",
        max_length=32,
        description="中国大陆手机号，可带 +86、空格或连字符",
        json_schema_extra={"pattern": f"({PHONE_PATTERN})|(^$)", "example": "13800138000"},
    )
    channel: Literal["web", "hotline", "visit"] | None = Field(
        None, description="热线或走访录入时由话务员、干部填写；群众提交时省略"
    )


class IntakeOut(Schema):
    id: int
    code: str
    secret: str = Field(..., description="查询码：与编号一起用于查询、评价和撤回，只显示这一次")
    state: str
    state_label: str
    created: dt.datetime


class EventOut(Schema):
    action: str
    from_state: str
    to_state: str
    unit: str
    actor: str
    reason: str
    legal_basis: str
    at: dt.datetime


class ReplyOut(Schema):
    text: str
    unit: str
    at: dt.datetime


class CallbackOut(Schema):
    rating: str
    channel: str
    comment: str
    at: dt.datetime


class DispatchOut(Schema):
    unit: UnitRef
    default_unit: UnitRef | None
    suggestions: list[dict[str, Any]]
    decided_by: str
    at: dt.datetime


class Deadlines(Schema):
    sign_due: dt.datetime | None
    handle_due: dt.datetime | None
    reply_due: dt.datetime | None
    sign_warned: bool
    sign_overdue: bool
    handle_warned: bool
    handle_overdue: bool
    reply_warned: bool
    reply_overdue: bool
    suspended: bool
    extended_days: int
    extension_requested_days: int | None


class AppealRow(Schema):
    id: int
    code: str
    title: str
    state: str
    state_label: str
    channel: str
    category: str | None
    current_unit: UnitRef | None
    overdue: bool
    created: dt.datetime
    deadlines: Deadlines


class CaseReviewOut(Schema):
    kind: str = Field(..., description="recheck 复查 / review 复核")
    requested_at: dt.datetime
    due: dt.datetime | None
    decided_at: dt.datetime | None
    outcome: str
    text: str


class AppealOut(AppealRow):
    text: str
    address: str
    lat: float | None
    lng: float | None
    contact_name: str
    contact_phone: str = Field(..., description="打码后的联系电话")
    intake_unit: UnitRef | None
    merged_into: str | None
    duplicate_of: str | None = Field(None, description="疑似重复的诉求编号（尚未合并）")
    duplicate_score: float | None
    grid: str | None
    supports: int
    photos: list[int] = Field(..., description="照片编号，见 /api/appeals/{id}/photos/{photo_id}")
    reviews: list[CaseReviewOut]
    reopen_count: int
    allowed_actions: list[str]
    events: list[EventOut]
    dispatches: list[DispatchOut]
    replies: list[ReplyOut]
    callbacks: list[CallbackOut]


class AppealPage(Schema):
    # Exact up to search.appeals.COUNT_LIMIT; beyond it that limit with count_exact false.
    count: int
    count_exact: bool = True
    limit: int
    offset: int
    items: list[AppealRow]


class TrackEvent(Schema):
    action: str
    label: str
    at: dt.datetime


class TrackOut(Schema):
    code: str
    title: str
    state: str
    state_label: str
    category: str | None
    unit: str | None
    created: dt.datetime
    updated: dt.datetime
    timeline: list[TrackEvent]
    replies: list[ReplyOut]
    can_rate: bool
    can_withdraw: bool


class QueueQuery(Schema):
    q: str | None = Field(
        None,
        max_length=200,
        description="关键词：标题或内容须含每个词（两个字以上），如“路灯 不亮”",
    )
    state: State | None = None
    unit: str | None = Field(None, max_length=64, description="承办单位编码或 id（含下级单位）")
    category: str | None = Field(None, max_length=64, description="分类编码（含子分类）")
    grid: str | None = Field(None, max_length=64, description="网格编码")
    date_from: dt.date | None = Field(None, description="受理日期起（含），北京时间，如 2026-01-01")
    date_to: dt.date | None = Field(None, description="受理日期止（含），北京时间")
    overdue: bool | None = None
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10**9)


class SecretIn(Schema):
    secret: str = Field("", max_length=64, description="查询码；本人登录时可省略")


class RateIn(SecretIn):
    rating: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    comment: str = Field("", max_length=TEXT_LIMIT, description="不满意时必填：原因")


class WithdrawIn(SecretIn):
    reason: str = Field("", max_length=1000)


class ReasonIn(Schema):
    reason: str = Field("", max_length=2000)


class RequiredReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=2000)


class RejectIn(RequiredReasonIn):
    legal_basis: str = Field(..., min_length=1, max_length=2000, description="不予受理的依据")


class Suggestion(Schema):
    unit: int = Field(..., ge=1, le=2**62)
    confidence: float = Field(..., ge=0, le=1)


class DispatchIn(Schema):
    unit: str = Field(..., min_length=1, max_length=64, description="承办单位编码或 id")
    suggestions: list[Suggestion] = Field(default_factory=list, max_length=10)
    note: str = Field("", max_length=2000)


class NoteIn(Schema):
    note: str = Field("", max_length=2000)


class ReplyIn(Schema):
    text: str = Field(..., min_length=1, max_length=TEXT_LIMIT)


class CallbackIn(Schema):
    rating: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    comment: str = Field("", max_length=TEXT_LIMIT)


class MergeIn(Schema):
    target: str = Field(..., min_length=1, max_length=32, description="主件编号或 id")
    reason: str = Field("", max_length=2000)


class ExtensionIn(Schema):
    days: int = Field(..., ge=1, le=30)
    reason: str = Field(..., min_length=1, max_length=2000)


class Empty(Schema):
    pass


# --- shaping answers ---------------------------------------------------------------------------
def _unit_ref(unit: Unit | None) -> dict[str, Any] | None:
    return None if unit is None else {"id": unit.pk, "code": unit.code, "name": unit.name}


def _name(user: Any) -> str:
    if user is None:
        return ""
    return str(getattr(user, "display_name", "") or user.get_username())


def _deadlines(a: Appeal) -> dict[str, Any]:
    return {
        "sign_due": a.sign_due,
        "handle_due": a.handle_due,
        "reply_due": a.reply_due,
        "sign_warned": a.sign_warned,
        "sign_overdue": a.sign_overdue,
        "handle_warned": a.handle_warned,
        "handle_overdue": a.handle_overdue,
        "reply_warned": a.reply_warned,
        "reply_overdue": a.reply_overdue,
        "suspended": a.is_suspended,
        "extended_days": a.extended_days,
        "extension_requested_days": a.extension_requested_days,
    }


def _row(a: Appeal) -> dict[str, Any]:
    return {
        "id": a.pk,
        "code": a.code,
        "title": a.title,
        "state": a.state,
        "state_label": str(State(a.state).label),
        "channel": a.channel,
        "category": a.category.code if a.category is not None else None,
        "current_unit": _unit_ref(a.current_unit),
        "overdue": a.is_overdue,
        "created": a.created,
        "deadlines": _deadlines(a),
    }


def _grid(code: str | None) -> Grid | None:
    if not code:
        return None
    found = Grid.objects.filter(code=code.strip()).first()
    if found is None:
        raise ServiceError(
            _("没有编码为“%(code)s”的网格") % {"code": code},
            code="validation_error",
            status=422,
            detail={"field": "grid"},
        )
    return found


def _case(a: Appeal, user: Any) -> dict[str, Any]:
    events = a.events.select_related("unit", "actor").order_by("at", "pk")
    dispatches = a.dispatches.select_related("unit", "default_unit", "decided_by")
    return {
        **_row(a),
        "text": a.text,
        "address": a.address,
        "lat": float(a.lat) if a.lat is not None else None,
        "lng": float(a.lng) if a.lng is not None else None,
        "contact_name": a.contact_name,
        "contact_phone": display(user, a.contact_phone),
        "intake_unit": _unit_ref(a.intake_unit),
        "merged_into": a.merged_into.code if a.merged_into is not None else None,
        "duplicate_of": a.duplicate_of.code if a.duplicate_of is not None else None,
        "duplicate_score": a.duplicate_score,
        "grid": a.grid.code if a.grid is not None else None,
        "supports": a.supports,
        "photos": [p.pk for p in a.photos.all()],
        "reviews": [
            {
                "kind": r.kind,
                "requested_at": r.requested_at,
                "due": r.due,
                "decided_at": r.decided_at,
                "outcome": r.outcome,
                "text": r.text,
            }
            for r in a.reviews.all()
        ],
        "reopen_count": a.reopen_count,
        "allowed_actions": services.allowed_actions(a),
        "events": [
            {
                "action": e.action,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "unit": e.unit.name if e.unit is not None else "",
                "actor": _name(e.actor),
                "reason": e.reason,
                "legal_basis": e.legal_basis,
                "at": e.at,
            }
            for e in events
        ],
        "dispatches": [
            {
                "unit": _unit_ref(d.unit),
                "default_unit": _unit_ref(d.default_unit),
                "suggestions": d.suggestions,
                "decided_by": _name(d.decided_by),
                "at": d.at,
            }
            for d in dispatches
        ],
        "replies": [
            {"text": r.text, "unit": r.unit.name if r.unit else "", "at": r.at}
            for r in a.replies.select_related("unit")
        ],
        "callbacks": [
            {"rating": c.rating, "channel": c.channel, "comment": c.comment, "at": c.at}
            for c in a.callbacks.all()
        ],
    }


_RELATED = ("category", "current_unit", "intake_unit", "merged_into", "citizen")


def _visible(request: HttpRequest, appeal_id: int) -> Appeal:
    appeal = (
        Appeal.objects.visible_to(request.user)
        .select_related(*_RELATED)
        .filter(pk=appeal_id)
        .first()
    )
    if appeal is None:
        raise NotFound(_("找不到该诉求。"))
    return appeal


def _for_action(appeal_id: int) -> Appeal:
    """The appeal a step is asked for; the service decides whether this caller may take it."""
    appeal = Appeal.objects.select_related(*_RELATED).filter(pk=appeal_id).first()
    if appeal is None:
        raise NotFound(_("找不到该诉求。"))
    return appeal


def _tracked(request: HttpRequest, code: str, secret: str | None) -> Appeal:
    """By code, for its owner or whoever holds the secret; anyone else gets 404."""
    appeal = Appeal.objects.select_related(*_RELATED).filter(code=code.strip().upper()).first()
    if appeal is None or not (
        services.is_owner(appeal, _actor(request)) or services.secret_matches(appeal, secret)
    ):
        raise NotFound(_("编号或查询码不正确。"))
    return appeal


# --- intake ------------------------------------------------------------------------------------
def _spend_intake_budget(request: HttpRequest) -> None:
    """Anonymous and session callers share one budget per address per hour; API-token callers
    (hotline agents, integrations) are accountable through their token and are not counted."""
    limit = settings.APPEAL_API_SUBMITS_PER_IP_PER_HOUR
    if not limit or getattr(request, "api_token", None) is not None:
        return
    hour = 3600
    key, remaining = window_key("appeal-api-submit-ip", client_ip(request), hour)
    [spent] = hit_counters([key], hour + 5)
    if spent > limit:
        raise RateLimited(
            _("您的网络在一小时内提交的诉求太多，请 %(m)d 分钟后再试，急事请拨打 12345。")
            % {"m": max(1, remaining // 60)},
            retry_after=remaining,
        )


def _request_hash(payload: AppealIn) -> str:
    canonical = json.dumps(payload.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _channel(request: HttpRequest, actor: Any, wanted: str | None) -> str:
    if wanted in (Channel.HOTLINE, Channel.VISIT):
        require_role(request, Role.AGENT, Role.CADRE)
        return wanted
    return Channel.API if getattr(request, "api_token", None) is not None else Channel.WEB


def _intake_out(appeal: Appeal, secret: str) -> dict[str, Any]:
    return {
        "id": appeal.pk,
        "code": appeal.code,
        "secret": secret,
        "state": appeal.state,
        "state_label": str(State(appeal.state).label),
        "created": appeal.created,
    }


def _replay(scope: str, key: str, digest: str) -> dict[str, Any] | None:
    found = IdempotencyKey.objects.select_related("appeal").filter(scope=scope, key=key).first()
    if found is None:
        return None
    if found.request_hash != digest:
        raise Conflict(
            _("该 Idempotency-Key 已用于另一份不同的提交。"),
            code="idempotency_conflict",
            detail={"appeal": found.appeal.code},
        )
    return _intake_out(found.appeal, str(found.secret))


@router.post(
    "/",
    auth=anyone,
    openapi_extra=OPTIONAL_AUTH,
    url_name="appeal_submit",
    response={
        201: IntakeOut,
        200: IntakeOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
    },
    summary="提交诉求 / submit an appeal",
)
def submit(
    request: HttpRequest,
    payload: AppealIn,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        max_length=128,
        description="重试时带上同一个键：同一份提交只建一件诉求",
    ),
) -> tuple[int, dict[str, Any]]:
    return intake(request, _actor(request), payload, idempotency_key)


def intake(
    request: HttpRequest, actor: Any, payload: AppealIn, idempotency_key: str | None
) -> tuple[int, dict[str, Any]]:
    """The submission after parsing: the ninja view above and the WSGI fast path
    (minsheng/fastpath_appeals.py) both answer with this."""
    _spend_intake_budget(request)
    submission = services.Submission(
        text=payload.text,
        title=payload.title,
        category=services.resolve_category(payload.category),
        address=payload.address,
        lat=None if payload.lat is None else Decimal(f"{payload.lat:.6f}"),
        lng=None if payload.lng is None else Decimal(f"{payload.lng:.6f}"),
        contact_name=payload.contact_name,
        contact_phone=payload.contact_phone,
        channel=_channel(request, actor, payload.channel),
        grid=_grid(payload.grid),
    )
    key = (idempotency_key or "").strip()
    if not key:
        appeal, secret = services.do_submit(actor, submission, request=request)
        return 201, _intake_out(appeal, secret)
    scope = f"user:{actor.pk}" if actor is not None else "anonymous"
    digest = _request_hash(payload)
    # Insert first: a retry is rare, so looking the key up before every submission would cost
    # every first attempt a query; a key that exists fails the unique constraint, the whole
    # submission rolls back, and the retry is answered with the appeal stored the first time.
    try:
        appeal, secret = services.do_submit(
            actor,
            submission,
            request=request,
            idempotency=services.IdempotencyRow(scope=scope, key=key, request_hash=digest),
        )
    except IntegrityError:
        # A retry (or a simultaneous twin) with this key committed first: answer with its appeal.
        replay = _replay(scope, key, digest)
        if replay is None:
            raise
        return 200, replay
    return 201, _intake_out(appeal, secret)


# --- public tracking ---------------------------------------------------------------------------
_PUBLIC_ACTIONS = {"submit": _("受理")} | {
    name: t.label for name, t in services.TRANSITIONS.items()
}


@router.get(
    "/track/{code}",
    url_name="appeal_track",
    auth=anyone,
    openapi_extra=OPTIONAL_AUTH,
    response={200: TrackOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="凭编号和查询码查询进度 / track an appeal",
)
def track(
    request: HttpRequest,
    code: str = CODE,
    secret: str = Query("", max_length=64),
) -> dict[str, Any]:
    appeal = _tracked(request, code, secret)
    public_steps = set(_PUBLIC_ACTIONS) - {"request_extension", "follow_reply"}
    timeline = [
        {"action": e.action, "label": str(_PUBLIC_ACTIONS[e.action]), "at": e.at}
        for e in appeal.events.order_by("at", "pk")
        if e.action in public_steps
    ]
    return {
        "code": appeal.code,
        "title": appeal.title,
        "state": appeal.state,
        "state_label": str(State(appeal.state).label),
        "category": appeal.category.name if appeal.category is not None else None,
        "unit": appeal.current_unit.name if appeal.current_unit is not None else None,
        "created": appeal.created,
        "updated": appeal.updated,
        "timeline": timeline,
        "replies": [
            {"text": r.text, "unit": r.unit.name if r.unit else "", "at": r.at}
            for r in appeal.replies.select_related("unit")
        ],
        "can_rate": appeal.state == State.REPLIED,
        "can_withdraw": appeal.state in services.TRANSITIONS["withdraw"].sources,
    }


_ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


@router.post(
    "/track/{code}/rate",
    url_name="appeal_rate",
    auth=anyone,
    openapi_extra=OPTIONAL_AUTH,
    response={200: TrackOut, **_ERRORS},
    summary="评价答复 / rate the reply",
)
def rate(request: HttpRequest, payload: RateIn, code: str = CODE) -> dict[str, Any]:
    appeal = _tracked(request, code, payload.secret)
    services.do_callback(
        appeal,
        _actor(request),
        rating=payload.rating,
        comment=payload.comment,
        secret=payload.secret,
        request=request,
    )
    return track(request, appeal.code, payload.secret)


@router.post(
    "/track/{code}/withdraw",
    url_name="appeal_withdraw",
    auth=anyone,
    openapi_extra=OPTIONAL_AUTH,
    response={200: TrackOut, **_ERRORS},
    summary="撤回诉求 / withdraw an appeal",
)
def withdraw(request: HttpRequest, payload: WithdrawIn, code: str = CODE) -> dict[str, Any]:
    appeal = _tracked(request, code, payload.secret)
    services.do_withdraw(
        appeal, _actor(request), secret=payload.secret, reason=payload.reason, request=request
    )
    return track(request, appeal.code, payload.secret)


# --- staff: queue and case ---------------------------------------------------------------------
@router.get(
    "/",
    auth=token_or_session,
    url_name="appeal_queue",
    response={200: AppealPage, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="诉求队列 / the staff queue",
)
def queue(request: HttpRequest, filters: Query[QueueQuery]) -> dict[str, Any]:
    from search.appeals import apply_filters, filter_appeals, page_of

    require_role(request, *STAFF_READERS)
    qs = apply_filters(
        Appeal.objects.visible_to(request.user),
        state=filters.state,
        unit=filters.unit,
        category=filters.category,
        grid=filters.grid,
        date_from=filters.date_from,
        date_to=filters.date_to,
    )
    qs = filter_appeals(qs, filters.q)
    if filters.overdue is True:
        qs = qs.overdue()
    elif filters.overdue is False:
        qs = qs.exclude(pk__in=Appeal.objects.overdue().values("pk"))
    # Ids first, then rows, with a capped count (counting every match of a common word at a
    # million appeals would cost seconds): see search.appeals.page_of.
    page, total, exact = page_of(
        qs.order_by("-created", "-pk"),
        filters.offset,
        filters.limit,
        related=("category", "current_unit"),
    )
    return {
        "count": max(total, filters.offset + len(page)),
        "count_exact": exact,
        "limit": filters.limit,
        "offset": filters.offset,
        "items": [_row(a) for a in page],
    }


@router.get(
    "/{appeal_id}",
    url_name="appeal_detail",
    auth=token_or_session,
    response={200: AppealOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="诉求详情 / one appeal with its timeline",
)
def detail(request: HttpRequest, appeal_id: int = ID) -> dict[str, Any]:
    return _case(_visible(request, appeal_id), request.user)


# --- staff: the steps --------------------------------------------------------------------------
def _step(request: HttpRequest, appeal_id: int, act: Any) -> dict[str, Any]:
    appeal = _for_action(appeal_id)
    act(appeal)
    return _case(_for_action(appeal_id), request.user)


def _post(path: str, summary: str) -> Any:
    name = "appeal_" + path.rsplit("/", 1)[-1].replace("-", "_")
    return router.post(
        path,
        auth=token_or_session,
        response={200: AppealOut, **_ERRORS},
        summary=summary,
        url_name=name,
    )


@_post("/{appeal_id}/register", "立案 / register")
def register(request: HttpRequest, payload: ReasonIn, appeal_id: int = ID) -> dict[str, Any]:
    return _step(
        request,
        appeal_id,
        lambda a: services.do_register(a, request.user, reason=payload.reason, request=request),
    )


@_post("/{appeal_id}/reject", "不予受理 / reject with reason and legal basis")
def reject(request: HttpRequest, payload: RejectIn, appeal_id: int = ID) -> dict[str, Any]:
    return _step(
        request,
        appeal_id,
        lambda a: services.do_reject(
            a, request.user, reason=payload.reason, legal_basis=payload.legal_basis, request=request
        ),
    )


def _unit_by(code_or_id: str) -> Unit:
    text = code_or_id.strip()
    unit = Unit.objects.filter(code=text).first()
    if unit is None and text.isdigit() and len(text) < 19:
        unit = Unit.objects.filter(pk=int(text)).first()
    if unit is None:
        raise ServiceError(
            _("没有编码或 id 为“%(u)s”的单位。") % {"u": text},
            code="validation_error",
            status=422,
            detail=[{"field": "unit", "message": _("单位不存在")}],
        )
    return unit


@_post("/{appeal_id}/dispatch", "派遣 / dispatch to a unit")
def dispatch(request: HttpRequest, payload: DispatchIn, appeal_id: int = ID) -> dict[str, Any]:
    def act(appeal: Appeal) -> None:
        unit = _unit_by(payload.unit)
        codes = dict(
            Unit.objects.filter(pk__in=[s.unit for s in payload.suggestions]).values_list(
                "pk", "code"
            )
        )
        suggestions = [
            {"unit_id": s.unit, "unit_code": codes.get(s.unit, ""), "confidence": s.confidence}
            for s in payload.suggestions
        ]
        services.do_dispatch(
            appeal, unit, request.user, suggestions=suggestions, note=payload.note, request=request
        )

    return _step(request, appeal_id, act)


@_post("/{appeal_id}/sign", "签收 / sign for the order")
def sign(request: HttpRequest, payload: Empty, appeal_id: int = ID) -> dict[str, Any]:
    return _step(request, appeal_id, lambda a: services.do_sign(a, request.user, request=request))


@_post("/{appeal_id}/return", "退回 / return to the dispatcher with a reason")
def return_(request: HttpRequest, payload: RequiredReasonIn, appeal_id: int = ID) -> dict[str, Any]:
    return _step(
        request,
        appeal_id,
        lambda a: services.do_return(a, request.user, reason=payload.reason, request=request),
    )


@_post("/{appeal_id}/handle", "处置 / start handling")
def handle(request: HttpRequest, payload: NoteIn, appeal_id: int = ID) -> dict[str, Any]:
    return _step(
        request,
        appeal_id,
        lambda a: services.do_handle(a, request.user, note=payload.note, request=request),
    )


@_post("/{appeal_id}/reply", "答复 / reply to the citizen")
def reply(request: HttpRequest, payload: ReplyIn, appeal_id: int = ID) -> dict[str, Any]:
    return _step(
        request,
        appeal_id,
        lambda a: services.do_reply(a, request.user, text=payload.text, request=request),
    )


@_post("/{appeal_id}/callback", "电话回访 / record a phone callback")
def callback(request: HttpRequest, payload: CallbackIn, appeal_id: int = ID) -> dict[str, Any]:
    return _step(
        request,
        appeal_id,
        lambda a: services.do_callback(
            a, request.user, rating=payload.rating, comment=payload.comment, request=request
        ),
    )


@_post("/{appeal_id}/close", "结案 / close")
def close(request: HttpRequest, payload: Empty, appeal_id: int = ID) -> dict[str, Any]:
    return _step(request, appeal_id, lambda a: services.do_close(a, request.user, request=request))


@_post("/{appeal_id}/merge", "合并 / merge into another open appeal")
def merge(request: HttpRequest, payload: MergeIn, appeal_id: int = ID) -> dict[str, Any]:
    def act(appeal: Appeal) -> None:
        text = payload.target.strip().upper()
        target = Appeal.objects.filter(code=text).first()
        if target is None and text.isdigit() and len(text) < 19:
            target = Appeal.objects.filter(pk=int(text)).first()
        if (
            target is None
            or not Appeal.objects.visible_to(request.user).filter(pk=target.pk).exists()
        ):
            raise ServiceError(
                _("找不到要并入的诉求“%(t)s”。") % {"t": payload.target},
                code="validation_error",
                status=422,
                detail=[{"field": "target", "message": _("诉求不存在")}],
            )
        services.do_merge(appeal, target, request.user, reason=payload.reason, request=request)

    return _step(request, appeal_id, act)


@_post("/{appeal_id}/request-extension", "申请延期 / request an extension")
def request_extension(
    request: HttpRequest, payload: ExtensionIn, appeal_id: int = ID
) -> dict[str, Any]:
    return _step(
        request,
        appeal_id,
        lambda a: services.do_request_extension(
            a, request.user, days=payload.days, reason=payload.reason, request=request
        ),
    )


@_post("/{appeal_id}/approve-extension", "批准延期 / approve the extension (leader)")
def approve_extension(request: HttpRequest, payload: Empty, appeal_id: int = ID) -> dict[str, Any]:
    return _step(
        request,
        appeal_id,
        lambda a: services.do_approve_extension(a, request.user, request=request),
    )


@_post("/{appeal_id}/suspend", "中止计时 / suspend the clock (leader)")
def suspend(request: HttpRequest, payload: RequiredReasonIn, appeal_id: int = ID) -> dict[str, Any]:
    return _step(
        request,
        appeal_id,
        lambda a: services.do_suspend(a, request.user, reason=payload.reason, request=request),
    )


@_post("/{appeal_id}/resume", "恢复计时 / resume the clock")
def resume(request: HttpRequest, payload: Empty, appeal_id: int = ID) -> dict[str, Any]:
    return _step(request, appeal_id, lambda a: services.do_resume(a, request.user, request=request))
