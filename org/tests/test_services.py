from __future__ import annotations

import datetime as dt

import pytest

from audit.models import AuditEntry
from minsheng.errors import Forbidden
from org import services
from org.models import CalendarOverride, RoleAssignment, Unit
from org.roles import Role

pytestmark = pytest.mark.django_db


def _last_entry() -> AuditEntry:
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None
    return entry


def test_creating_a_unit_writes_one_audit_entry_with_its_fields(admin, org_tree):
    before = AuditEntry.objects.count()
    unit = services.create_unit(
        admin, code="new-unit", name="新单位", kind="other", parent=org_tree.city
    )
    entries = list(AuditEntry.objects.order_by("seq")[before:])
    assert [e.action for e in entries] == ["org.unit.create"]
    assert entries[0].actor_id == admin.pk
    assert entries[0].object_id == str(unit.pk)
    assert entries[0].after is not None and entries[0].after["name"] == "新单位"


def test_an_update_records_only_the_changed_fields(admin, org_tree):
    services.update_unit(admin, org_tree.street, name="东华街道办事处")
    entry = _last_entry()
    assert entry.action == "org.unit.update"
    assert entry.before == {"name": "东华街道"}
    assert entry.after == {"name": "东华街道办事处"}


def test_saving_without_a_change_writes_nothing(admin, org_tree):
    before = AuditEntry.objects.count()
    assert services.update_unit(admin, org_tree.street, name=org_tree.street.name) is False
    _, written = services.upsert_unit(None, "test-street", name="东华街道")
    assert written is False
    assert AuditEntry.objects.count() == before


def test_it_rejects_a_handler_changing_the_tree(handler, org_tree):
    with pytest.raises(Forbidden):
        services.update_unit(handler, org_tree.chengguan, name="改名")
    assert Unit.objects.get(pk=org_tree.chengguan.pk).name == "测试市城市管理综合执法局"


def test_a_district_admin_manages_its_district_but_not_the_city(org_tree):
    from tests.personas import make_user

    district_admin = make_user("district-admin", "区管理员")
    services.grant_role(None, district_admin, Role.ADMIN, org_tree.district)
    services.update_unit(district_admin, org_tree.community, name="东华新社区")
    with pytest.raises(Forbidden):
        services.update_unit(district_admin, org_tree.zhujian, name="改名")
    with pytest.raises(Forbidden):
        services.update_unit(district_admin, org_tree.street, parent=org_tree.city)
    with pytest.raises(Forbidden):
        services.set_calendar_override(district_admin, dt.date(2025, 10, 9), is_workday=False)


def test_granting_a_role_twice_keeps_one_assignment_and_one_audit_entry(admin, outsider, org_tree):
    before = AuditEntry.objects.count()
    first = services.grant_role(admin, outsider, Role.HANDLER, org_tree.zhujian)
    again = services.grant_role(admin, outsider, Role.HANDLER, org_tree.zhujian)
    assert first.pk == again.pk
    assert first.granted_by_id == admin.pk
    assert RoleAssignment.objects.filter(user=outsider).count() == 1
    assert AuditEntry.objects.count() == before + 1


def test_revoking_a_role_is_audited_and_holds_from_the_next_request(admin, handler, org_tree):
    from django.contrib.auth import get_user_model

    from org.roles import has_role

    assert has_role(handler, Role.HANDLER)
    assignment = RoleAssignment.objects.get(user=handler)
    services.revoke_role(admin, assignment, reason="调岗")
    assert not has_role(get_user_model().objects.get(pk=handler.pk), Role.HANDLER)
    entry = _last_entry()
    assert entry.action == "org.role.delete" and entry.reason == "调岗"


def test_calendar_overrides_are_audited(admin):
    services.set_calendar_override(admin, dt.date(2025, 10, 9), is_workday=False, name="地方假日")
    assert CalendarOverride.objects.get(date=dt.date(2025, 10, 9)).name == "地方假日"
    assert _last_entry().action == "org.calendar_override.create"
    assert services.remove_calendar_override(admin, dt.date(2025, 10, 9))
    assert _last_entry().action == "org.calendar_override.delete"
