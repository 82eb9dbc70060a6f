from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from audit.models import AuditEntry
from org.models import CalendarOverride, Category, DeadlineRule, Grid, RoleAssignment, Unit
from org.roles import Role, has_role, roles_of

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    models = (Unit, Grid, RoleAssignment, Category, DeadlineRule, CalendarOverride, AuditEntry)
    counts = {m.__name__: m.objects.count() for m in models}
    counts["User"] = get_user_model().objects.count()
    return counts


def test_loading_the_demo_city_twice_changes_nothing_the_second_time():
    first = StringIO()
    call_command("demo", stdout=first)
    after_first = _counts()
    passwords = dict(get_user_model().objects.values_list("username", "password"))
    second = StringIO()
    call_command("demo", stdout=second)
    assert _counts() == after_first
    assert dict(get_user_model().objects.values_list("username", "password")) == passwords
    assert "(0 rows written)" in second.getvalue()
    assert after_first["Unit"] >= 30
    assert after_first["User"] >= 30
    assert after_first["Grid"] >= 5


def test_the_demo_prints_a_table_of_logins():
    out = StringIO()
    call_command("demo", stdout=out)
    text = out.getvalue()
    for expected in (
        "username",
        "admin",
        "minsheng-demo-2026",
        "dispatcher",
        "示范市城市管理综合执法局",
    ):
        assert expected in text


def test_demo_staff_sign_in_with_the_shared_demo_password(client):
    call_command("demo", stdout=StringIO())
    handler = get_user_model().objects.get(username="handler")
    assert handler.check_password("minsheng-demo-2026")
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff


def test_demo_personas_match_the_test_personas_roles():
    call_command("demo", stdout=StringIO())
    users = {u.username: u for u in get_user_model().objects.all()}
    chengguan = Unit.objects.get(code="sfs-cgj")
    zhujian = Unit.objects.get(code="sfs-zjj")
    assert has_role(users["dispatcher"], Role.AGENT, unit=Unit.objects.get(code="sfs-12345"))
    assert has_role(users["handler"], Role.HANDLER, unit=chengguan)
    assert not has_role(users["handler"], Role.HANDLER, unit=zhujian)
    assert has_role(users["other_handler"], Role.HANDLER, unit=zhujian)
    assert has_role(users["leader"], Role.LEADER, unit=chengguan)
    assert has_role(users["auditor"], Role.AUDITOR, unit=zhujian)
    covered = set().union(*(roles_of(u) for u in users.values()))
    assert covered == {r.value for r in Role}


def test_demo_citizens_have_encrypted_test_phone_numbers():
    from django.db import connection

    call_command("demo", stdout=StringIO())
    citizen = get_user_model().objects.get(username="citizen")
    assert citizen.phone.startswith("1380013")
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM accounts_user WHERE username = %s", ["citizen"])
        stored = cursor.fetchone()[0]
    assert "1380013" not in stored


def test_every_demo_subcategory_has_a_responsible_unit_and_a_clock():
    call_command("demo", stdout=StringIO())
    leaves = Category.objects.filter(parent__isnull=False)
    assert leaves.count() >= 20
    assert not leaves.filter(responsible_unit__isnull=True).exists()
    assert not leaves.filter(deadline_rule__isnull=True).exists()
    petitions = leaves.filter(deadline_rule__petition=True)
    assert petitions.exists()
    assert {c.parent.code for c in petitions if c.parent is not None} == {"xf"}
