"""Named people for tests: a citizen, a dispatcher, a handler in 城管执法局, one in 住建局, …

Loaded for the whole suite from the root conftest. Each persona is a real ``accounts.User`` with
real role assignments in a small organisation tree (``org_tree``), created per test through the
org services, so a test reads like a story: ``client_for(handler).post(…)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from org import calendar as working_calendar
from org import services
from org.models import Category, Grid, Unit
from org.roles import Role


@dataclass
class OrgTree:
    city: Unit
    hotline: Unit
    chengguan: Unit  # 城管执法局
    zhujian: Unit  # 住建局
    district: Unit
    street: Unit
    community: Unit
    grid: Grid


@dataclass
class CategoryTree:
    city_management: Category  # 城市管理
    street_vending: Category  # 城市管理/占道经营 → 城管执法局
    housing: Category  # 住房建设
    property_management: Category  # 住房建设/物业管理 → 住建局
    petitions: Category  # 信访事项
    petition_general: Category  # 信访事项/一般信访 (petition clock)


@pytest.fixture(autouse=True)
def _fresh_working_calendar() -> Iterator[None]:
    """Each test starts and ends with an empty calendar cache: overrides roll back with the test."""
    working_calendar.clear_cache()
    yield
    working_calendar.clear_cache()


def _unit(code: str, name: str, kind: str, parent: Unit | None = None) -> Unit:
    return services.create_unit(None, code=code, name=name, kind=kind, parent=parent)


@pytest.fixture
def org_tree(db: Any) -> OrgTree:
    city = _unit("test-city", "测试市", Unit.Kind.CITY)
    hotline = _unit("test-12345", "测试市12345热线中心", Unit.Kind.HOTLINE, city)
    chengguan = _unit("test-chengguan", "测试市城市管理综合执法局", Unit.Kind.GOVERNMENT, city)
    zhujian = _unit("test-zhujian", "测试市住房和城乡建设局", Unit.Kind.GOVERNMENT, city)
    district = _unit("test-district", "东城区", Unit.Kind.DISTRICT, city)
    street = _unit("test-street", "东华街道", Unit.Kind.STREET, district)
    community = _unit("test-community", "东华社区", Unit.Kind.COMMUNITY, street)
    grid, _ = services.upsert_grid(
        None, "test-grid-1", name="东华社区第一网格", community=community
    )
    return OrgTree(city, hotline, chengguan, zhujian, district, street, community, grid)


@pytest.fixture
def category_tree(org_tree: OrgTree) -> CategoryTree:
    from org.deadlines import petition_rule_defaults

    up = services.upsert_category
    city_management, _ = up(None, "test-city-management", name="城市管理")
    street_vending, _ = up(
        None,
        "test-street-vending",
        name="占道经营",
        parent=city_management,
        responsible_unit=org_tree.chengguan,
    )
    housing, _ = up(None, "test-housing", name="住房建设")
    property_management, _ = up(
        None,
        "test-property-management",
        name="物业管理",
        parent=housing,
        responsible_unit=org_tree.zhujian,
    )
    petitions, _ = up(None, "test-petitions", name="信访事项")
    petition_general, _ = up(
        None,
        "test-petition-general",
        name="一般信访",
        parent=petitions,
        responsible_unit=org_tree.city,
    )
    services.set_deadline_rule(None, street_vending, sign_amount=2, sign_unit="hours")
    services.set_deadline_rule(None, property_management, handle_amount=10)
    services.set_deadline_rule(None, petition_general, **petition_rule_defaults())
    return CategoryTree(
        city_management, street_vending, housing, property_management, petitions, petition_general
    )


def make_user(username: str, display_name: str, *, kind: str = "staff", **extra: Any) -> Any:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(
        username=username,
        password=f"{username}-password",
        display_name=display_name,
        kind=kind,
        **extra,
    )
    return user


def _staff(
    username: str, display_name: str, role: str | None, unit: Unit | None, **extra: Any
) -> Any:
    user = make_user(username, display_name, **extra)
    if role is not None and unit is not None:
        services.grant_role(None, user, role, unit)
    return user


@pytest.fixture
def citizen(db: Any) -> Any:
    return make_user("citizen", "张群众", kind="citizen", phone="13800138000")


@pytest.fixture
def dispatcher(org_tree: OrgTree) -> Any:
    return _staff("dispatcher", "李话务", Role.AGENT, org_tree.hotline)


@pytest.fixture
def handler(org_tree: OrgTree) -> Any:
    return _staff("handler", "王城管", Role.HANDLER, org_tree.chengguan)


@pytest.fixture
def other_handler(org_tree: OrgTree) -> Any:
    return _staff("other_handler", "赵住建", Role.HANDLER, org_tree.zhujian)


@pytest.fixture
def leader(org_tree: OrgTree) -> Any:
    return _staff("leader", "陈市长", Role.LEADER, org_tree.city)


@pytest.fixture
def analyst(org_tree: OrgTree) -> Any:
    return _staff("analyst", "孙舆情", Role.ANALYST, org_tree.city)


@pytest.fixture
def organiser(org_tree: OrgTree) -> Any:
    return _staff("organiser", "周组织", Role.ORGANISER, org_tree.city)


@pytest.fixture
def cadre(org_tree: OrgTree) -> Any:
    user = _staff("cadre", "吴网格", Role.CADRE, org_tree.community)
    grid = org_tree.grid
    grid.worker = user
    services.save(None, grid)
    return user


@pytest.fixture
def auditor(org_tree: OrgTree) -> Any:
    return _staff("auditor", "郑纪检", Role.AUDITOR, org_tree.city)


@pytest.fixture
def admin(org_tree: OrgTree) -> Any:
    """The system administrator: admin at the root, allowed into the Django admin."""
    return _staff("admin", "冯管理", Role.ADMIN, org_tree.city, is_staff=True, is_superuser=True)


@pytest.fixture
def outsider(org_tree: OrgTree) -> Any:
    """A staff account that holds no role anywhere."""
    return _staff("outsider", "钱路人", None, None)


@pytest.fixture
def client_for(db: Any) -> Callable[[Any], Client]:
    def login(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login
