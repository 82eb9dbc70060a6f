"""The audit trail over JSON, for auditors and their tools: list entries, verify the chain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field, model_validator

from accounts.api_auth import token_or_session
from audit.models import AuditEntry
from audit.queries import MAX_PAGE_SIZE, PAGE_SIZE, TrailFilter, keyset_page
from audit.verify import verify_chain
from minsheng.api import ErrorOut
from org.roles import Role, require_role

router = Router(tags=["audit"], auth=token_or_session)


class EntryFilter(Schema):
    actor: str = Field("", max_length=150, description="操作人（记录时的名称）包含")
    action: str = Field("", max_length=80, description="动作前缀，如 appeal 或 appeal.dispatch")
    object_type: str = Field("", max_length=100, description="对象类型，如 appeals.appeal")
    object_id: str = Field("", max_length=64)
    since: dt.date | None = Field(None, description="起始日期（含）")
    until: dt.date | None = Field(None, description="截止日期（含）")
    text: str = Field("", max_length=200, description="原因包含")
    before: int | None = Field(None, ge=1, description="只取序号小于此值的记录（向更早翻页）")
    after: int | None = Field(None, ge=0, description="只取序号大于此值的记录（向更新翻页）")
    limit: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)

    @model_validator(mode="after")
    def dates_in_order(self) -> EntryFilter:
        if self.since and self.until and self.since > self.until:
            raise ValueError("until must not be earlier than since")
        if self.before is not None and self.after is not None:
            raise ValueError("give before or after, not both")
        return self


class EntryOut(Schema):
    seq: int
    created_at: dt.datetime
    actor_id: int | None
    actor_label: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    before: Any = None
    after: Any = None
    reason: str
    ip: str | None
    request_id: str
    prev_hash: str
    hash: str


class EntryPage(Schema):
    items: list[EntryOut]
    older: int | None = Field(description="下一页（更早）传 before=此值")
    newer: int | None = Field(description="上一页（更新）传 after=此值")


class ProblemOut(Schema):
    kind: str
    seq: int
    entry_id: int | None
    message: str


class VerifyOut(Schema):
    ok: bool
    count: int
    head_seq: int
    head_hash: str
    summary: str
    problem: ProblemOut | None


@router.get(
    "/entries",
    response={200: EntryPage, 401: ErrorOut, 403: ErrorOut},
    summary="审计记录 / audit trail entries (newest first, keyset pages)",
)
def entries(request: HttpRequest, filters: Query[EntryFilter]) -> dict[str, Any]:
    require_role(request, Role.AUDITOR, Role.ADMIN)
    qs = TrailFilter.from_data(filters.dict()).apply(AuditEntry.objects.all())
    page = keyset_page(qs, before=filters.before, after=filters.after, size=filters.limit)
    return {"items": page.entries, "older": page.older, "newer": page.newer}


@router.get(
    "/verify",
    response={200: VerifyOut, 401: ErrorOut, 403: ErrorOut},
    summary="校验哈希链 / verify the hash chain",
)
def verify(request: HttpRequest, anchor: str | None = None) -> dict[str, Any]:
    require_role(request, Role.AUDITOR, Role.ADMIN)
    result = verify_chain(anchor=anchor)
    problem = result.problem
    return {
        "ok": result.ok,
        "count": result.count,
        "head_seq": result.head_seq,
        "head_hash": result.head_hash,
        "summary": result.summary(),
        "problem": None
        if problem is None
        else {
            "kind": problem.kind,
            "seq": problem.seq,
            "entry_id": problem.entry_id,
            "message": problem.message,
        },
    }
