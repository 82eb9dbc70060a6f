"""System endpoints: health and version, for monitors and integrators."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

import minsheng
from minsheng.health import http_status, run_checks

router = Router(tags=["system"])


class CheckOut(Schema):
    ok: bool
    detail: str
    ms: float


class HealthOut(Schema):
    status: Literal["ok", "degraded", "fail"]
    degraded: list[str] = Field(default_factory=list, description="依赖降级（如 cache）")
    checks: dict[str, CheckOut]


class VersionOut(Schema):
    name: str
    version: str
    api: str


@router.get("/health", response={200: HealthOut, 503: HealthOut}, auth=None)
def health(request: HttpRequest) -> Status:
    result = run_checks()
    return Status(http_status(result), result)


@router.get("/version", response=VersionOut, auth=None)
def version(request: HttpRequest) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        number = dist_version("minsheng")
    except PackageNotFoundError:  # running from a source tree without an install
        number = "0+source"
    return {"name": str(minsheng.__name__), "version": number, "api": "1"}
