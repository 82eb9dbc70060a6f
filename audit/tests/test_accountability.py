"""Accountability views: figures per unit and per handler, the records behind them, outliers."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from appeals import services
from appeals.models import Appeal
from audit import accountability as acc
from org import services as org_services
from org.roles import Role
from tests.personas import make_user

pytestmark = pytest.mark.django_db

LOW = acc.Thresholds(min_n=3, factor=1.5, bulk_min=2, bulk_share=0.3)


def _submit(category: Any, text: str) -> Appeal:
    appeal, _secret = services.do_submit(
        None,
        services.Submission(
            text=text,
            category=category,
            address="东华路 12 号",
            contact_name="张先生",
            contact_phone="13900139000",
        ),
    )
    return appeal


def _signed(
    category: Any, unit: Any, dispatcher: Any, handler: Any, n: int, *, sign: bool = True
) -> Appeal:
    appeal = _submit(category, f"第{n}件：东华路菜市场门口流动摊贩占道经营，堵塞人行道。")
    services.do_register(appeal, dispatcher)
    services.do_dispatch(appeal, unit, dispatcher)
    if sign:
        services.do_sign(appeal, handler)
    return appeal


@pytest.fixture
def city(
    org_tree: Any, category_tree: Any, dispatcher: Any, handler: Any, other_handler: Any
) -> dict[str, Any]:
    """城管: three replies all rated 不满意, two of them in the last hour before the deadline, a
    return, an extension and an overdue order. 住建: three replies all rated 满意."""
    made: dict[str, Any] = {"unsatisfied": [], "last_hour": []}
    for n in range(3):
        appeal = _signed(category_tree.street_vending, org_tree.chengguan, dispatcher, handler, n)
        services.do_handle(appeal, handler)
        due = appeal.reply_due
        assert due is not None
        when = due - dt.timedelta(minutes=30) if n < 2 else None
        services.do_reply(appeal, handler, text="已处理。", now=when)
        services.do_callback(appeal, dispatcher, rating="unsatisfied", comment="摊贩还在。")
        made["unsatisfied"].append(appeal)
        if n < 2:
            made["last_hour"].append(appeal)
    for n in range(3):
        appeal = _signed(
            category_tree.property_management, org_tree.zhujian, dispatcher, other_handler, 10 + n
        )
        services.do_handle(appeal, other_handler)
        services.do_reply(appeal, other_handler, text="已协调物业。")
        services.do_callback(appeal, dispatcher, rating="satisfied")
    returned = _signed(
        category_tree.street_vending, org_tree.chengguan, dispatcher, handler, 20, sign=False
    )
    services.do_return(returned, handler, reason="不属于本单位职责。")
    made["returned"] = returned
    extended = _signed(category_tree.street_vending, org_tree.chengguan, dispatcher, handler, 21)
    services.do_request_extension(extended, handler, days=2, reason="需要联合执法。")
    made["extended"] = extended
    late = _signed(category_tree.street_vending, org_tree.chengguan, dispatcher, handler, 22)
    services.record_overdue(late, "handle", timezone.now())
    made["late"] = late
    return made


def _records() -> list[acc.Record]:
    today = timezone.localdate()
    return acc.collect(*acc.period_bounds(today - dt.timedelta(days=30), today + dt.timedelta(60)))


def test_unit_figures_count_what_happened_to_each_units_orders(
    city: dict[str, Any], org_tree: Any
) -> None:
    rows = {r.key: r for r in acc.table(_records(), "unit", None, LOW).rows}
    cg, zj = rows[org_tree.chengguan.pk].counts, rows[org_tree.zhujian.pk].counts
    assert (cg["returns"], cg["extensions"], cg["overdue"]) == (1, 1, 1)
    assert (cg["replies"], cg["unsatisfied"], cg["reopenings"], cg["last_hour"]) == (3, 3, 3, 2)
    assert (zj["replies"], zj["unsatisfied"], zj["reopenings"], zj["returns"]) == (3, 0, 0, 0)


def test_a_unit_whose_closures_are_often_reopened_is_flagged_against_the_city_rate(
    city: dict[str, Any], org_tree: Any
) -> None:
    result = acc.table(_records(), "unit", None, LOW)
    rows = {r.key: r for r in result.rows}
    assert result.city_reopen_rate == pytest.approx(0.5)
    assert "reopen_rate" in rows[org_tree.chengguan.pk].flags
    assert rows[org_tree.zhujian.pk].flags == []


def test_too_few_replies_are_never_flagged(city: dict[str, Any], org_tree: Any) -> None:
    strict = acc.Thresholds(min_n=4, factor=1.5, bulk_min=3, bulk_share=0.3)
    rows = {r.key: r for r in acc.table(_records(), "unit", None, strict).rows}
    assert rows[org_tree.chengguan.pk].flags == []


def test_a_handler_with_unsatisfactory_replies_and_last_hour_bulk_is_flagged(
    city: dict[str, Any], handler: Any, other_handler: Any
) -> None:
    rows = {r.key: r for r in acc.table(_records(), "handler", None, LOW).rows}
    assert rows[handler.pk].flags == ["unsatisfied_rate", "last_hour_bulk"]
    assert rows[handler.pk].counts["overdue"] == 1  # charged to who signed the late order
    assert rows[other_handler.pk].flags == []


def test_the_records_behind_a_figure_are_exactly_the_counted_appeals(
    city: dict[str, Any], org_tree: Any
) -> None:
    pairs = acc.drill(_records(), "last_hour", None, unit_id=org_tree.chengguan.pk)
    assert sorted(a.pk for _r, a in pairs) == sorted(a.pk for a in city["last_hour"])


def test_a_leader_sees_the_figures_and_follows_one_to_its_appeals(
    city: dict[str, Any], leader: Any, org_tree: Any, client_for: Any
) -> None:
    client = client_for(leader)
    page = client.get("/workbench/audit/accountability/?by=unit")
    assert page.status_code == 200
    html = page.content.decode()
    assert org_tree.chengguan.name in html and org_tree.zhujian.name in html
    today = timezone.localdate()
    query = urlencode(
        {
            "metric": "returns",
            "unit": org_tree.chengguan.pk,
            "since": (today - dt.timedelta(days=30)).isoformat(),
            "until": today.isoformat(),
        }
    )
    assert f"?{query.replace('&', '&amp;')}" in html or "metric=returns" in html
    listing = client.get(f"/workbench/audit/accountability/records/?{query}")
    assert listing.status_code == 200
    assert city["returned"].code in listing.content.decode()
    assert city["extended"].code not in listing.content.decode()


def test_a_leader_of_one_bureau_sees_only_that_bureau(
    city: dict[str, Any], org_tree: Any, client_for: Any
) -> None:
    boss = make_user("zj_leader", "住建局长")
    org_services.grant_role(None, boss, Role.LEADER, org_tree.zhujian)
    html = client_for(boss).get("/workbench/audit/accountability/").content.decode()
    assert org_tree.zhujian.name in html
    assert org_tree.chengguan.name not in html
    listing = client_for(boss).get(
        f"/workbench/audit/accountability/records/?metric=returns&unit={org_tree.chengguan.pk}"
    )
    assert city["returned"].code not in listing.content.decode()


def test_a_handler_cannot_open_the_accountability_views(
    city: dict[str, Any], handler: Any, client_for: Any
) -> None:
    assert client_for(handler).get("/workbench/audit/accountability/").status_code == 403


def test_a_period_ending_before_it_starts_is_refused(auditor: Any, client_for: Any) -> None:
    page = client_for(auditor).get(
        "/workbench/audit/accountability/?since=2026-05-01&until=2026-04-01"
    )
    assert page.status_code == 400
    assert "截止日期不能早于起始日期" in page.content.decode()


@pytest.fixture
def decided_report(org_tree: Any, auditor: Any, handler: Any) -> Any:
    """A misconduct report about the 城管 handler, filed and decided by the city's inspector."""
    from integrity import services as integrity
    from integrity.models import Kind

    report, _secret = integrity.submit(
        None,
        integrity.Submission(
            kind=Kind.CORRUPTION,
            target_unit_id=org_tree.chengguan.pk,
            target_person_id=handler.pk,
            target_name="王城管",
            content="收受摊贩财物",
        ),
    )
    integrity.take_step(auditor, report.pk, "register")
    integrity.take_step(auditor, report.pk, "file", "初核属实")
    integrity.take_step(auditor, report.pk, "decide", "给予警告处分")
    return report


def test_substantiated_reports_are_counted_for_inspectors_and_hidden_from_leaders(
    decided_report: Any, auditor: Any, leader: Any, org_tree: Any, client_for: Any
) -> None:
    html = client_for(auditor).get("/workbench/audit/accountability/?by=unit").content.decode()
    assert "查实的举报" in html
    query = f"metric=substantiated&unit={org_tree.chengguan.pk}"
    listing = client_for(auditor).get(f"/workbench/audit/accountability/records/?{query}")
    assert f"/workbench/integrity/{decided_report.pk}/" in listing.content.decode()
    leader_html = client_for(leader).get("/workbench/audit/accountability/").content.decode()
    assert "查实的举报" not in leader_html
    refused = client_for(leader).get(f"/workbench/audit/accountability/records/?{query}")
    assert refused.status_code == 404
