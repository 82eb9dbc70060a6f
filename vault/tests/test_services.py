from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied

from audit.models import AccessLogEntry, AuditEntry
from vault.services import can_reveal, display, reveal

pytestmark = pytest.mark.django_db
PURPOSE = "回访群众核实诉求"


def test_a_handler_may_reveal_a_citizen_of_their_units_case(handler, citizen, org_tree) -> None:
    assert reveal(handler, citizen, "phone", PURPOSE, unit=org_tree.chengguan) == "13800138000"
    access = AccessLogEntry.objects.get()
    assert (access.actor, access.object_id, access.field, access.purpose) == (
        handler,
        str(citizen.pk),
        "phone",
        PURPOSE,
    )
    assert access.object_type == "accounts.user"
    assert "13800138000" not in str(access.after) + access.object_repr


def test_it_refuses_a_handler_of_another_unit_and_records_the_attempt(
    other_handler, citizen, org_tree
) -> None:
    with pytest.raises(PermissionDenied):
        reveal(other_handler, citizen, "phone", PURPOSE, unit=org_tree.chengguan)
    assert not AccessLogEntry.objects.exists()
    denied = AuditEntry.objects.get(action="personal_data.reveal_denied")
    assert denied.actor == other_handler


def test_a_handler_without_a_case_unit_may_not_reveal(handler, citizen) -> None:
    assert not can_reveal(handler)
    with pytest.raises(PermissionDenied):
        reveal(handler, citizen, "phone", PURPOSE)


def test_an_agent_may_reveal_when_the_case_came_in_at_their_hotline(
    dispatcher, citizen, org_tree
) -> None:
    assert can_reveal(dispatcher, [org_tree.hotline, org_tree.chengguan])
    assert not can_reveal(dispatcher, org_tree.chengguan)


def test_an_auditor_may_reveal_anywhere(auditor, citizen) -> None:
    assert reveal(auditor, citizen, "phone", "核查投诉处理过程") == "13800138000"
    assert AccessLogEntry.objects.filter(actor=auditor).count() == 1


def test_leaders_analysts_and_outsiders_see_masked_values_only(
    leader, analyst, outsider, citizen, org_tree
) -> None:
    for person in (leader, analyst, outsider):
        assert not can_reveal(person, org_tree.chengguan)
        assert display(person, citizen.phone) == "138****8000"


def test_an_explicitly_granted_permission_gives_the_right(outsider, citizen) -> None:
    outsider.user_permissions.add(Permission.objects.get(codename="reveal_personal_data"))
    outsider = type(outsider).objects.get(pk=outsider.pk)  # fresh permission cache
    assert reveal(outsider, citizen, "phone", PURPOSE) == "13800138000"


def test_a_citizen_sees_their_own_phone_but_not_someone_elses(citizen, handler) -> None:
    assert display(citizen, citizen.phone, subject=citizen) == "13800138000"
    assert display(handler, citizen.phone, subject=citizen) == "138****8000"
    assert display(handler, "11010519491231002X", kind="id") == "110105********002X"
    assert not can_reveal(citizen)


def test_a_reveal_needs_a_purpose_and_a_vault_field(auditor, citizen) -> None:
    with pytest.raises(ValueError, match="purpose"):
        reveal(auditor, citizen, "phone", "  ")
    with pytest.raises(ValueError, match="not a vault"):
        reveal(auditor, citizen, "display_name", PURPOSE)
    assert not AccessLogEntry.objects.exists()
