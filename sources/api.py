"""The push API for partners: ``POST /api/opinion/push`` with a JSON array of posts.

A partner holds an API token (``accounts.ApiToken``) of the account named as ``partner`` on a
push source; the items land in that source (``?source=NAME`` chooses when the account feeds
several). Items are validated as a whole (a 422 names each bad field as ``3.time``), stored once
per id (a resent batch changes nothing and says how many were duplicates) and handed on to the
舆情 pipeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from pydantic import field_validator, model_validator

from accounts.api_auth import token_auth
from minsheng.errors import Conflict, Forbidden, ServiceError
from sources import services
from sources.models import Kind, Source
from sources.plugins.base import ItemDict, parse_time
from sources.plugins.imports import MAX_ID, MAX_TEXT

router = Router(tags=["opinion"])

from minsheng.api import ErrorOut  # noqa: E402  (after ``router``: minsheng.api imports us)

MAX_ITEMS = 1000


class PushItemIn(Schema):
    id: str = Field(..., min_length=1, max_length=MAX_ID, description="条目在合作方平台的编号")
    time: datetime = Field(..., description="发布时间；不带时区按北京时间")
    text: str = Field("", max_length=MAX_TEXT, description="正文；纯转发可为空，但须给 parent_id")
    title: str = Field("", max_length=300)
    url: str = Field("", max_length=1000)
    author: str = Field("", max_length=128)
    parent_id: str | None = Field(None, max_length=MAX_ID, description="被转发或回复的条目编号")
    reach: int = Field(0, ge=0, le=10**12, description="阅读、转发等传播量")

    @field_validator("id", "parent_id")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        if value is None:
            return None
        stripped = value.strip()
        if not stripped:
            raise ValueError(_("不能为空白"))
        return stripped

    @model_validator(mode="after")
    def _text_or_parent(self) -> PushItemIn:
        if not self.text.strip() and not self.parent_id:
            raise ValueError(_("正文为空时必须给出 parent_id（被转发的条目）"))
        return self


class PushOut(Schema):
    source: str
    received: int
    new: int
    duplicates: int
    ingested: int


def _partner(request: HttpRequest) -> Any:
    return getattr(request, "auth", None)


def _source_for(request: HttpRequest, name: str | None) -> Source:
    mine = Source.objects.filter(kind=Kind.PUSH, partner=_partner(request))
    if name:
        source = mine.filter(name=name).first()
        if source is None:
            raise Forbidden(
                _("此令牌不能向来源 %(name)s 推送。") % {"name": name}, code="push_not_allowed"
            )
    else:
        found = list(mine[:2])
        if not found:
            raise Forbidden(_("此令牌的账号不是任何推送来源的推送方。"), code="push_not_allowed")
        if len(found) > 1:
            raise ServiceError(
                _("此账号可向多个来源推送，请用 ?source= 指明来源。"),
                code="push_source_ambiguous",
                status=422,
            )
        source = found[0]
    if not source.enabled:
        raise Conflict(_("来源 %(name)s 已停用。") % {"name": source.name}, code="source_disabled")
    return source


@router.post(
    "/push",
    auth=[token_auth],
    url_name="opinion_push",
    response={
        200: PushOut,
        401: ErrorOut,
        403: ErrorOut,
        409: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
    },
    summary="合作方推送舆情条目 / push posts (partners)",
)
def push(
    request: HttpRequest,
    items: list[PushItemIn],
    source: str | None = Query(
        None, max_length=64, description="来源名称；账号只对应一个来源时可省略"
    ),
) -> dict[str, Any]:
    if len(items) > MAX_ITEMS:
        raise ServiceError(
            _("一次至多推送 %(n)d 条，请分批发送。") % {"n": MAX_ITEMS},
            code="push_too_many",
            status=413,
        )
    target = _source_for(request, source)
    prefix = target.name
    batch = [
        ItemDict(
            id=f"{prefix}:{item.id}",
            time=parse_time(item.time),
            text=item.text.strip(),
            title=item.title.strip(),
            source=target.name,
            url=item.url.strip(),
            author=item.author.strip(),
            parent_id=f"{prefix}:{item.parent_id}" if item.parent_id else None,
            reach=item.reach,
        )
        for item in items
    ]
    result = services.push_items(target, batch, actor=_partner(request))
    return {
        "source": target.name,
        "received": result.received,
        "new": result.new,
        "duplicates": result.duplicates,
        "ingested": result.ingested,
    }
