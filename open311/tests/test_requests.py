"""GET requests.{fmt} and requests/{id}.{fmt}: statuses, filters, and no personal data."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from appeals import services as appeal_services
from appeals.models import Appeal, Channel
from open311.tests.conftest import BASE, PHONE, secret_in, xml

pytestmark = pytest.mark.django_db
Post = Callable[..., Any]
FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
REPLY = (
    "王先生：您反映的占道经营问题已处理，建国同志如有疑问请拨打 13912345678 "
    "或写信 wangjianguo@example.com。"
)


@pytest.fixture
def posted(post: Post) -> Appeal:
    return Appeal.objects.get(code=post().json()[0]["service_request_id"])


def get(path: str) -> Any:
    return Client().get(f"{BASE}/{path}")


def one(code: str) -> dict[str, Any]:
    response = get(f"requests/{code}.json")
    assert response.status_code == 200, response.content
    [found] = response.json()
    return dict(found)


def _reply(appeal: Appeal, dispatcher: Any, handler: Any, org_tree: Any, text: str = REPLY) -> None:
    appeal_services.do_register(appeal, dispatcher)
    appeal_services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    appeal_services.do_sign(appeal, handler)
    appeal_services.do_handle(appeal, handler)
    appeal_services.do_reply(appeal, handler, text=text)


def test_one_request_in_json_has_every_spec_field_in_order(posted: Appeal) -> None:
    found = one(posted.code)
    assert list(found) == FIELDS
    assert found["service_request_id"] == posted.code
    assert found["status"] == "open"
    assert found["service_code"] == "test-street-vending"
    assert found["service_name"] == "占道经营"
    assert found["description"].startswith("东华路菜市场门口")
    assert found["address"] == "东华路 12 号菜市场门口"
    assert found["lat"] == pytest.approx(39.9152) and found["long"] == pytest.approx(116.4039)
    assert found["media_url"] == "https://img.example.com/p/42.jpg"
    assert found["agency_responsible"] == "测试市12345热线中心"
    assert found["status_notes"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", found["requested_datetime"])


def test_one_request_in_xml_is_a_service_requests_root_with_one_request(posted: Appeal) -> None:
    root = xml(get(f"requests/{posted.code}.xml"))
    assert root.tag == "service_requests"
    [request] = root.findall("request")
    assert [child.tag for child in request] == FIELDS
    assert request.findtext("service_request_id") == posted.code
    assert request.findtext("status") == "open"
    assert request.findtext("zipcode") == ""


def test_an_unknown_request_is_404_in_both_formats(category_tree: Any) -> None:
    response = get("requests/MS-2025-999999.json")
    assert response.status_code == 404
    assert "MS-2025-999999" in response.json()[0]["description"]
    assert xml(get("requests/MS-2025-999999.xml")).findtext("error/code") == "404"


def test_a_dispatched_request_names_the_unit_and_the_expected_time(
    posted: Appeal, dispatcher: Any, org_tree: Any
) -> None:
    appeal_services.do_register(posted, dispatcher)
    appeal_services.do_dispatch(posted, org_tree.chengguan, dispatcher)
    found = one(posted.code)
    assert found["status"] == "open"
    assert found["agency_responsible"] == "测试市城市管理综合执法局"
    posted.refresh_from_db()
    assert posted.reply_due is not None
    assert found["expected_datetime"] == posted.reply_due.astimezone(
        dt.timezone(dt.timedelta(hours=8))
    ).isoformat(timespec="seconds")


def test_a_replied_request_is_open_with_the_reply_as_its_notes_without_personal_data(
    posted: Appeal, dispatcher: Any, handler: Any, org_tree: Any
) -> None:
    _reply(posted, dispatcher, handler, org_tree)
    found = one(posted.code)
    assert found["status"] == "open"
    notes = found["status_notes"]
    assert "占道经营问题已处理" in notes
    assert "13912345678" not in notes and "139****5678" in notes
    assert "wangjianguo@example.com" not in notes
    assert "王先生" not in notes and "*先生" in notes
    assert "建国" not in notes and "**同志" in notes


def test_a_closed_request_is_closed_and_updated_at_its_closing(
    posted: Appeal, dispatcher: Any, handler: Any, org_tree: Any
) -> None:
    _reply(posted, dispatcher, handler, org_tree)
    appeal_services.do_callback(posted, dispatcher, rating="satisfied")
    appeal_services.do_close(posted, dispatcher)
    found = one(posted.code)
    posted.refresh_from_db()
    assert found["status"] == "closed"
    assert found["expected_datetime"] is None
    assert posted.closed_at is not None
    assert found["updated_datetime"] == posted.closed_at.astimezone(
        dt.timezone(dt.timedelta(hours=8))
    ).isoformat(timespec="seconds")
    assert "占道经营问题已处理" in found["status_notes"]


def test_a_rejected_request_is_closed_with_its_legal_basis(posted: Appeal, dispatcher: Any) -> None:
    appeal_services.do_reject(
        posted, dispatcher, reason="不属于受理范围", legal_basis="《信访工作条例》第三十二条"
    )
    found = one(posted.code)
    assert found["status"] == "closed"
    assert "《信访工作条例》第三十二条" in found["status_notes"]


def test_a_request_withdrawn_with_the_secret_from_its_notice_is_closed(post: Post) -> None:
    answer = post().json()[0]
    appeal = Appeal.objects.get(code=answer["service_request_id"])
    appeal_services.do_withdraw(appeal, None, secret=secret_in(answer["service_notice"]))
    assert one(appeal.code)["status"] == "closed"
    assert one(appeal.code)["status_notes"] == "提交人已撤回。"


def test_a_merged_request_is_closed_and_points_to_the_one_it_follows(
    post: Post, dispatcher: Any
) -> None:
    first = Appeal.objects.get(code=post().json()[0]["service_request_id"])
    second = Appeal.objects.get(code=post().json()[0]["service_request_id"])
    appeal_services.do_merge(second, first, dispatcher)
    found = one(second.code)
    assert found["status"] == "closed"
    assert first.code in found["status_notes"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_no_answer_carries_the_contact_name_phone_or_email(
    post: Post, dispatcher: Any, handler: Any, org_tree: Any, fmt: str
) -> None:
    appeal = Appeal.objects.get(
        code=post(description="我是王建国，电话 13912345678，门口摊贩占道。").json()[0][
            "service_request_id"
        ]
    )
    _reply(appeal, dispatcher, handler, org_tree)
    for path in (f"requests.{fmt}", f"requests/{appeal.code}.{fmt}"):
        body = get(path).content.decode("utf-8")
        assert appeal.code in body
        for secret_thing in (PHONE, "wangjianguo@example.com", "王建国", "建国", "device-42"):
            assert secret_thing not in body, (path, secret_thing)


def test_appeals_from_other_channels_show_status_but_not_their_text_or_place(
    category_tree: Any, dispatcher: Any, handler: Any, org_tree: Any
) -> None:
    appeal, _secret = appeal_services.do_submit(
        None,
        appeal_services.Submission(
            text="我家楼下（幸福小区 3 栋 2 单元 501）噪音扰民，联系人李四。",
            category=category_tree.street_vending,
            address="幸福小区 3 栋 2 单元 501",
            contact_name="李四",
            contact_phone="13800138111",
            channel=Channel.HOTLINE,
        ),
    )
    _reply(appeal, dispatcher, handler, org_tree, text="李四您好，已处理。")
    found = one(appeal.code)
    assert found["status"] == "open"
    assert found["service_code"] == "test-street-vending"
    assert found["description"] is None and found["address"] is None
    assert found["lat"] is None and found["media_url"] is None
    assert "李四" not in str(found)
    assert found["status_notes"] == "已答复，等待提交人评价。"


def test_petition_appeals_are_not_served_at_all(category_tree: Any) -> None:
    appeal, _secret = appeal_services.do_submit(
        None,
        appeal_services.Submission(
            text="反映征地补偿问题。", category=category_tree.petition_general
        ),
    )
    assert appeal.petition
    assert get(f"requests/{appeal.code}.json").status_code == 404
    assert appeal.code not in get("requests.json").content.decode()


def test_the_list_in_xml_has_one_request_element_per_appeal_newest_first(post: Post) -> None:
    codes = [post().json()[0]["service_request_id"] for _ in range(3)]
    root = xml(get("requests.xml"))
    assert root.tag == "service_requests"
    assert [r.findtext("service_request_id") for r in root.findall("request")] == codes[::-1]
    assert [child.tag for child in root.findall("request")[0]] == FIELDS


def test_the_list_filters_by_ids_which_override_everything_else(post: Post) -> None:
    codes = [post().json()[0]["service_request_id"] for _ in range(3)]
    wanted = f"{codes[0]},{codes[2]}"
    found = get(f"requests.json?service_request_id={wanted}&status=closed").json()
    assert sorted(r["service_request_id"] for r in found) == sorted([codes[0], codes[2]])


def test_the_list_filters_by_service_code(post: Post) -> None:
    vending = post().json()[0]["service_request_id"]
    housing = post(service_code="test-property-management").json()[0]["service_request_id"]
    found = get("requests.json?service_code=test-property-management").json()
    assert [r["service_request_id"] for r in found] == [housing]
    both = get("requests.json?service_code=test-property-management,test-street-vending").json()
    assert {r["service_request_id"] for r in both} == {vending, housing}
    assert get("requests.json?service_code=nosuch").status_code == 404


def test_the_list_filters_by_status(post: Post, dispatcher: Any) -> None:
    open_code = post().json()[0]["service_request_id"]
    closed = Appeal.objects.get(code=post().json()[0]["service_request_id"])
    appeal_services.do_reject(closed, dispatcher, reason="重复", legal_basis="受理规则第五条")
    assert [r["service_request_id"] for r in get("requests.json?status=open").json()] == [open_code]
    assert [r["service_request_id"] for r in get("requests.json?status=closed").json()] == [
        closed.code
    ]
    assert len(get("requests.json?status=open,closed").json()) == 2
    bad = get("requests.json?status=pending")
    assert bad.status_code == 400 and "pending" in bad.json()[0]["description"]


def _submitted_at(when: dt.datetime, category: Any) -> Appeal:
    appeal, _secret = appeal_services.do_submit(
        None,
        appeal_services.Submission(text="旧诉求", category=category, channel=Channel.OPEN311),
        now=when,
    )
    return appeal


def test_the_list_defaults_to_the_last_90_days(category_tree: Any) -> None:
    now = timezone.now()
    recent = _submitted_at(now - dt.timedelta(days=10), category_tree.street_vending)
    old = _submitted_at(now - dt.timedelta(days=100), category_tree.street_vending)
    codes = [r["service_request_id"] for r in get("requests.json").json()]
    assert recent.code in codes and old.code not in codes


def test_the_list_filters_by_date_range(category_tree: Any) -> None:
    now = timezone.now()
    old = _submitted_at(now - dt.timedelta(days=100), category_tree.street_vending)
    day = (now - dt.timedelta(days=100)).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    found = get(f"requests.json?start_date={day}&end_date={day}").json()
    assert [r["service_request_id"] for r in found] == [old.code]
    start = (now - dt.timedelta(days=101)).strftime("%Y-%m-%dT%H:%M:%SZ")
    only_start = get(f"requests.json?start_date={start}").json()
    assert [r["service_request_id"] for r in only_start] == [old.code]


@pytest.mark.parametrize(
    "query, word",
    [
        ("start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", "90"),
        ("start_date=2026-02-01&end_date=2026-01-01", "end_date"),
        ("start_date=yesterday", "start_date"),
        ("end_date=2026-13-45", "end_date"),
    ],
)
def test_a_bad_date_range_is_400_saying_what_to_send(
    category_tree: Any, query: str, word: str
) -> None:
    response = get(f"requests.json?{query}")
    assert response.status_code == 400
    assert word in response.json()[0]["description"]


def test_another_jurisdiction_is_404_for_the_list_and_one_request(posted: Appeal) -> None:
    assert get("requests.json?jurisdiction_id=sfgov.org").status_code == 404
    assert get(f"requests/{posted.code}.xml?jurisdiction_id=sfgov.org").status_code == 404
    assert get(f"requests/{posted.code}.xml?jurisdiction_id=test-city").status_code == 200


def test_the_list_reads_a_fixed_number_of_queries_however_long(
    post: Post, dispatcher: Any, handler: Any, org_tree: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(6):
        appeal = Appeal.objects.get(code=post().json()[0]["service_request_id"])
        _reply(appeal, dispatcher, handler, org_tree)
    with django_assert_max_num_queries(5):
        response = get("requests.json")
    assert len(response.json()) == 6


def test_control_characters_in_a_description_do_not_break_the_xml(post: Post) -> None:
    code = post(description="摊贩占道\x07\x0b经营").json()[0]["service_request_id"]
    request = xml(get(f"requests/{code}.xml")).find("request")
    assert request is not None
    assert request.findtext("description") == "摊贩占道经营"
