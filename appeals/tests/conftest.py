"""Fixtures for the appeal loop: a submitted appeal in 占道经营 and helpers to walk it along."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from accounts.sms import FileBackend
from appeals import services
from appeals.models import Appeal
from org.calendar import CALENDAR_TZ

# The day before the 2025 National Day holiday (1–8 October; 28 September and 11 October are
# make-up working days): every deadline here has to jump the holiday.
BEFORE_HOLIDAY = dt.datetime(2025, 9, 30, 16, 0, tzinfo=CALENDAR_TZ)
CITIZEN_PHONE = "13900139000"


def at(day: int, hour: int, minute: int = 0, month: int = 10) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=CALENDAR_TZ)


@pytest.fixture(autouse=True)
def _tasks_inline() -> Iterator[None]:
    """Run the real tasks in the test's process and transaction, with or without a broker.

    With Redis configured (the PostgreSQL run) nothing consumes the queue during a test, and a
    worker thread could not see the test's uncommitted rows; the broker round trip itself is
    covered by tests/test_services_real.py.
    """
    from minsheng.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def submit(category_tree: Any) -> Callable[..., tuple[Appeal, str]]:
    def make(actor: Any = None, **fields: Any) -> tuple[Appeal, str]:
        values: dict[str, Any] = {
            "text": "东华路菜市场门口长期有流动摊贩占道经营，早高峰堵塞人行道。",
            "category": category_tree.street_vending,
            "address": "东华路 12 号菜市场门口",
            "contact_name": "张先生",
            "contact_phone": CITIZEN_PHONE,
        }
        values.update(fields)
        return services.do_submit(actor, services.Submission(**values))

    return make


@pytest.fixture
def appeal(submit: Callable[..., tuple[Appeal, str]]) -> Appeal:
    return submit()[0]


@pytest.fixture
def dispatched(appeal: Appeal, dispatcher: Any, org_tree: Any) -> Appeal:
    services.do_register(appeal, dispatcher)
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    return appeal


@pytest.fixture
def replied(dispatched: Appeal, handler: Any) -> Appeal:
    services.do_sign(dispatched, handler)
    services.do_handle(dispatched, handler)
    services.do_reply(dispatched, handler, text="已联合市场监管所清理摊贩，并设置限时疏导点。")
    return dispatched


@pytest.fixture
def outbox() -> Callable[[str], list[str]]:
    """The texts sent to a number through the test SMS backend (console + file)."""

    def read(phone: str) -> list[str]:
        return [m["message"] for m in FileBackend().messages() if m["phone"] == phone]

    return read
