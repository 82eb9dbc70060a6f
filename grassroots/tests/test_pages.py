"""The pages: a cadre logs a visit and raises an appeal; outside the grid is a 403 with a message;
coverage and unvisited lists; the case editor and the public library; training and certificates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from appeals.models import Appeal, Channel
from grassroots import cases, training
from grassroots.models import Course, HoursRequirement, Household, Session, TypicalCase, Visit

pytestmark = pytest.mark.django_db
WB = "/workbench/grassroots"


def test_a_cadre_logs_a_visit_and_raises_an_appeal_from_the_pages(
    cadre: Any, households: list[Household], client_for: Any
) -> None:
    client = client_for(cadre)
    form = client.get(f"{WB}/visits/new/")
    assert households[0].address in form.content.decode()
    response = client.post(
        f"{WB}/visits/new/",
        {
            "household": households[0].pk,
            "visited_on": timezone.localdate().isoformat(),
            "met": "李秀英本人",
            "found": "楼道灯坏了两周，老人晚上下楼不便",
            "needs": "尽快修灯",
        },
    )
    visit = Visit.objects.get()
    assert response.status_code == 302 and response["Location"] == f"{WB}/visits/{visit.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "138****8001" in page and "13800138001" not in page
    raised = client.post(f"{WB}/visits/{visit.pk}/appeal/", {"text": "楼道灯坏了两周"})
    assert raised.status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.channel == Channel.VISIT
    assert appeal.code in client.get(raised["Location"]).content.decode()
    again = client.post(f"{WB}/visits/{visit.pk}/appeal/", {"text": "再来一次"})
    assert again.status_code == 409 and Appeal.objects.count() == 1


def test_a_visit_outside_the_cadres_grid_answers_403_with_a_message(
    cadre: Any, stranger_household: Household, client_for: Any
) -> None:
    response = client_for(cadre).post(
        f"{WB}/visits/new/",
        {
            "household": stranger_household.pk,
            "visited_on": timezone.localdate().isoformat(),
            "met": "户主",
            "found": "无",
        },
    )
    assert response.status_code == 403
    assert "不在您负责的网格内" in response.content.decode()
    assert not Visit.objects.exists()


def test_a_leader_sees_coverage_and_the_unvisited_households(
    cadre: Any, leader: Any, households: list[Household], client_for: Any
) -> None:
    from grassroots import services

    services.log_visit(cadre, households[0], met="本人", found="一切正常")
    client = client_for(leader)
    index = client.get(f"{WB}/?days=30").content.decode()
    assert "东华社区第一网格" in index and "33%" in index
    listing = client.get(f"{WB}/unvisited/?days=30").content.decode()
    assert households[1].address in listing and households[0].address not in listing
    assert "13800138002" not in listing


def test_an_editor_drafts_and_publishes_a_case_that_the_public_can_find(
    organiser: Any, closed_appeal: Appeal, client_for: Any, client: Any
) -> None:
    editor = client_for(organiser)
    assert closed_appeal.code in editor.get(f"{WB}/cases/").content.decode()
    drafted = editor.post(f"{WB}/cases/from/{closed_appeal.pk}/")
    assert drafted.status_code == 302
    refused = editor.post(drafted["Location"].rstrip("/") + "/publish/")
    assert refused.status_code == 422 and "经验启示" in refused.content.decode()
    case = TypicalCase.objects.get(appeal=closed_appeal)
    cases.edit(
        organiser,
        case,
        title="菜市场门口占道经营的疏导",
        problem=case.problem,
        handling=case.handling,
        lesson="疏堵结合，设置限时疏导点。",
    )
    published = editor.post(f"{WB}/cases/{case.pk}/publish/")
    assert published.status_code == 302
    found = client.get("/grassroots/cases/?q=疏导点").content.decode()
    assert "菜市场门口占道经营的疏导" in found
    detail = client.get(f"/grassroots/cases/{case.pk}/").content.decode()
    assert "13900139000" not in detail and "张三" not in detail


def test_a_draft_case_is_not_public(organiser: Any, closed_appeal: Appeal, client: Any) -> None:
    case = cases.draft_from(organiser, closed_appeal)
    assert client.get(f"/grassroots/cases/{case.pk}/").status_code == 404


def test_training_hours_reminders_and_a_verifiable_certificate(
    cadre: Any, organiser: Any, client_for: Any, client: Any
) -> None:
    training.set_requirement(organiser, "cadre", Decimal("4"))
    course = Course.objects.create(title="群众工作方法", pass_score=60)
    session = Session.objects.create(
        course=course, title="第一讲", starts_at=timezone.now(), hours=Decimal("3")
    )
    assert client_for(cadre).post(f"{WB}/training/courses/{course.pk}/enroll/").status_code == 302
    assert [r.user for r in training.behind()] == [cadre]
    training.record_attendance(organiser, session, cadre)
    enrollment = training.record_score(organiser, course.enrollments.get(), 85)
    assert enrollment.certificate_code
    record = training.record_of(cadre)
    assert (record.earned, record.shortfall) == (Decimal("3"), Decimal("1"))
    assert training.send_reminders() == 1
    page = client.get(f"/grassroots/certificates/{enrollment.certificate_code}/").content.decode()
    assert "群众工作方法" in page and "吴网格" in page
    assert HoursRequirement.objects.get(role="cadre").hours == Decimal("4")


def test_revealing_a_households_phone_is_logged_and_refused_to_a_cadre(
    cadre: Any, auditor: Any, admin: Any, households: list[Household], client_for: Any
) -> None:
    from audit.models import AccessLogEntry

    url = f"{WB}/households/{households[0].pk}/reveal/"
    refused = client_for(cadre).post(url)
    assert refused.status_code == 403 and "无权" in refused.content.decode()
    shown = client_for(admin).post(url)
    assert shown.status_code == 200 and "13800138001" in shown.content.decode()
    assert AccessLogEntry.objects.filter(object_id=str(households[0].pk)).count() == 1


def test_a_trainer_opens_a_course_adds_a_session_and_records_attendance_and_a_score(
    organiser: Any, cadre: Any, client_for: Any
) -> None:
    trainer = client_for(organiser)
    made = trainer.post(
        f"{WB}/training/courses/", {"title": "群众工作方法", "kind": "in_term", "pass_score": 60}
    )
    assert made.status_code == 302
    course = Course.objects.get()
    added = trainer.post(
        f"{WB}/training/courses/{course.pk}/",
        {"title": "第一讲", "starts_at": "2026-03-01T09:00", "hours": "2.5", "place": "党校"},
    )
    assert added.status_code == 302
    session = course.sessions.get()
    training.enroll(cadre, course)
    assert (
        trainer.post(f"{WB}/training/sessions/{session.pk}/attend/{cadre.pk}/").status_code == 302
    )
    enrollment = course.enrollments.get()
    assert (
        trainer.post(f"{WB}/training/enrollments/{enrollment.pk}/score/", {"score": 90}).status_code
        == 302
    )
    enrollment.refresh_from_db()
    assert enrollment.exam_score == 90 and enrollment.certificate_code
    page = trainer.get(f"{WB}/training/courses/{course.pk}/").content.decode()
    assert "已出勤" in page and enrollment.certificate_code in page
    bad = trainer.post(f"{WB}/training/courses/{course.pk}/", {"title": "x", "hours": "0"})
    assert bad.status_code == 422


def test_a_leader_assigns_a_plan_that_lets_the_cadre_visit_another_grid(
    leader: Any, cadre: Any, stranger_household: Household, client_for: Any
) -> None:
    today = timezone.localdate().isoformat()
    response = client_for(leader).post(
        f"{WB}/plans/",
        {
            "grid": stranger_household.grid_id,
            "cadre": cadre.pk,
            "starts_on": today,
            "ends_on": today,
        },
    )
    assert response.status_code == 302
    from grassroots import services

    assert services.log_visit(cadre, stranger_household, met="孙美兰", found="独居").pk
    backwards = client_for(leader).post(
        f"{WB}/plans/",
        {
            "grid": stranger_household.grid_id,
            "cadre": cadre.pk,
            "starts_on": today,
            "ends_on": "2020-01-01",
        },
    )
    assert backwards.status_code == 422 and "结束日期不能早于开始日期" in backwards.content.decode()
