"""A hand-built set of appeals walked through the real services at fixed Beijing times.

November 2025 (3 November is a Monday; no holiday in the week). The street-vending rule gives
two working hours to sign for an order. Expected figures are worked out by hand in the tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from appeals import services
from appeals.clock import sweep
from appeals.models import Appeal
from appeals.tests.conftest import _tasks_inline, submit  # noqa: F401  (fixtures reused here)
from org import services as org_services
from org.calendar import CALENDAR_TZ
from org.roles import Role
from tests.personas import make_user

PHONE = "13900139000"
NAME = "张先生"
ADDRESS = "东华路 12 号菜市场门口"


def nov(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 11, day, hour, minute, tzinfo=CALENDAR_TZ)


@dataclass
class Scenario:
    a: Appeal  # signed on time, replied, 满意, closed
    b: Appeal  # signed late, 不满意 → reopened, second reply 基本满意, closed
    c: Appeal  # wrong unit returned it; redispatched, never signed, flagged sign-overdue
    d: Appeal  # dispatched, still within its sign-for time
    e: Appeal  # dispatched, withdrawn by the citizen before the sign-for deadline
    f: Appeal  # 不予受理
    g: Appeal  # merged into a, follows its reply, 满意
    i: Appeal  # dispatched to a street (below the district), waiting
    p: Appeal  # 物业管理 → 住建局, signed on time, replied, 不满意, reopened, not replied again
    street_handler: Any


@pytest.fixture
def scenario(
    submit: Any,  # noqa: F811
    dispatcher: Any,
    handler: Any,
    other_handler: Any,
    org_tree: Any,
    category_tree: Any,
) -> Scenario:
    street_handler = make_user("street_handler", "街道承办")
    org_services.grant_role(None, street_handler, Role.HANDLER, org_tree.street)

    def new(hour: int = 9, minute: int = 0, **fields: Any) -> tuple[Appeal, str]:
        values: dict[str, Any] = {
            "contact_name": NAME,
            "contact_phone": PHONE,
            "address": ADDRESS,
        }
        values.update(fields)
        appeal, secret = services.do_submit(
            None, services.Submission(**_with_text(values)), now=nov(3, hour, minute)
        )
        return appeal, secret

    def dispatch(appeal: Appeal, unit: Any, at: dt.datetime) -> None:
        if appeal.state == "received":
            services.do_register(appeal, dispatcher, now=at)
        services.do_dispatch(appeal, unit, dispatcher, now=at)

    def reply(appeal: Appeal, who: Any, at: dt.datetime, text: str = "已处理。") -> None:
        if appeal.state == "signed":
            services.do_handle(appeal, who, now=at)
        services.do_reply(appeal, who, text=text, now=at)

    cg, zj = org_tree.chengguan, org_tree.zhujian
    a, _ = new(category=category_tree.street_vending)
    b, _ = new(category=category_tree.street_vending)
    c, _ = new(category=category_tree.street_vending)
    d, _ = new(category=category_tree.street_vending)
    e, e_secret = new(category=category_tree.street_vending)
    f, _ = new(category=category_tree.street_vending)
    g, g_secret = new(category=category_tree.street_vending)
    i, _ = new(hour=15, category=category_tree.street_vending)
    p, p_secret = new(category=category_tree.property_management)
    Appeal.objects.filter(pk__in=[a.pk, b.pk]).update(grid=org_tree.grid)

    dispatch(a, cg, nov(3, 9, 10))
    services.do_sign(a, handler, now=nov(3, 9, 30))
    dispatch(b, cg, nov(3, 9, 10))
    services.do_sign(b, handler, now=nov(3, 14, 0))  # due 11:10
    dispatch(c, zj, nov(3, 9, 10))
    services.do_return(c, other_handler, reason="不属于本单位职责", now=nov(3, 9, 20))
    dispatch(c, cg, nov(3, 9, 30))
    dispatch(e, cg, nov(3, 9, 10))
    services.do_withdraw(e, None, secret=e_secret, now=nov(3, 10, 0))
    services.do_reject(
        f, dispatcher, reason="不属于受理范围", legal_basis="第十条", now=nov(3, 9, 5)
    )
    services.do_register(g, dispatcher, now=nov(3, 9, 6))
    services.do_merge(g, a, dispatcher, now=nov(3, 9, 7))
    dispatch(i, org_tree.street, nov(3, 15, 30))
    dispatch(p, zj, nov(3, 9, 10))
    services.do_sign(p, other_handler, now=nov(3, 10, 0))
    sweep(nov(3, 16, 0))  # c: signed for by 11:30 → overdue

    dispatch(d, cg, nov(4, 9, 0))
    reply(a, handler, nov(4, 10, 0))  # g receives a copy
    services.do_callback(a, dispatcher, rating="satisfied", now=nov(4, 15, 0))
    g.refresh_from_db()
    services.do_callback(g, None, rating="satisfied", secret=g_secret, now=nov(4, 16, 0))
    reply(p, other_handler, nov(4, 10, 0))
    services.do_callback(
        p, None, rating="unsatisfied", comment="物业仍未维修", secret=p_secret, now=nov(5, 9, 0)
    )
    services.do_close(a, dispatcher, now=nov(5, 10, 0))
    reply(b, handler, nov(5, 10, 0))
    services.do_callback(
        b, dispatcher, rating="unsatisfied", comment="摊贩又回来了", now=nov(5, 11, 0)
    )
    reply(b, handler, nov(6, 10, 0), text="已安排每日巡查。")
    services.do_callback(b, dispatcher, rating="basically_satisfied", now=nov(6, 11, 0))
    services.do_close(b, dispatcher, now=nov(6, 12, 0))
    return Scenario(a, b, c, d, e, f, g, i, p, street_handler)


def _with_text(values: dict[str, Any]) -> dict[str, Any]:
    values.setdefault("text", f"东华路菜市场门口有流动摊贩占道经营，{values.get('category')}。")
    return values
