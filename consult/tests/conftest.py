"""Consultation fixtures: an open draft, a published hearing, an open opinion map."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from consult import drafts, hearings, maps
from consult.models import Draft, Hearing, OpinionMap
from tests.personas import make_user

BODY = """关于调整中心城区停车收费标准的实施方案（征求意见稿）
第一章 总则
第一条 为规范停车秩序，缓解停车难，制定本方案。
第二条 本方案适用于中心城区道路停车泊位。
第二章 收费标准
第三条 白天首小时收费5元，之后每小时3元。
第四条 夜间（20:00至次日8:00）停车免费。
"""


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def now() -> dt.datetime:
    return timezone.now()


@pytest.fixture
def open_draft(organiser: Any, org_tree: Any, now: dt.datetime) -> Draft:
    draft = drafts.create_draft(
        organiser,
        unit=org_tree.city,
        title="停车收费调整方案",
        body=BODY,
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=29),
        anonymous_allowed=True,
    )
    return drafts.publish_draft(organiser, draft)


@pytest.fixture
def citizens(db: Any) -> list[Any]:
    return [
        make_user(f"resident{i}", f"居民{i}号", kind="citizen", phone=f"1390000{i:04d}")
        for i in range(12)
    ]


@pytest.fixture
def open_hearing(organiser: Any, org_tree: Any, now: dt.datetime) -> Hearing:
    hearing = hearings.create_hearing(
        organiser,
        unit=org_tree.city,
        title="自来水价格调整听证会",
        matter="居民阶梯水价调整方案",
        place="市政府第一会议室",
        starts_at=now + dt.timedelta(days=20),
        registration_opens=now - dt.timedelta(days=1),
        registration_closes=now + dt.timedelta(days=5),
        seats={"resident": 2, "business": 1},
        seed_source="报名截止后下一期福彩3D开奖号码",
    )
    return hearings.publish_hearing(organiser, hearing)


@pytest.fixture
def open_map(organiser: Any, org_tree: Any, now: dt.datetime) -> OpinionMap:
    m = maps.create_map(
        organiser,
        unit=org_tree.city,
        title="老旧小区加装电梯",
        description="",
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=10),
        statements=["一楼住户应当得到补偿", "费用按楼层分摊", "政府应给予补贴"],
    )
    return maps.publish_map(organiser, m)
