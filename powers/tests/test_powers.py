"""Power and responsibility lists: publish, edit as new versions, audited, linked to categories."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEntry
from minsheng.errors import Forbidden, ServiceError
from org import services as org_services
from org.roles import Role
from powers import services
from powers.models import Power, PowerVersion
from tests.personas import make_user

pytestmark = pytest.mark.django_db

FIELDS = {
    "list_kind": "power",
    "kind": "penalty",
    "name": "对占道经营的行政处罚",
    "legal_basis": "《城市市容和环境卫生管理条例》第三十六条",
    "procedure": "立案、调查取证、告知、决定、送达",
    "deadline": "立案之日起90日内作出决定",
    "responsible_post": "执法一科",
}


@pytest.fixture
def bureau_admin(org_tree: Any) -> Any:
    user = make_user("cg_admin", "城管管理员")
    org_services.grant_role(None, user, Role.ADMIN, org_tree.chengguan)
    return user


@pytest.fixture
def power(bureau_admin: Any, org_tree: Any, category_tree: Any) -> Power:
    p = services.create_power(bureau_admin, org_tree.chengguan, **FIELDS)
    services.link_categories(bureau_admin, p, [category_tree.street_vending])
    return p


def test_a_unit_admin_publishes_a_power_as_version_one_and_it_is_audited(power: Power) -> None:
    assert power.version == 1
    assert list(power.versions.values_list("version", flat=True)) == [1]
    actions = set(
        AuditEntry.objects.filter(object_type="powers.power", object_id=str(power.pk)).values_list(
            "action", flat=True
        )
    )
    assert actions == {"powers.create", "powers.categories"}


def test_every_edit_is_a_new_version_and_the_old_text_stays_in_the_history(
    power: Power, bureau_admin: Any, client: Any
) -> None:
    services.update_power(bureau_admin, power, reason="条例修订", deadline="60日内")
    power.refresh_from_db()
    assert power.version == 2
    v1, v2 = PowerVersion.objects.filter(power=power).order_by("version")
    assert v1.data["deadline"] == FIELDS["deadline"] and v2.data["deadline"] == "60日内"
    entry = AuditEntry.objects.get(action="powers.update", object_id=str(power.pk))
    assert entry.before == {"deadline": FIELDS["deadline"]}
    assert entry.reason == "条例修订"
    page = client.get(f"/powers/test-chengguan/{power.pk}/history/").content.decode()
    assert "60日内" in page and FIELDS["deadline"] in page and "条例修订" in page


def test_an_edit_without_a_reason_is_refused(power: Power, bureau_admin: Any) -> None:
    with pytest.raises(ServiceError, match="理由"):
        services.update_power(bureau_admin, power, reason=" ", name="新名称")


def test_a_power_without_legal_basis_is_refused(bureau_admin: Any, org_tree: Any) -> None:
    with pytest.raises(ServiceError, match="法律依据"):
        services.create_power(bureau_admin, org_tree.chengguan, **{**FIELDS, "legal_basis": ""})


def test_another_units_handler_cannot_edit_the_list(power: Power, other_handler: Any) -> None:
    with pytest.raises(Forbidden):
        services.update_power(other_handler, power, reason="x", name="改名")


def test_the_public_unit_page_and_api_show_the_list_and_the_category_link(
    power: Power, client: Any, category_tree: Any
) -> None:
    page = client.get("/powers/test-chengguan/")
    assert page.status_code == 200
    html = page.content.decode()
    assert FIELDS["name"] in html and FIELDS["legal_basis"] in html
    assert category_tree.street_vending.name in html
    api = client.get("/api/powers/units/test-chengguan").json()
    assert api[0]["name"] == FIELDS["name"]
    assert api[0]["categories"] == [category_tree.street_vending.code]
    linked = client.get(f"/api/powers/categories/{category_tree.street_vending.code}").json()
    assert linked["id"] == power.pk
    missing = client.get(f"/api/powers/categories/{category_tree.housing.code}")
    assert missing.status_code == 404


def test_a_subcategory_falls_under_its_parents_power(
    bureau_admin: Any, power: Power, category_tree: Any
) -> None:
    services.link_categories(bureau_admin, power, [category_tree.city_management])
    assert services.power_for(category_tree.street_vending) == power


def test_an_organiser_edits_through_the_workbench_and_a_handler_is_refused(
    power: Power, bureau_admin: Any, handler: Any, client_for: Any, category_tree: Any
) -> None:
    form = {
        **FIELDS,
        "name": "对占道经营、店外经营的行政处罚",
        "active": "on",
        "reason": "合并相近事项",
        "categories": [category_tree.street_vending.pk],
    }
    response = client_for(bureau_admin).post(f"/workbench/powers/items/{power.pk}/edit/", form)
    assert response.status_code == 302
    power.refresh_from_db()
    assert power.version == 2 and power.name.startswith("对占道经营、店外经营")
    assert client_for(handler).get(f"/workbench/powers/items/{power.pk}/edit/").status_code == 403
    assert client_for(handler).get("/workbench/powers/").status_code == 403


def test_demo_lists_load_once(org_tree: Any) -> None:
    from org.models import Unit
    from powers import demo_data

    org_services.create_unit(
        None, code="sfs-cgj", name="示范市城市管理综合执法局", kind=Unit.Kind.GOVERNMENT
    )
    assert demo_data.load() > 0
    assert Power.objects.filter(unit__code="sfs-cgj").count() == 3
    assert demo_data.load() == 0
