"""Drafts, hearings, maps and decisions through the API and services, bad input included."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from consult import decisions, drafts, hearings, maps
from consult import draw as lottery
from consult.models import (
    Adoption,
    Comment,
    Draft,
    Hearing,
    MapStatement,
    MapVote,
    Notice,
    OpinionMap,
    Registration,
)
from minsheng.errors import Conflict, ServiceError
from tests.personas import make_user

pytestmark = pytest.mark.django_db


def _json(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, content_type="application/json")


# --- drafts ---------------------------------------------------------------------------------------
def test_a_major_decision_draft_with_a_20_day_window_is_refused_with_422(
    client_for: Any, organiser: Any, org_tree: Any
) -> None:
    now = timezone.now()
    response = _json(
        client_for(organiser),
        "/api/consult/drafts",
        {
            "unit": org_tree.city.code,
            "title": "城市总体规划",
            "body": "第一条 目的。",
            "major": True,
            "opens_at": now.isoformat(),
            "closes_at": (now + dt.timedelta(days=20)).isoformat(),
        },
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "window_too_short"
    assert "30日" in body["message"]
    assert not Draft.objects.exists()


def test_a_major_decision_draft_with_30_days_is_created_and_split(
    client_for: Any, organiser: Any, org_tree: Any
) -> None:
    now = timezone.now()
    response = _json(
        client_for(organiser),
        "/api/consult/drafts",
        {
            "unit": org_tree.city.code,
            "title": "城市总体规划",
            "body": "第一条 目的。\n第二条 范围。",
            "major": True,
            "opens_at": now.isoformat(),
            "closes_at": (now + dt.timedelta(days=30)).isoformat(),
        },
    )
    assert response.status_code == 201
    assert [a["heading"] for a in response.json()["articles"]] == ["第一条", "第二条"]


def test_a_handler_may_not_create_a_draft(client_for: Any, handler: Any, org_tree: Any) -> None:
    now = timezone.now()
    response = _json(
        client_for(handler),
        "/api/consult/drafts",
        {
            "unit": org_tree.city.code,
            "title": "x",
            "body": "第一条 x",
            "opens_at": now.isoformat(),
            "closes_at": (now + dt.timedelta(days=3)).isoformat(),
        },
    )
    assert response.status_code == 403


def test_a_citizen_comments_on_an_article(client_for: Any, citizen: Any, open_draft: Draft) -> None:
    article = open_draft.articles.get(heading="第三条")
    url = f"/api/consult/drafts/{open_draft.pk}/articles/{article.pk}/comments"
    response = _json(client_for(citizen), url, {"text": "首小时5元太贵，建议3元"})
    assert response.status_code == 201
    assert Comment.objects.get().author == citizen


def test_a_comment_outside_the_window_is_refused_with_409(
    client_for: Any, citizen: Any, open_draft: Draft
) -> None:
    Draft.objects.filter(pk=open_draft.pk).update(closes_at=timezone.now() - dt.timedelta(hours=1))
    article = open_draft.articles.first()
    assert article is not None
    url = f"/api/consult/drafts/{open_draft.pk}/articles/{article.pk}/comments"
    response = _json(client_for(citizen), url, {"text": "晚到的意见"})
    assert response.status_code == 409
    assert response.json()["code"] == "window_closed"
    assert not Comment.objects.exists()


def test_anonymous_comments_are_limited_per_device(open_draft: Draft) -> None:
    article = open_draft.articles.first()
    assert article is not None
    client = Client()
    client.get(f"/consult/drafts/{open_draft.pk}/")  # sets the device cookie
    url = f"/api/consult/drafts/{open_draft.pk}/articles/{article.pk}/comments"
    codes = [_json(client, url, {"text": f"意见{i}"}).status_code for i in range(6)]
    assert codes == [201] * 5 + [429]


def test_anonymous_comments_need_the_draft_to_allow_them(open_draft: Draft) -> None:
    Draft.objects.filter(pk=open_draft.pk).update(anonymous_allowed=False)
    article = open_draft.articles.first()
    assert article is not None
    url = f"/api/consult/drafts/{open_draft.pk}/articles/{article.pk}/comments"
    assert _json(Client(), url, {"text": "匿名"}).status_code == 401


def test_comments_group_into_themes_that_the_unit_answers(
    organiser: Any, citizens: list[Any], open_draft: Draft
) -> None:
    article = open_draft.articles.get(heading="第三条")
    texts = [
        "停车收费标准太高了，应该降低收费",
        "收费太高，建议降低停车收费",
        "停车收费太高，建议降低标准",
        "应该增加充电桩",
    ]
    for user, text in zip(citizens, texts, strict=False):
        drafts.comment(user, article, text)
    made = drafts.group_comments(organiser, open_draft)
    themes = list(open_draft.themes.all())
    assert made == len(themes) == 2
    assert themes[0].count == 3 and themes[0].article == article
    drafts.answer_theme(organiser, themes[0], "拟将首小时收费调整为4元。")
    with pytest.raises(Conflict):
        drafts.group_comments(organiser, open_draft)


def test_articles_can_be_corrected_and_merged(organiser: Any, open_draft: Draft) -> None:
    first, second = list(open_draft.articles.exclude(heading=""))[:2]
    drafts.update_article(organiser, first, heading="第一条", text="新的条文。")
    drafts.merge_into_previous(organiser, second)
    first.refresh_from_db()
    assert first.text.startswith("新的条文。") and "第二条" in first.text


# --- hearings -------------------------------------------------------------------------------------
def _apply(hearing: Hearing, users: list[Any], category: str = "resident") -> list[Registration]:
    return [
        hearings.register(u, hearing, category=category, name=u.display_name, reason="关心水价")
        for u in users
    ]


def test_registration_after_the_window_is_refused_with_409(
    client_for: Any, citizen: Any, open_hearing: Hearing
) -> None:
    Hearing.objects.filter(pk=open_hearing.pk).update(
        registration_closes=timezone.now() - dt.timedelta(minutes=1)
    )
    response = _json(
        client_for(citizen),
        f"/api/consult/hearings/{open_hearing.pk}/registrations",
        {"category": "resident", "name": "张群众", "reason": "关心水价"},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "registration_closed"


def test_a_citizen_registers_once(client_for: Any, citizen: Any, open_hearing: Hearing) -> None:
    client = client_for(citizen)
    url = f"/api/consult/hearings/{open_hearing.pk}/registrations"
    body = {"category": "resident", "name": "张群众", "reason": "关心水价"}
    assert _json(client, url, body).status_code == 201
    second = _json(client, url, body)
    assert second.status_code == 409 and second.json()["code"] == "duplicate"
    bad = _json(client, url, {**body, "category": "expert"})  # no expert seats at this hearing
    assert bad.status_code in {409, 422}


def _close(hearing: Hearing) -> None:
    Hearing.objects.filter(pk=hearing.pk).update(
        registration_closes=timezone.now() - dt.timedelta(minutes=1)
    )
    hearing.refresh_from_db()


def test_the_draw_runs_once_and_a_second_run_is_409(
    client_for: Any, organiser: Any, citizens: list[Any], open_hearing: Hearing
) -> None:
    _apply(open_hearing, citizens[:6])
    _apply(open_hearing, citizens[6:8], "business")
    client = client_for(organiser)
    url = f"/api/consult/hearings/{open_hearing.pk}/draw"
    early = _json(client, url, {"seed": "123"})
    assert early.status_code == 409 and early.json()["code"] == "registration_open"
    _close(open_hearing)
    first = _json(client, url, {"seed": "3-8-1"})
    assert first.status_code == 200
    body = first.json()
    assert body["verified"] is True
    picked = [a for a in body["applicants"] if a["status"] == "selected"]
    assert len(picked) == 3  # 2 residents + 1 business
    second = _json(client, url, {"seed": "9-9-9"})
    assert second.status_code == 409
    assert second.json()["code"] == "already_drawn"
    assert "3-8-1" in second.json()["message"]
    open_hearing.refresh_from_db()
    assert open_hearing.seed == "3-8-1"


def test_the_published_draw_matches_an_independent_rerun(
    organiser: Any,
    citizens: list[Any],
    open_hearing: Hearing,
    django_capture_on_commit_callbacks: Any,
) -> None:
    rows = _apply(open_hearing, citizens[:7])
    _close(open_hearing)
    with django_capture_on_commit_callbacks(execute=True):
        hearings.run_draw(organiser, open_hearing, "2026-123期 5 2 7")
    independent = lottery.draw(
        "2026-123期 5 2 7",
        open_hearing.pk,
        [(r.pk, "resident") for r in rows],
        {"resident": 2, "business": 1},
    )
    chosen = {t.registration_id for t in independent if t.selected}
    stored = set(open_hearing.registrations.filter(status="selected").values_list("pk", flat=True))
    assert chosen == stored and len(stored) == 2
    data = Client().get(f"/consult/hearings/{open_hearing.pk}/draw.json").json()
    assert data["seed"] == "2026-123期 5 2 7"
    assert Notice.objects.filter(key=f"hearing:{open_hearing.pk}:draw").count() == 7


def test_a_committed_seed_must_match_its_commitment(
    organiser: Any, citizens: list[Any], org_tree: Any
) -> None:
    now = timezone.now()
    hearing = hearings.create_hearing(
        organiser,
        unit=org_tree.city,
        title="公交票价听证",
        matter="票价",
        place="会议室",
        starts_at=now + dt.timedelta(days=20),
        registration_opens=now - dt.timedelta(days=1),
        registration_closes=now + dt.timedelta(days=1),
        seats={"resident": 1},
        seed_commitment=lottery.commitment("secret-seed-7"),
    )
    hearings.publish_hearing(organiser, hearing)
    _apply(hearing, citizens[:3])
    _close(hearing)
    with pytest.raises(ServiceError) as wrong:
        hearings.run_draw(organiser, hearing, "another")
    assert wrong.value.code == "seed_mismatch"
    hearings.run_draw(organiser, hearing, "secret-seed-7")
    assert hearing.registrations.filter(status="selected").count() == 1


def test_draw_verify_command_shows_the_same_names(
    organiser: Any, citizens: list[Any], open_hearing: Hearing, capsys: Any
) -> None:
    from consult.views import mask_name

    _apply(open_hearing, citizens[:5])
    _close(open_hearing)
    hearings.run_draw(organiser, open_hearing, "77")
    call_command("consult", "draw-verify", str(open_hearing.pk))
    out = capsys.readouterr().out
    assert "re-run matches the published list" in out
    for r in open_hearing.registrations.filter(status="selected"):
        assert f"#{r.pk} {mask_name(r.name)}" in out


def test_materials_later_than_7_days_before_are_refused_until_the_hearing_moves(
    organiser: Any, open_hearing: Hearing
) -> None:
    hearings.add_material(organiser, open_hearing, "方案说明", "调整方案全文")
    Hearing.objects.filter(pk=open_hearing.pk).update(
        starts_at=timezone.now() + dt.timedelta(days=6)
    )
    open_hearing.refresh_from_db()
    with pytest.raises(Conflict) as late:
        hearings.add_material(organiser, open_hearing, "补充材料", "成本监审报告")
    assert late.value.code == "materials_late"
    hearings.move_hearing(
        organiser, open_hearing, timezone.now() + dt.timedelta(days=15), "补充材料"
    )
    hearings.add_material(organiser, open_hearing, "补充材料", "成本监审报告")
    assert open_hearing.materials.count() == 2


# --- opinion maps ---------------------------------------------------------------------------------
def test_a_second_vote_changes_the_first(
    client_for: Any, citizen: Any, open_map: OpinionMap
) -> None:
    statement = open_map.statements.first()
    assert statement is not None
    url = f"/api/consult/maps/{open_map.pk}/statements/{statement.pk}/votes"
    client = client_for(citizen)
    assert _json(client, url, {"value": "agree"}).json()["value"] == 1
    assert _json(client, url, {"value": "disagree"}).json()["value"] == -1
    assert MapVote.objects.get().value == -1
    assert _json(client, url, {"value": "maybe"}).status_code == 422


def test_a_first_vote_that_loses_the_insert_race_updates_the_winner(
    citizen: Any, open_map: OpinionMap, monkeypatch: Any
) -> None:
    """The other request inserted between our look-up and our insert: the unique constraint
    refuses ours, and the retry updates the row instead of counting twice."""
    statement = open_map.statements.first()
    assert statement is not None
    MapVote.objects.create(
        map=open_map, statement=statement, participant=f"u{citizen.pk}", user=citizen, value=1
    )
    real = MapVote.objects.select_for_update
    calls = {"n": 0}

    def stale_first_look() -> Any:
        calls["n"] += 1
        return real().none() if calls["n"] == 1 else real()

    monkeypatch.setattr(MapVote.objects, "select_for_update", stale_first_look)
    maps.vote(citizen, statement, -1)
    assert calls["n"] == 2
    assert list(MapVote.objects.values_list("value", flat=True)) == [-1]


@pytest.mark.django_db(transaction=True)
def test_two_first_votes_racing_count_once(citizen: Any, open_map: OpinionMap) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row-level concurrency needs PostgreSQL (SQLite serialises every writer)")
    statement = MapStatement.objects.filter(map=open_map).first()
    assert statement is not None
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def cast(value: int) -> None:
        try:
            barrier.wait()
            maps.vote(
                citizen, MapStatement.objects.select_related("map").get(pk=statement.pk), value
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=cast, args=(v,)) for v in (1, -1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [e for e in errors if not isinstance(e, Conflict)] == []
    assert MapVote.objects.filter(statement=statement).count() == 1


def test_proposed_statements_wait_for_moderation(
    organiser: Any, citizen: Any, open_map: OpinionMap
) -> None:
    row = maps.propose(citizen, open_map, "加装电梯后应由物业统一维护")
    assert row.state == MapStatement.State.PENDING
    with pytest.raises(Conflict):
        maps.vote(citizen, row, 1)
    maps.moderate(organiser, row, True)
    row.refresh_from_db()
    maps.vote(citizen, row, 1)
    with pytest.raises(Conflict):
        maps.moderate(organiser, row, False)


def test_the_map_groups_voters_and_finds_consensus_in_chinese(
    settings: Any, organiser: Any, open_map: OpinionMap
) -> None:
    settings.CONSULT_MAP_THROTTLE_SECONDS = 0
    more = ["低楼层住户可以少出钱", "应由全体业主投票决定", "加装电梯会影响采光"]
    for text in more:
        maps.seed_statement(organiser, open_map, text)
    statements = list(open_map.statements.order_by("pk"))
    voters = [make_user(f"v{i}", f"投票人{i}", kind="citizen") for i in range(24)]
    for i, user in enumerate(voters):
        camp = i % 2
        for j, s in enumerate(statements):
            # 政府应给予补贴 (j == 2): everyone agrees; the rest split the two camps.
            value = 1 if j == 2 or j % 2 == camp else -1
            maps.vote(user, s, value)
    data = maps.result(open_map)
    assert len(data["groups"]) == 2
    assert sorted(g["size"] for g in data["groups"]) == [12, 12]
    assert [c["text"] for c in data["consensus"]] == ["政府应给予补贴"]
    api = Client().get(f"/api/consult/maps/{open_map.pk}/groups").json()
    assert "assignment" not in api and api["consensus"][0]["text"] == "政府应给予补贴"
    page = Client().get(f"/consult/maps/{open_map.pk}/")
    assert "政府应给予补贴" in page.content.decode()


def test_the_grouping_is_cached_until_votes_change_and_the_throttle_allows(
    settings: Any, citizen: Any, open_map: OpinionMap
) -> None:
    settings.CONSULT_MAP_THROTTLE_SECONDS = 3600
    first = maps.result(open_map)
    statement = open_map.statements.first()
    assert statement is not None
    maps.vote(citizen, statement, 1)
    assert maps.result(open_map) == first  # throttled: served from the cache
    settings.CONSULT_MAP_THROTTLE_SECONDS = 0
    assert maps.result(open_map)["votes"] == 1


# --- decisions ------------------------------------------------------------------------------------
def test_a_decision_reports_adoption_and_notifies_participants(
    organiser: Any, citizens: list[Any], open_draft: Draft, client_for: Any, settings: Any
) -> None:
    from minsheng.celery import app

    app.conf.task_always_eager = True
    article = open_draft.articles.get(heading="第三条")
    drafts.comment(citizens[0], article, "收费太高，建议降低停车收费")
    drafts.comment(citizens[1], article, "停车收费标准太高了，应该降低收费")
    drafts.comment(citizens[3], article, "停车收费太高，建议降低标准")
    drafts.comment(citizens[2], article, "应该增加充电桩")
    drafts.group_comments(organiser, open_draft)
    decision = decisions.create_decision(
        organiser,
        unit=open_draft.unit,
        title="停车收费调整决定",
        text="首小时4元。",
        decided_on=dt.date(2026, 11, 1),
    )
    decisions.link(organiser, decision, "draft", open_draft.pk)
    items = list(decision.items.all())
    assert len(items) == 2
    with pytest.raises(ServiceError):
        decisions.publish(organiser, decision)  # items still pending
    with pytest.raises(ServiceError):
        decisions.mark(organiser, items[1], Adoption.NOT_ADOPTED)  # a reason is required
    decisions.mark(organiser, items[0], Adoption.PARTLY, "首小时降为4元，未降到3元")
    decisions.mark(organiser, items[1], Adoption.NOT_ADOPTED, "充电桩另行规划")
    with pytest.MonkeyPatch.context() as mp:
        sent: list[tuple[str, str]] = []
        mp.setattr("accounts.sms.send", lambda phone, text: sent.append((phone, text)))
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection):
            decisions.publish(organiser, decision)
            # on_commit runs at the end of the test transaction; run the task directly instead.
            from consult.tasks import notify_decision

            result = notify_decision(decision.pk)
    assert result["notices"] == 4 and result["texts"] == 4
    assert notify_decision(decision.pk) == {"notices": 0, "texts": 0}  # idempotent
    rates = decisions.adoption_rates()
    assert rates[0].items == 2 and rates[0].rate == 0.5 and rates[0].full_rate == 0.0
    page = client_for(citizens[0]).get(f"/consult/decisions/{decision.pk}/").content.decode()
    assert "部分采纳" in page and "充电桩另行规划" in page
    api = Client().get("/api/consult/adoption-rates").json()
    assert api[0]["rate"] == 0.5


def test_a_decision_links_a_questionnaires_themes(organiser: Any, org_tree: Any) -> None:
    from surveys.models import Kind, Question, Questionnaire, Section, Theme

    q = Questionnaire.objects.create(title="社区养老服务需求调查", unit=org_tree.city)
    section = Section.objects.create(questionnaire=q, title="一")
    question = Question.objects.create(
        questionnaire=q, section=section, kind=Kind.TEXT, text="您对社区养老还有什么建议？"
    )
    Theme.objects.create(questionnaire=q, question=question, label="增加助餐点", count=12)
    decision = decisions.create_decision(
        organiser,
        unit=org_tree.city,
        title="养老服务提升",
        text="新增助餐点",
        decided_on=dt.date(2026, 11, 2),
    )
    decisions.link(organiser, decision, "questionnaire", q.pk)
    item = decision.items.get()
    assert item.text == "增加助餐点" and item.count == 12 and "养老" in item.context
