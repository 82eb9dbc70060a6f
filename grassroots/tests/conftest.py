"""Fixtures: households in the test grid, a second grid nobody gave the cadre, a closed appeal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from appeals import services as appeals
from appeals.models import Appeal
from grassroots.models import Household
from org import services as org
from org.models import Grid


@pytest.fixture(autouse=True)
def _tasks_inline() -> Iterator[None]:
    """Appeal intake queues tasks (duplicate check, SMS); run them in the test's transaction."""
    from minsheng.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def households(org_tree: Any, cadre: Any) -> list[Household]:
    grid = org_tree.grid
    return [
        Household.objects.create(
            grid=grid,
            address=f"3栋{n}01",
            head_name=name,
            head_phone=phone,
            head_id_number=f"11010119800101{n:03d}X",
        )
        for n, (name, phone) in enumerate(
            [("李秀英", "13800138001"), ("王建国", "13800138002"), ("赵大海", "13800138003")],
            start=1,
        )
    ]


@pytest.fixture
def other_grid(org_tree: Any) -> Grid:
    grid, _ = org.upsert_grid(
        None, "test-grid-2", name="东华社区第二网格", community=org_tree.community
    )
    return grid


@pytest.fixture
def stranger_household(other_grid: Grid) -> Household:
    return Household.objects.create(grid=other_grid, address="9栋101", head_name="孙美兰")


@pytest.fixture
def closed_appeal(category_tree: Any, dispatcher: Any, handler: Any, org_tree: Any) -> Appeal:
    appeal, _secret = appeals.do_submit(
        None,
        appeals.Submission(
            text="张三先生反映：东华路12号菜市场门口流动摊贩占道，电话13900139000，车牌京A12345的车常停在人行道。",
            category=category_tree.street_vending,
            address="东华路12号",
            contact_name="张三",
            contact_phone="13900139000",
        ),
    )
    appeals.do_register(appeal, dispatcher)
    appeals.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    appeals.do_sign(appeal, handler)
    appeals.do_handle(appeal, handler)
    appeals.do_reply(
        appeal, handler, text="已联合市场监管所清理摊贩，设置疏导点，并联系张三先生说明。"
    )
    appeals.do_callback(appeal, dispatcher, rating="satisfied")
    appeals.do_close(appeal, dispatcher)
    appeal.refresh_from_db()
    return appeal
