from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from org import services
from org.models import CalendarOverride, Category, DeadlineRule, Grid, RoleAssignment, Unit
from org.roles import Role

pytestmark = pytest.mark.django_db


def _last_entry() -> AuditEntry:
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None
    return entry


MODELS = (Unit, Grid, RoleAssignment, Category, DeadlineRule, CalendarOverride)


def _changelists():
    return [reverse(f"admin:org_{m._meta.model_name}_changelist") for m in MODELS]


def test_admin_pages_load_for_the_admin(admin, client_for, category_tree):
    client = client_for(admin)
    for url in _changelists():
        assert client.get(url).status_code == 200, url
    for model in MODELS:
        assert client.get(reverse(f"admin:org_{model._meta.model_name}_add")).status_code == 200
    for obj in (category_tree.street_vending, category_tree.petition_general.deadline_rule):
        url = reverse(f"admin:org_{obj._meta.model_name}_change", args=[obj.pk])
        assert client.get(url).status_code == 200
    community = Unit.objects.get(code="test-community")
    page = client.get(reverse("admin:org_unit_change", args=[community.pk]))
    assert page.status_code == 200
    assert "东华社区第一网格" in page.content.decode()


def test_admin_pages_are_refused_to_everyone_else(client_for, handler, leader, outsider):
    outsider.is_staff = True  # even with the Django staff flag, no role means no entry
    outsider.save()
    for user in (handler, leader, outsider):
        client = client_for(user)
        for url in _changelists():
            response = client.get(url)
            assert response.status_code in (302, 403), (user, url, response.status_code)
    response = client_for(outsider).get(reverse("admin:org_unit_changelist"))
    assert response.status_code == 403


def test_an_auditor_may_look_but_not_change(auditor, client_for, org_tree):
    auditor.is_staff = True
    auditor.save()
    client = client_for(auditor)
    assert client.get(reverse("admin:org_unit_changelist")).status_code == 200
    assert client.get(reverse("admin:org_unit_add")).status_code == 403
    response = client.post(
        reverse("admin:org_unit_change", args=[org_tree.street.pk]),
        {"name": "改名", "code": "test-street", "kind": "street", "sort_order": 0},
    )
    assert response.status_code == 403
    assert Unit.objects.get(pk=org_tree.street.pk).name == "东华街道"


def _unit_form(unit: Unit, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": unit.name,
        "short_name": unit.short_name,
        "code": unit.code,
        "kind": unit.kind,
        "parent": unit.parent_id or "",
        "leader": unit.leader_id or "",
        "active": "on",
        "phone": "",
        "address": "",
        "sort_order": 0,
    }
    for prefix in ("children", "role_assignments"):
        existing = unit.children.count() if prefix == "children" else unit.role_assignments.count()
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": existing,
                f"{prefix}-INITIAL_FORMS": existing,
                f"{prefix}-MIN_NUM_FORMS": 0,
                f"{prefix}-MAX_NUM_FORMS": 1000,
            }
        )
    for index, child in enumerate(unit.children.all()):
        data[f"children-{index}-id"] = child.pk
        data[f"children-{index}-parent"] = unit.pk
    for index, assignment in enumerate(unit.role_assignments.all()):
        data[f"role_assignments-{index}-id"] = assignment.pk
        data[f"role_assignments-{index}-unit"] = unit.pk
        data[f"role_assignments-{index}-user"] = assignment.user_id
        data[f"role_assignments-{index}-role"] = assignment.role
    data.update(changes)
    return data


def test_an_admin_role_holder_edits_units_through_the_admin_and_it_is_audited(org_tree, client_for):
    from tests.personas import make_user

    district_admin = make_user("district-admin", "区管理员", is_staff=True)
    services.grant_role(None, district_admin, Role.ADMIN, org_tree.district)
    client = client_for(district_admin)
    street = org_tree.street
    response = client.post(
        reverse("admin:org_unit_change", args=[street.pk]),
        _unit_form(street, name="东华街道办事处"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Unit.objects.get(pk=street.pk).name == "东华街道办事处"
    entry = _last_entry()
    assert entry.action == "org.unit.update" and entry.actor_id == district_admin.pk
    # Outside the district the same person may not change anything.
    response = client.post(
        reverse("admin:org_unit_change", args=[org_tree.zhujian.pk]),
        _unit_form(org_tree.zhujian, name="改名"),
    )
    assert response.status_code == 403
    assert Unit.objects.get(pk=org_tree.zhujian.pk).name == "测试市住房和城乡建设局"
