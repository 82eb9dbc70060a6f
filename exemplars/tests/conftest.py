"""Fixtures for exemplar campaigns: a campaign walked to its voting phase, and voters."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from exemplars import services
from exemplars.models import Campaign, Candidate
from tests.personas import make_user

STORY = "十年如一日照顾独居老人，每天上门送饭、打扫卫生、陪老人聊天，邻里有口皆碑。"


@pytest.fixture(autouse=True)
def _fresh_rules() -> Iterator[None]:
    services.forget_rules()
    cache.clear()
    yield
    services.forget_rules()


def jpeg(width: int = 64, height: int = 48) -> SimpleUploadedFile:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="JPEG")
    return SimpleUploadedFile("photo.jpg", out.getvalue(), content_type="image/jpeg")


def new_campaign(organiser: Any, **rules: Any) -> Campaign:
    now = timezone.now()
    values: dict[str, Any] = {
        "title": "2026年度东华街道“身边好人”评选",
        "kind": "身边好人",
        "voting_opens": now - dt.timedelta(days=1),
        "voting_closes": now + dt.timedelta(days=7),
        "categories": ["助人为乐", "见义勇为"],
        **rules,
    }
    return services.create_campaign(organiser, **values)


def nominate(campaign: Campaign, who: Any, name: str, category: int = 0) -> Candidate:
    cat = list(campaign.categories.all())[category]
    return services.nominate(
        who,
        campaign,
        services.NominationIn(
            category_id=cat.pk,
            name=name,
            affiliation="东华社区居民",
            story=STORY,
            phone="13700137000",
        ),
        [],
    )


def to_voting(
    organiser: Any, campaign: Campaign, names: list[tuple[str, int]], nominator: Any
) -> list[Candidate]:
    """Walk a draft campaign through nomination, review and 公示 into voting."""
    services.advance_phase(organiser, campaign)
    campaign.refresh_from_db()
    candidates = [nominate(campaign, nominator, name, cat) for name, cat in names]
    services.advance_phase(organiser, campaign)
    for c in candidates:
        services.review(
            organiser, Candidate.objects.get(pk=c.pk), accept=True, reason="事迹属实，经社区核实"
        )
    services.advance_phase(organiser, campaign)
    services.advance_phase(organiser, campaign)
    campaign.refresh_from_db()
    return [Candidate.objects.get(pk=c.pk) for c in candidates]


@pytest.fixture
def voting(organiser: Any, citizen: Any) -> tuple[Campaign, list[Candidate]]:
    """A campaign in voting: 3 candidates in 助人为乐, 1 in 见义勇为; two picks per category."""
    campaign = new_campaign(organiser, picks_per_category=2)
    candidates = to_voting(
        organiser, campaign, [("李好人", 0), ("王热心", 0), ("赵助人", 0), ("钱勇敢", 1)], citizen
    )
    return campaign, candidates


@pytest.fixture
def make_voter(db: Any) -> Callable[..., Any]:
    counter = iter(range(1, 10_000))

    def make(**extra: Any) -> Any:
        n = next(counter)
        values = {"phone": f"1350000{n:04d}", **extra}
        name = values.pop("display_name", f"投票人{n}")
        return make_user(f"voter{n}", name, kind="citizen", **values)

    return make


def origin(
    ip: str = "203.0.113.7", device: str = "dev-1", ua: str = "Mozilla/5.0 (iPhone)"
) -> services.Origin:
    return services.Origin(ip=ip, device_id=device, user_agent=ua)
