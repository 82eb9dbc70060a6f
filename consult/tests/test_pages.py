"""Pages: demo data, the organiser's forms, the public pages at a glance."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from consult import demo_data
from consult.models import Draft, Hearing, OpinionMap

pytestmark = pytest.mark.django_db


def test_demo_data_loads_once() -> None:
    from org.demo import load

    load()
    assert Draft.objects.count() == 1 and Hearing.objects.count() == 1
    assert OpinionMap.objects.count() == 1
    assert Draft.objects.get().comments.count() == 4
    assert demo_data.load() == 0


def test_an_organiser_creates_a_draft_on_the_page(
    client_for: Any, organiser: Any, org_tree: Any
) -> None:
    client = client_for(organiser)
    now = timezone.localtime()
    form = {
        "unit": org_tree.city.pk,
        "title": "公园管理办法",
        "body": "第一条 目的。\n第二条 范围。",
        "major": "on",
        "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + dt.timedelta(days=20)).strftime("%Y-%m-%dT%H:%M"),
    }
    short = client.post("/workbench/consult/drafts/new/", form)
    assert short.status_code == 422
    assert "30日" in short.content.decode()
    form["closes_at"] = (now + dt.timedelta(days=31)).strftime("%Y-%m-%dT%H:%M")
    done = client.post("/workbench/consult/drafts/new/", form)
    assert done.status_code == 302
    draft = Draft.objects.get()
    assert draft.articles.count() == 2
    client.post(f"/workbench/consult/drafts/{draft.pk}/do/publish/")
    page = Client().get(f"/consult/drafts/{draft.pk}/").content.decode()
    assert "第二条" in page and "重大行政决策" in page


def test_another_units_organiser_cannot_open_the_draft(
    client_for: Any, organiser: Any, open_draft: Draft, org_tree: Any
) -> None:
    from org import services
    from org.roles import Role
    from tests.personas import make_user

    other = make_user("organiser2", "另一位组织者")
    services.grant_role(None, other, Role.ORGANISER, org_tree.zhujian)
    assert client_for(other).get(f"/workbench/consult/drafts/{open_draft.pk}/").status_code == 403
    post = client_for(other).post(f"/workbench/consult/drafts/{open_draft.pk}/do/group/")
    assert post.status_code == 403


def test_a_comment_on_the_page_outside_the_window_shows_why(
    client_for: Any, citizen: Any, open_draft: Draft
) -> None:
    Draft.objects.filter(pk=open_draft.pk).update(closes_at=timezone.now() - dt.timedelta(days=1))
    article = open_draft.articles.exclude(heading="").first()
    assert article is not None
    response = client_for(citizen).post(
        f"/consult/drafts/{open_draft.pk}/articles/{article.pk}/comment/", {"text": "晚了"}
    )
    assert response.status_code == 409
    assert "不在征求意见期内" in response.content.decode()


def test_an_unpublished_draft_is_not_public(organiser: Any, org_tree: Any) -> None:
    from consult import drafts

    now = timezone.now()
    draft = drafts.create_draft(
        organiser,
        unit=org_tree.city,
        title="内部稿",
        body="第一条 x",
        opens_at=now,
        closes_at=now + dt.timedelta(days=3),
    )
    assert Client().get(f"/consult/drafts/{draft.pk}/").status_code == 404
