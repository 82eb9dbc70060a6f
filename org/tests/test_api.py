from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_unit_tree_is_public_and_nested(client, org_tree):
    response = client.get("/api/org/units")
    assert response.status_code == 200
    roots = response.json()
    assert [r["code"] for r in roots] == ["test-city"]
    children = {c["code"]: c for c in roots[0]["children"]}
    assert {"test-12345", "test-chengguan", "test-zhujian", "test-district"} <= set(children)
    street = children["test-district"]["children"][0]
    assert street["kind"] == "street" and street["kind_label"] == "街道"
    assert street["children"][0]["code"] == "test-community"


def test_the_unit_tree_takes_one_query_whatever_its_size(
    client, org_tree, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):  # the session lookups of an anonymous request aside
        client.get("/api/org/units")


def test_inactive_units_and_their_subtrees_are_hidden(client, org_tree):
    from org import services

    services.update_unit(None, org_tree.district, active=False)
    codes = {c["code"] for c in client.get("/api/org/units").json()[0]["children"]}
    assert "test-district" not in codes


def test_categories_list_their_unit_and_clock(client, category_tree):
    response = client.get("/api/org/categories")
    assert response.status_code == 200
    tree = {c["code"]: c for c in response.json()}
    vending = tree["test-city-management"]["children"][0]
    assert vending["responsible_unit"]["code"] == "test-chengguan"
    assert vending["deadline_rule"]["sign"] == {
        "amount": 2,
        "unit": "hours",
        "unit_label": "工作小时",
    }
    assert vending["rule_inherited"] is False
    petition = tree["test-petitions"]["children"][0]
    assert petition["deadline_rule"]["petition"] is True
    assert petition["deadline_rule"]["handle"]["amount"] == 60
    assert tree["test-city-management"]["deadline_rule"] is None


def test_the_deadline_calculator_counts_working_days(client, db):
    response = client.get(
        "/api/org/calendar/deadline",
        {"start": "2025-09-30T10:00:00+08:00", "amount": 2, "unit": "days"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["deadline"].startswith("2025-10-10T17:30:00")
    assert body["working_days"] == 2
    assert body["unit_label"] == "工作日"


def test_the_deadline_calculator_counts_working_hours(client, db):
    response = client.get(
        "/api/org/calendar/deadline",
        {"start": "2025-10-09T03:00:00Z", "amount": 2, "unit": "hours"},
    )
    assert response.status_code == 200
    assert response.json()["deadline"].startswith("2025-10-09T14:30:00+08:00")
    assert response.json()["working_hours"] == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2025-10-09T10:00:00", "amount": 1, "unit": "days"}, "start"),
        ({"start": "not a date", "amount": 1, "unit": "days"}, "start"),
        ({"start": "2025-10-09T10:00:00+08:00", "amount": -1, "unit": "days"}, "amount"),
        ({"start": "2025-10-09T10:00:00+08:00", "amount": "x", "unit": "days"}, "amount"),
        ({"start": "2025-10-09T10:00:00+08:00", "amount": 1, "unit": "weeks"}, "unit"),
        ({"amount": 1, "unit": "days"}, "start"),
    ],
)
def test_bad_deadline_input_gets_a_readable_422(client, db, params, field):
    response = client.get("/api/org/calendar/deadline", params)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in body["message"] or field in str(body["detail"])


def test_my_roles_needs_a_signed_in_user(client, db):
    response = client.get("/api/org/me/roles")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_my_roles_lists_each_assignment_with_its_unit(client_for, handler):
    response = client_for(handler).get("/api/org/me/roles")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "handler"
    assert body["roles"] == ["handler"]
    assert body["assignments"] == [
        {
            "role": "handler",
            "label": "承办人",
            "unit": {
                "id": body["assignments"][0]["unit"]["id"],
                "code": "test-chengguan",
                "name": "测试市城市管理综合执法局",
            },
        }
    ]


def test_a_citizen_sees_the_citizen_role(client_for, citizen):
    body = client_for(citizen).get("/api/org/me/roles").json()
    assert body["roles"] == ["citizen"] and body["assignments"] == []


@pytest.mark.parametrize(
    ("start", "amount", "unit"),
    [
        ("9999-12-31T10:00:00+08:00", 5, "days"),
        ("9999-12-31T10:00:00+08:00", 5, "hours"),
        ("0001-01-01T00:00:00+14:00", 1, "calendar_days"),
        ("1210-12-17T04:47:22-21:37", 384, "days"),
        ("2100-12-31T23:59:59-12:00", 10000, "calendar_days"),
        ("2025-10-09T10:00:00+08:00", 10000, "calendar_days"),
    ],
)
def test_the_deadline_calculator_answers_edge_dates_without_a_server_error(
    client, db, start, amount, unit
):
    response = client.get(
        "/api/org/calendar/deadline", {"start": start, "amount": amount, "unit": unit}
    )
    assert response.status_code in (200, 422), response.content
    if response.status_code == 422:
        assert response.json()["code"] == "validation_error"
    else:
        # RFC 3339 offsets only: no local-mean-time seconds such as +08:05:43.
        assert re.search(r"[+-]\d\d:\d\d$", response.json()["deadline"])


def test_a_long_hours_period_is_computed(client, db):
    response = client.get(
        "/api/org/calendar/deadline",
        {"start": "2025-10-09T10:00:00+08:00", "amount": 10000, "unit": "hours"},
    )
    assert response.status_code == 200
    assert response.json()["working_hours"] == 10000
