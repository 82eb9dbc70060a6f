"""More appeal operations under ``/api/appeals/``: what the dispatcher sees before acting
(router suggestions, possible duplicates, reply templates), photos, the citizen's reopening and
信访 复查/复核.

Staff reads answer 404 for an appeal outside the caller's scope, as in ``appeals.api``. The
citizen's operations take the tracking secret (or the signed-in owner); a wrong secret answers
404 like a missing appeal, so codes cannot be probed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, UploadedFile

from accounts.api_auth import token_or_session
from appeals import duplicates, photos, services, suggest, templates_service
from appeals import review as reviews
from appeals.api import ID, OPTIONAL_AUTH, STAFF_READERS, _actor, anyone
from appeals.models import FINAL_STATES, TEXT_LIMIT, Appeal, AppealPhoto, Review, State
from minsheng.errors import Conflict, NotFound
from org.roles import Role, has_role, require_role

router = Router(tags=["appeals"])

from minsheng.api import ErrorOut  # noqa: E402  (after ``router``: minsheng.api imports us)

_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
SECRET_FORM = Form("", max_length=64, description="查询码；本人或受理单位工作人员可省略")
PHOTOS_FILE = File(..., alias="photos", description="一张或多张照片（JPEG、PNG 或 WebP）")
_RELATED = ("category", "category__parent", "current_unit", "intake_unit", "citizen")


# --- schemas -----------------------------------------------------------------------------------
class UnitSuggestion(Schema):
    unit_id: int
    unit_code: str
    unit_name: str
    confidence: float = Field(..., description="0–1，路由模型给出的概率")


class DefaultUnit(Schema):
    unit_id: int
    unit_code: str
    unit_name: str


class ModelInfo(Schema):
    labels: int
    fields: list[str]
    trained_rows: int | None
    source: str
    macro_f1: float | None


class SuggestionsOut(Schema):
    suggestions: list[UnitSuggestion]
    model: ModelInfo | None = Field(..., description="未安装路由模型时为 null，且没有建议")
    default_unit: DefaultUnit | None = Field(..., description="分类的责任单位")


class Candidate(Schema):
    id: int
    code: str
    title: str
    state: str
    state_label: str
    score: float = Field(..., description="文本相似度 0–1")
    distance_m: float | None = Field(..., description="两件诉求都有坐标时的距离（米）")
    created: dt.datetime
    current_unit: str | None
    flagged: bool = Field(..., description="受理时已标记为此件的疑似重复")


class DuplicatesOut(Schema):
    duplicate_of: str | None = Field(..., description="受理时标记的疑似重复主件编号")
    duplicate_score: float | None
    candidates: list[Candidate]


class TemplateOut(Schema):
    id: int
    title: str
    category: str | None
    unit: str | None
    text: str = Field(..., description="已填入编号、标题、单位和日期的答复")
    template: str


class PhotoOut(Schema):
    id: int
    width: int
    height: int
    size: int
    content_type: str
    at: dt.datetime


class PhotosOut(Schema):
    count: int
    photos: list[PhotoOut]


class ReopenIn(Schema):
    secret: str = Field("", max_length=64, description="查询码；本人登录时可省略")
    reason: str = Field(..., min_length=1, max_length=TEXT_LIMIT, description="重办原因")


class ReopenOut(Schema):
    code: str
    state: str
    state_label: str
    reopen_count: int
    handle_due: dt.datetime | None
    reply_due: dt.datetime | None


class ReviewIn(Schema):
    secret: str = Field("", max_length=64, description="查询码；本人或话务员代为申请时可省略")
    reason: str = Field(..., min_length=1, max_length=TEXT_LIMIT, description="申请理由")


class ReviewAnswerIn(Schema):
    outcome: Literal["upheld", "changed"] = Field(..., description="维持 upheld / 变更 changed")
    text: str = Field(..., min_length=1, max_length=TEXT_LIMIT, description="复查（复核）意见")


class ReviewOut(Schema):
    id: int
    kind: str
    kind_label: str
    unit: str
    requested_at: dt.datetime
    due: dt.datetime | None
    overdue: bool
    decided_at: dt.datetime | None
    outcome: str
    text: str


# --- helpers -----------------------------------------------------------------------------------
def _staff_case(request: HttpRequest, appeal_id: int) -> Appeal:
    """A case the caller may read as staff; 404 outside their scope, 403 for non-staff."""
    appeal = (
        Appeal.objects.visible_to(request.user)
        .select_related(*_RELATED)
        .filter(pk=appeal_id)
        .first()
    )
    if appeal is None:
        raise NotFound(_("找不到该诉求。"))
    require_role(request, *STAFF_READERS)
    return appeal


def _citizen_case(request: HttpRequest, appeal_id: int, secret: str | None) -> Appeal:
    """The owner's or the secret holder's appeal; anyone else gets 404."""
    appeal = Appeal.objects.select_related(*_RELATED).filter(pk=appeal_id).first()
    if appeal is None or not (
        services.is_owner(appeal, _actor(request)) or services.secret_matches(appeal, secret)
    ):
        raise NotFound(_("编号或查询码不正确。"))
    return appeal


def _review_out(item: Review) -> dict[str, Any]:
    return {
        "id": item.pk,
        "kind": item.kind,
        "kind_label": str(item.get_kind_display()),
        "unit": item.unit.name,
        "requested_at": item.requested_at,
        "due": item.due,
        "overdue": item.overdue,
        "decided_at": item.decided_at,
        "outcome": item.outcome,
        "text": item.text,
    }


def _photo_out(p: AppealPhoto) -> dict[str, Any]:
    return {
        "id": p.pk,
        "width": p.width,
        "height": p.height,
        "size": p.size,
        "content_type": p.content_type,
        "at": p.at,
    }


# --- what the dispatcher sees ------------------------------------------------------------------
@router.get(
    "/{appeal_id}/suggestions",
    auth=token_or_session,
    url_name="appeal_suggestions",
    response={200: SuggestionsOut, **_ERRORS},
    summary="派遣建议 / the router's top units and the category's default unit",
)
def suggestions(
    request: HttpRequest, appeal_id: int = ID, top: int = Query(3, ge=1, le=10)
) -> dict[str, Any]:
    return suggest.suggestions_for(_staff_case(request, appeal_id), top)


@router.get(
    "/{appeal_id}/duplicates",
    auth=token_or_session,
    url_name="appeal_duplicates",
    response={200: DuplicatesOut, **_ERRORS},
    summary="疑似重复 / open appeals about the same problem at the same place",
)
def duplicate_candidates(request: HttpRequest, appeal_id: int = ID) -> dict[str, Any]:
    appeal = _staff_case(request, appeal_id)
    found = duplicates.candidates(appeal)
    # Only what the caller may read is named; the rest stays unseen.
    visible = set(
        Appeal.objects.visible_to(request.user)
        .filter(pk__in=[a.pk for a, _s, _d in found])
        .values_list("pk", flat=True)
    )
    flagged = appeal.duplicate_of if appeal.duplicate_of_id in visible else None
    return {
        "duplicate_of": flagged.code if flagged is not None else None,
        "duplicate_score": appeal.duplicate_score if flagged is not None else None,
        "candidates": [
            {
                "id": a.pk,
                "code": a.code,
                "title": a.title,
                "state": a.state,
                "state_label": str(State(a.state).label),
                "score": score,
                "distance_m": distance,
                "created": a.created,
                "current_unit": a.current_unit.name if a.current_unit is not None else None,
                "flagged": a.pk == appeal.duplicate_of_id,
            }
            for a, score, distance in found
            if a.pk in visible
        ],
    }


@router.get(
    "/{appeal_id}/templates",
    auth=token_or_session,
    url_name="appeal_templates",
    response={200: list[TemplateOut], **_ERRORS},
    summary="答复模板 / reply templates for this appeal, filled in",
)
def templates(request: HttpRequest, appeal_id: int = ID) -> list[dict[str, Any]]:
    appeal = _staff_case(request, appeal_id)
    return [
        {
            "id": t.pk,
            "title": t.title,
            "category": t.category.name if t.category is not None else None,
            "unit": t.unit.name if t.unit is not None else None,
            "text": templates_service.render_template(t, appeal),
            "template": t.text,
        }
        for t in templates_service.templates_for(appeal)
    ]


# --- photos ------------------------------------------------------------------------------------
def _may_add_photos(request: HttpRequest, appeal: Appeal, secret: str) -> bool:
    actor = _actor(request)
    if services.is_owner(appeal, actor) or services.secret_matches(appeal, secret):
        return True
    return actor is not None and has_role(
        actor, Role.AGENT, Role.CADRE, Role.ADMIN, unit=appeal.intake_unit
    )


@router.post(
    "/{appeal_id}/photos",
    auth=anyone,
    openapi_extra=OPTIONAL_AUTH,
    url_name="appeal_photos",
    response={201: PhotosOut, **_ERRORS, 413: ErrorOut},
    summary="上传照片 / add photos (JPEG, PNG or WebP; EXIF and GPS are removed)",
)
def add_photos(
    request: HttpRequest,
    appeal_id: int = ID,
    secret: str = SECRET_FORM,
    files: list[UploadedFile] = PHOTOS_FILE,
) -> tuple[int, dict[str, Any]]:
    appeal = Appeal.objects.select_related(*_RELATED).filter(pk=appeal_id).first()
    if appeal is None or not _may_add_photos(request, appeal, secret):
        raise NotFound(_("编号或查询码不正确。"))
    if appeal.state in FINAL_STATES or appeal.state == State.MERGED:
        raise Conflict(
            _("诉求已“%(state)s”，不能再添加照片。") % {"state": State(appeal.state).label},
            detail={"state": appeal.state},
        )
    have = appeal.photos.count()
    if have + len(files) > photos.max_photos():
        raise photos.too_many(have, len(files))
    # Check every file before storing any: one bad photo stores none.
    for upload in files:
        photos.clean_image(photos.read_upload(upload))
    for upload in files:
        photos.attach(appeal, upload, _actor(request))
    stored = list(appeal.photos.all())
    return 201, {"count": len(stored), "photos": [_photo_out(p) for p in stored]}


@router.get(
    "/{appeal_id}/photos/{photo_id}",
    auth=anyone,
    openapi_extra=OPTIONAL_AUTH,
    url_name="appeal_photo",
    response={200: None, **_ERRORS},
    summary="查看照片 / one photo, for staff who may read the case or the citizen",
)
def photo_file(
    request: HttpRequest,
    appeal_id: int = ID,
    photo_id: int = ID,
    secret: str = Query("", max_length=64),
) -> Any:
    photo = (
        AppealPhoto.objects.select_related("appeal")
        .filter(pk=photo_id, appeal_id=appeal_id)
        .first()
    )
    if photo is None:
        raise NotFound(_("找不到该照片。"))
    appeal = photo.appeal
    readable = (
        services.is_owner(appeal, _actor(request))
        or services.secret_matches(appeal, secret)
        or Appeal.objects.visible_to(_actor(request)).filter(pk=appeal.pk).exists()
    )
    if not readable:
        raise NotFound(_("找不到该照片。"))
    response = FileResponse(photo.image.open("rb"), content_type=photo.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- the citizen reopens -----------------------------------------------------------------------
@router.post(
    "/{appeal_id}/reopen",
    auth=anyone,
    openapi_extra=OPTIONAL_AUTH,
    url_name="appeal_reopen",
    response={200: ReopenOut, **_ERRORS},
    summary="申请重办 / reopen within the allowed days after closing or the callback",
)
def reopen(request: HttpRequest, payload: ReopenIn, appeal_id: int = ID) -> dict[str, Any]:
    appeal = _citizen_case(request, appeal_id, payload.secret)
    services.do_reopen(
        appeal, _actor(request), reason=payload.reason, secret=payload.secret, request=request
    )
    return {
        "code": appeal.code,
        "state": appeal.state,
        "state_label": str(State(appeal.state).label),
        "reopen_count": appeal.reopen_count,
        "handle_due": appeal.handle_due,
        "reply_due": appeal.reply_due,
    }


# --- 信访 复查 / 复核 ----------------------------------------------------------------------------
@router.post(
    "/{appeal_id}/review",
    auth=anyone,
    openapi_extra=OPTIONAL_AUTH,
    url_name="appeal_review",
    response={201: ReviewOut, **_ERRORS},
    summary="申请复查或复核（信访事项）/ request a 复查, then a 复核",
)
def request_review(
    request: HttpRequest, payload: ReviewIn, appeal_id: int = ID
) -> tuple[int, dict[str, Any]]:
    actor = _actor(request)
    appeal = Appeal.objects.select_related(*_RELATED).filter(pk=appeal_id).first()
    on_behalf = (
        appeal is not None
        and actor is not None
        and has_role(actor, Role.AGENT, unit=appeal.intake_unit)
    )
    if appeal is None or not on_behalf:
        appeal = _citizen_case(request, appeal_id, payload.secret)
    item = services.do_request_review(
        appeal, actor, reason=payload.reason, secret=payload.secret, request=request
    )
    return 201, _review_out(item)


@router.post(
    "/{appeal_id}/review/answer",
    auth=token_or_session,
    url_name="appeal_review_answer",
    response={200: ReviewOut, **_ERRORS},
    summary="复查（复核）答复 / a leader of the reviewing unit answers",
)
def answer_review(
    request: HttpRequest, payload: ReviewAnswerIn, appeal_id: int = ID
) -> dict[str, Any]:
    appeal = Appeal.objects.select_related(*_RELATED).filter(pk=appeal_id).first()
    if appeal is None:
        raise NotFound(_("找不到该诉求。"))
    pending = reviews.open_review(appeal)
    readable = Appeal.objects.visible_to(request.user).filter(pk=appeal.pk).exists() or (
        pending is not None and has_role(request.user, Role.LEADER, unit=pending.unit)
    )
    if not readable:
        raise NotFound(_("找不到该诉求。"))
    item = services.do_answer_review(
        appeal, request.user, outcome=payload.outcome, text=payload.text, request=request
    )
    return _review_out(item)
