"""GET discovery, services and a service definition, in JSON and in XML."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from open311.tests.conftest import BASE, xml

pytestmark = pytest.mark.django_db


def test_the_service_list_names_each_leaf_category_with_its_group_in_json(
    category_tree: Any,
) -> None:
    response = Client().get(f"{BASE}/services.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    by_code = {s["service_code"]: s for s in response.json()}
    assert set(by_code) == {"test-street-vending", "test-property-management"}
    vending = by_code["test-street-vending"]
    assert vending == {
        "service_code": "test-street-vending",
        "service_name": "占道经营",
        "description": "",
        "metadata": False,
        "type": "realtime",
        "keywords": "占道经营, 城市管理",
        "group": "城市管理",
    }


def test_the_service_list_in_xml_has_one_service_element_per_service(category_tree: Any) -> None:
    root = xml(Client().get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    services = root.findall("service")
    assert [s.findtext("service_code") for s in services] == [
        "test-street-vending",
        "test-property-management",
    ]
    first = services[0]
    assert [child.tag for child in first] == [
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    ]
    assert first.findtext("metadata") == "false"
    assert first.findtext("type") == "realtime"
    assert first.findtext("group") == "城市管理"


def test_petition_categories_and_parents_with_children_are_not_services(
    category_tree: Any,
) -> None:
    codes = {s["service_code"] for s in Client().get(f"{BASE}/services.json").json()}
    assert "test-petition-general" not in codes  # 信访: the 信访工作条例 path, not a 311 post
    assert "test-city-management" not in codes  # a group, not a service


def test_a_childless_top_level_category_is_a_service_of_its_own_group(category_tree: Any) -> None:
    from org import services as org_services

    org_services.upsert_category(None, "test-other", name="其他")
    found = {s["service_code"]: s for s in Client().get(f"{BASE}/services.json").json()}
    assert found["test-other"]["group"] == "其他"


def test_a_service_definition_has_an_empty_attribute_list_in_json_and_xml(
    category_tree: Any,
) -> None:
    response = Client().get(f"{BASE}/services/test-street-vending.json")
    assert response.status_code == 200
    assert response.json() == {"service_code": "test-street-vending", "attributes": []}
    root = xml(Client().get(f"{BASE}/services/test-street-vending.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "test-street-vending"
    attributes = root.find("attributes")
    assert attributes is not None and list(attributes) == []


@pytest.mark.parametrize("code", ["nosuch", "test-city-management", "test-petition-general"])
def test_an_unknown_service_code_is_a_404_error_list(category_tree: Any, code: str) -> None:
    response = Client().get(f"{BASE}/services/{code}.json")
    assert response.status_code == 404
    [error] = response.json()
    assert error["code"] == 404
    assert code in error["description"] and "services.json" in error["description"]
    root = xml(Client().get(f"{BASE}/services/{code}.xml"))
    assert root.tag == "errors"
    assert root.findtext("error/code") == "404"
    assert code in (root.findtext("error/description") or "")


def test_discovery_names_this_endpoint_the_specification_and_both_formats(
    category_tree: Any,
) -> None:
    data = Client().get(f"{BASE}/discovery.json").json()
    [endpoint] = data["endpoints"]
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert data["changeset"].endswith("+08:00")
    root = xml(Client().get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]


def test_another_jurisdiction_is_not_found_and_ours_or_none_is_served(category_tree: Any) -> None:
    assert Client().get(f"{BASE}/services.json?jurisdiction_id=test-city").status_code == 200
    assert Client().get(f"{BASE}/services.json").status_code == 200
    response = Client().get(f"{BASE}/services.xml?jurisdiction_id=sfgov.org")
    assert response.status_code == 404
    description = xml(response).findtext("error/description") or ""
    assert "sfgov.org" in description and "test-city" in description


def test_the_configured_jurisdiction_wins_over_the_root_units_code(
    category_tree: Any, settings: Any
) -> None:
    settings.OPEN311_JURISDICTION = "sfs.gov.cn"
    assert Client().get(f"{BASE}/services.json?jurisdiction_id=sfs.gov.cn").status_code == 200
    assert Client().get(f"{BASE}/services.json?jurisdiction_id=test-city").status_code == 404


def test_an_unsupported_format_is_a_404_in_xml(category_tree: Any) -> None:
    response = Client().get(f"{BASE}/services.csv")
    assert response.status_code == 404
    assert ".xml" in (xml(response).findtext("error/description") or "")


def test_a_method_the_resource_does_not_take_is_405_with_an_error_list(
    category_tree: Any,
) -> None:
    response = Client().delete(f"{BASE}/services.json")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()[0]["code"] == 405
