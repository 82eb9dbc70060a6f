"""A page and its capped count come out the same whichever way they are computed: ids first and
rows after, the count in the page's pass (``count(*) OVER ()``), a separate capped count, or no
count when the planner expects far more than the cap (PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from appeals.models import Appeal
from search.appeals import page_of, search

LAMP = "小区东门路灯坏了一个月，晚上停车看不见。"


@pytest.mark.parametrize(
    ("margin", "cap", "expected_total"),
    [(3, 10_000, (5, True)), (3, 3, (3, False))],
    ids=["counted", "capped"],
)
def test_every_page_of_a_keyword_search_holds_the_same_appeals_as_the_plain_query(
    submit: Any,
    dispatcher: Any,
    margin: int,
    cap: int,
    expected_total: tuple[int, bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("search.appeals.ESTIMATE_MARGIN", margin)
    monkeypatch.setattr("search.appeals.COUNT_LIMIT", cap)
    made = [submit(text=LAMP)[0].pk for _ in range(5)]
    submit(text="楼下烧烤店每晚噪音扰民到凌晨两点。")
    newest_first = sorted(made, reverse=True)
    seen: list[int] = []
    for number in (1, 2, 3):
        page = search(dispatcher, q="路灯", page=number, per_page=2)
        seen += [a.pk for a in page]
        # A capped total never says less than the appeals already paged through.
        shown = max(expected_total[0], page.start_index + len(page) - 1)
        assert (page.total, page.total_exact) == (shown, expected_total[1])
    assert seen == newest_first
    beyond = search(dispatcher, q="路灯", page=4, per_page=2)
    assert (len(beyond), beyond.total_exact) == (0, expected_total[1])


def test_a_set_the_planner_expects_to_be_far_over_the_cap_is_not_counted(
    submit: Any, dispatcher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A margin of 0 makes every estimate "far over" on PostgreSQL; SQLite always counts.
    monkeypatch.setattr("search.appeals.ESTIMATE_MARGIN", 0)
    made = [submit(text=LAMP)[0].pk for _ in range(3)]
    items, total, exact = page_of(
        Appeal.objects.visible_to(dispatcher).order_by("-created", "-pk"), 0, 2
    )
    assert [a.pk for a in items] == sorted(made, reverse=True)[:2]
    if connection.vendor == "postgresql":
        assert (total, exact) == (10_000, False)
    else:
        assert (total, exact) == (3, True)


def test_page_rows_come_with_the_related_rows_asked_for(submit: Any, dispatcher: Any) -> None:
    submit(text=LAMP)
    items, _total, _exact = page_of(
        Appeal.objects.visible_to(dispatcher).order_by("-created", "-pk"),
        0,
        5,
        related=("category",),
    )
    assert items and all("category" in a._state.fields_cache for a in items)
