from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory

from minsheng.errors import Forbidden, ServiceError
from org import services
from org.roles import Role, has_role, require_role, role_required, roles_of, units_for

pytestmark = pytest.mark.django_db


def test_each_persona_holds_the_role_its_name_promises(
    citizen,
    dispatcher,
    handler,
    other_handler,
    leader,
    analyst,
    organiser,
    cadre,
    auditor,
    admin,
    outsider,
):
    assert roles_of(citizen) == {"citizen"}
    assert roles_of(dispatcher) == {"agent"}
    assert roles_of(handler) == {"handler"}
    assert roles_of(other_handler) == {"handler"}
    assert roles_of(leader) == {"leader"}
    assert roles_of(analyst) == {"analyst"}
    assert roles_of(organiser) == {"organiser"}
    assert roles_of(cadre) == {"cadre"}
    assert roles_of(auditor) == {"auditor"}
    assert roles_of(admin) == {"admin"}
    assert roles_of(outsider) == set()
    assert roles_of(AnonymousUser()) == set()


def test_a_handler_acts_in_its_own_unit_only(handler, org_tree):
    assert has_role(handler, Role.HANDLER, unit=org_tree.chengguan)
    assert not has_role(handler, Role.HANDLER, unit=org_tree.zhujian)
    assert not has_role(handler, Role.HANDLER, unit=org_tree.city)
    assert not has_role(handler, Role.LEADER)


def test_a_role_at_a_parent_unit_covers_its_children_but_not_its_siblings(org_tree):
    from tests.personas import make_user

    street_handler = make_user("street-handler", "街道承办人")
    services.grant_role(None, street_handler, Role.HANDLER, org_tree.district)
    assert has_role(street_handler, Role.HANDLER, unit=org_tree.district)
    assert has_role(street_handler, Role.HANDLER, unit=org_tree.street)
    assert has_role(street_handler, Role.HANDLER, unit=org_tree.community)
    assert not has_role(street_handler, Role.HANDLER, unit=org_tree.chengguan)
    assert not has_role(street_handler, Role.HANDLER, unit=org_tree.city)
    codes = set(units_for(street_handler, Role.HANDLER).values_list("code", flat=True))
    assert codes == {"test-district", "test-street", "test-community"}


def test_admin_and_auditor_at_the_root_reach_every_unit(admin, auditor, org_tree):
    for unit in (org_tree.city, org_tree.hotline, org_tree.community):
        assert has_role(admin, Role.ADMIN, unit=unit)
        assert has_role(auditor, Role.AUDITOR, unit=unit)
    assert not has_role(auditor, Role.ADMIN)


def test_a_superuser_counts_as_admin_everywhere(org_tree):
    from tests.personas import make_user

    root = make_user("root", "超级用户", is_superuser=True)
    assert roles_of(root) == {"admin"}
    assert has_role(root, Role.ADMIN, unit=org_tree.community)
    assert not has_role(root, Role.HANDLER)
    assert units_for(root, Role.ADMIN).count() == 8 - 1  # every unit; the grid is not a unit


def test_a_citizen_holds_no_staff_role(citizen, org_tree):
    assert has_role(citizen, Role.CITIZEN)
    assert not has_role(citizen, *[r for r in Role if r != Role.CITIZEN])
    assert not units_for(citizen, Role.HANDLER).exists()


def test_an_inactive_account_holds_no_role(handler):
    handler.is_active = False
    assert roles_of(handler) == set()
    assert not has_role(handler, Role.HANDLER)


def test_roles_are_read_once_per_user_object(handler, org_tree, django_assert_num_queries):
    from django.contrib.auth import get_user_model

    fresh = get_user_model().objects.get(pk=handler.pk)
    with django_assert_num_queries(1):
        for _ in range(5):
            roles_of(fresh)
            has_role(fresh, Role.HANDLER, unit=org_tree.chengguan)
            has_role(fresh, Role.LEADER)


@role_required(Role.HANDLER, Role.LEADER)
def _handler_page(request):
    return HttpResponse("ok")


def _request(user):
    request = RequestFactory().get("/workbench/orders/?page=2")
    request.user = user
    return request


def test_role_required_sends_anonymous_visitors_to_sign_in(db):
    response = _handler_page(_request(AnonymousUser()))
    assert response.status_code == 302
    assert "next=/workbench/orders/%3Fpage%3D2" in response["Location"]


def test_role_required_refuses_the_wrong_role_with_a_translated_message(dispatcher):
    with pytest.raises(PermissionDenied) as refused:
        _handler_page(_request(dispatcher))
    assert "权限" in str(refused.value)


def test_role_required_lets_the_right_role_through(handler, leader):
    assert _handler_page(_request(handler)).content == b"ok"
    assert _handler_page(_request(leader)).content == b"ok"


def test_require_role_raises_api_errors_with_stable_codes(handler, dispatcher, org_tree, db):
    with pytest.raises(ServiceError) as anonymous:
        require_role(_request(AnonymousUser()), Role.HANDLER)
    assert (anonymous.value.status, anonymous.value.code) == (401, "unauthorized")
    with pytest.raises(Forbidden) as wrong:
        require_role(_request(dispatcher), Role.HANDLER)
    assert (wrong.value.status, wrong.value.code) == (403, "forbidden")
    with pytest.raises(Forbidden):
        require_role(_request(handler), Role.HANDLER, unit=org_tree.zhujian)
    require_role(_request(handler), Role.HANDLER, unit=org_tree.chengguan)


def test_role_required_views_answer_403_through_the_site(client_for, dispatcher, handler):
    from django.urls import path

    from minsheng import urls as site_urls

    original = list(site_urls.urlpatterns)
    site_urls.urlpatterns.insert(0, path("__org-test__/", _handler_page))
    try:
        from django.urls import clear_url_caches

        clear_url_caches()
        assert client_for(dispatcher).get("/__org-test__/").status_code == 403
        assert client_for(handler).get("/__org-test__/").status_code == 200
    finally:
        site_urls.urlpatterns[:] = original
        clear_url_caches()
