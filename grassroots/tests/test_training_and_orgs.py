"""Training suggestion from a cadre's own record; a grassroots organisation's page shows its work."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from appeals import services as appeals
from grassroots import services, training
from grassroots.models import Course, Household, Session
from minsheng.errors import Conflict, Forbidden, ServiceError
from org import services as org
from org.models import Unit

pytestmark = pytest.mark.django_db


def test_the_suggestion_names_the_categories_of_a_handlers_reopened_appeals(
    handler: Any, dispatcher: Any, org_tree: Any, category_tree: Any
) -> None:
    appeal, _secret = appeals.do_submit(
        None,
        appeals.Submission(text="菜市场门口占道经营", category=category_tree.street_vending),
    )
    appeals.do_register(appeal, dispatcher)
    appeals.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    appeals.do_sign(appeal, handler)
    appeals.do_handle(appeal, handler)
    appeals.do_reply(appeal, handler, text="已处理")
    appeals.do_callback(appeal, dispatcher, rating="unsatisfied", comment="摊贩第二天又来了")
    course = Course.objects.create(title="占道经营疏导实务")
    course.categories.add(category_tree.city_management)
    suggestion = training.suggestion_for(handler)
    assert suggestion.categories == [(category_tree.street_vending, 1)]
    assert suggestion.courses == [course]
    # The dispatcher registered and dispatched it but did not handle it: not their record.
    assert training.suggestion_for(dispatcher).categories == []


def test_a_cadre_with_a_clean_record_gets_no_suggestion(cadre: Any) -> None:
    assert training.suggestion_for(cadre).categories == []


def test_enrolment_is_once_attendance_needs_enrolment_and_no_certificate_without_a_pass(
    cadre: Any, organiser: Any, citizen: Any
) -> None:
    course = Course.objects.create(title="任前培训", kind=Course.Kind.PRE_TERM, pass_score=60)
    session = Session.objects.create(
        course=course, title="第一讲", starts_at=timezone.now(), hours=Decimal("2")
    )
    with pytest.raises(ServiceError):
        training.record_attendance(organiser, session, cadre)
    enrollment = training.enroll(cadre, course)
    with pytest.raises(Conflict):
        training.enroll(cadre, course)
    with pytest.raises(Forbidden):
        training.enroll(citizen, course)
    with pytest.raises(Forbidden):
        training.record_attendance(cadre, session, cadre)
    training.record_attendance(organiser, session, cadre)
    with pytest.raises(Conflict):
        training.record_attendance(organiser, session, cadre)
    assert training.record_score(organiser, enrollment, 50).certificate_code == ""
    with pytest.raises(ServiceError):
        training.record_score(organiser, enrollment, 101)
    assert training.record_score(organiser, enrollment, 75).certificate_code


def test_an_organisations_page_shows_its_visits_and_the_appeals_raised_from_them(
    cadre: Any, org_tree: Any, households: list[Household], client: Any
) -> None:
    branch = org.create_unit(
        None,
        code="test-branch",
        name="东华社区党支部",
        kind=Unit.Kind.PARTY_BRANCH,
        parent=org_tree.community,
    )
    visit = services.log_visit(
        cadre, households[0], met="本人", found="屋顶漏水", organisation=branch
    )
    appeal = services.raise_appeal(cadre, visit)
    services.log_visit(cadre, households[1], met="本人", found="一切正常", organisation=branch)
    listing = client.get("/grassroots/organisations/").content.decode()
    assert "东华社区党支部" in listing
    page = client.get(f"/grassroots/organisations/{branch.pk}/").content.decode()
    assert appeal.code in page
    assert "<strong>2</strong>" in page and "<strong>1</strong>" in page
    assert "13800138001" not in page


def test_a_government_unit_is_not_a_grassroots_organisation(
    cadre: Any, org_tree: Any, households: list[Household], client: Any
) -> None:
    with pytest.raises(ServiceError):
        services.log_visit(
            cadre, households[0], met="本人", found="x", organisation=org_tree.chengguan
        )
    assert client.get(f"/grassroots/organisations/{org_tree.chengguan.pk}/").status_code == 404
