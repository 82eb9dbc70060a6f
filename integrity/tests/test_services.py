"""Misconduct reports at the service level: intake, visibility, handling, tracking, unsealing."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEntry
from integrity import services
from integrity.models import Event, Kind, Report, State
from minsheng.errors import Conflict, NotFound, ServiceError
from tests.personas import OrgTree

from .conftest import CONTENT

pytestmark = pytest.mark.django_db


def test_a_report_without_content_is_refused_with_422(org_tree: OrgTree) -> None:
    sub = services.Submission(kind=Kind.ABUSE, target_unit_id=org_tree.chengguan.pk, content="  ")
    with pytest.raises(ServiceError) as caught:
        services.submit(None, sub)
    assert caught.value.status == 422
    assert Report.objects.count() == 0


def test_a_named_report_without_a_phone_is_refused(org_tree: OrgTree) -> None:
    sub = services.Submission(
        kind=Kind.ABUSE, target_unit_id=org_tree.chengguan.pk, content="x", named=True, name="甲"
    )
    with pytest.raises(ServiceError) as caught:
        services.submit(None, sub)
    assert caught.value.status == 422


def test_only_an_inspector_above_the_reported_unit_sees_the_report(
    report: tuple[Report, str],
    auditor: Any,
    colleague: Any,
    unit_inspector: Any,
    reported: Any,
    admin: Any,
) -> None:
    r, _secret = report
    assert list(services.visible_to(auditor)) == [r]
    for other in (colleague, unit_inspector, reported, admin):
        assert not services.visible_to(other).exists()


def test_the_reported_persons_attempt_is_refused_and_logged_for_inspectors(
    report: tuple[Report, str], reported: Any
) -> None:
    r, _secret = report
    with pytest.raises(NotFound):
        services.get_visible(reported, r.pk)
    event = Event.objects.get(report=r, action="refused.reported_person")
    assert event.actor == reported


def test_the_shared_audit_trail_names_neither_reporter_nor_accused(
    report: tuple[Report, str], reported: Any
) -> None:
    r, _secret = report
    with pytest.raises(NotFound):
        services.get_visible(reported, r.pk)
    entries = AuditEntry.objects.filter(action="integrity.sealed")
    assert entries.count() == 2
    for entry in entries:
        assert entry.actor_id is None
        assert entry.object_type == "integrity.event"
        text = f"{entry.object_repr} {entry.before} {entry.after} {entry.reason}"
        assert CONTENT not in text and r.code not in text and "马被举" not in text


def test_handling_runs_register_verify_file_decide_feedback_with_deadlines(
    report: tuple[Report, str], auditor: Any
) -> None:
    r, secret = report
    r = services.take_step(auditor, r.pk, "register")
    assert r.state == State.VERIFYING
    assert (r.due_at - r.created_at).days in (29, 30)
    with pytest.raises(ServiceError):
        services.take_step(auditor, r.pk, "file", "")
    services.take_step(auditor, r.pk, "file", "线索属实，予以立案")
    with pytest.raises(Conflict):
        services.take_step(auditor, r.pk, "conclude", "了结")
    services.take_step(auditor, r.pk, "decide", "给予党内警告处分")
    r = services.take_step(auditor, r.pk, "feedback", "经查属实，已依规处理，感谢监督")
    assert r.state == State.CLOSED
    tracked = services.track(r.code, secret)
    assert tracked.feedback == "经查属实，已依规处理，感谢监督"


def test_a_forged_tracking_code_or_wrong_secret_is_refused_and_logged(
    report: tuple[Report, str],
) -> None:
    r, secret = report
    with pytest.raises(NotFound):
        services.track("JB-FORGED12", secret)
    with pytest.raises(NotFound):
        services.track(r.code, "WRONGWRONG")
    assert Event.objects.filter(action="track.refused").count() == 2
    assert services.track(r.code.lower(), secret.lower()) == r


def test_two_different_auditors_unseal_and_only_they_see_the_identity(
    named_report: tuple[Report, str], auditor: Any, auditor2: Any, org_tree: OrgTree
) -> None:
    from tests.personas import _staff

    third = _staff("auditor3", "第三纪检", "auditor", org_tree.city)
    r, _secret = named_report
    services.approve_unseal(auditor, r.pk, "需要向举报人核实细节")
    assert services.revealed_identity(auditor, r.pk) is None
    with pytest.raises(Conflict) as caught:
        services.approve_unseal(auditor, r.pk, "再批一次")
    assert caught.value.code == "same_auditor"
    assert Event.objects.filter(action="unseal.refused_same_auditor").exists()
    services.approve_unseal(auditor2, r.pk, "同意核实")
    identity = services.revealed_identity(auditor, r.pk)
    assert identity is not None and identity.name == "举报人甲"
    assert services.revealed_identity(auditor2, r.pk) is not None
    assert services.revealed_identity(third, r.pk) is None


def test_a_non_inspector_approving_an_unsealing_gets_not_found(
    named_report: tuple[Report, str], admin: Any, reported: Any
) -> None:
    r, _secret = named_report
    for who in (admin, reported):
        with pytest.raises(NotFound):
            services.approve_unseal(who, r.pk, "想看")


def test_an_anonymous_report_has_nothing_to_unseal(
    report: tuple[Report, str], auditor: Any
) -> None:
    r, _secret = report
    with pytest.raises(Conflict):
        services.approve_unseal(auditor, r.pk, "看看")


def test_a_colleagues_attempt_is_flagged_as_from_the_reported_unit(
    report: tuple[Report, str], colleague: Any, outsider: Any
) -> None:
    r, _secret = report
    for who in (colleague, outsider):
        with pytest.raises(NotFound):
            services.get_visible(who, r.pk)
    assert Event.objects.get(report=r, actor=colleague).action == "refused.reported_unit"
    assert Event.objects.get(report=r, actor=outsider).action == "refused"


def test_the_demo_loads_two_reports_once(org_tree: OrgTree) -> None:
    from integrity import demo_data

    assert demo_data.load() == 3
    assert demo_data.load() == 0
    assert services.track("JB-DEMO0002", demo_data.DEMO_SECRET).named
