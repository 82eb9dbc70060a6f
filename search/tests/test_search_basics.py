"""Keywords find appeals through the index; filters and visibility narrow them; the index follows
intake and edits; hostile queries answer safely."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from appeals import services
from appeals.models import Appeal, State
from minsheng.errors import ServiceError
from org.calendar import CALENDAR_TZ
from search.appeals import filter_appeals, search
from search.models import AppealIndex
from search.text import parse_query

NOISE = "楼下烧烤店每晚噪音扰民到凌晨两点，油烟也很大。"
LAMP = "小区东门路灯坏了一个月，晚上停车看不见。"
SALARY = "工地老板拖欠农民工工资三个月，多次讨要未果。"


def _ids(page: Any) -> list[int]:
    return [a.pk for a in page]


def test_a_two_character_word_finds_the_appeal_that_contains_it(
    submit: Any, dispatcher: Any
) -> None:
    noisy, _ = submit(text=NOISE, title="烧烤店噪音")
    submit(text=LAMP, title="路灯不亮")
    submit(text=SALARY, title="讨薪")
    assert _ids(search(dispatcher, q="噪音")) == [noisy.pk]
    assert _ids(search(dispatcher, q="停车")) != []
    assert search(dispatcher, q="停车").items[0].title == "路灯不亮"


def test_a_word_the_segmenter_would_split_differently_is_still_found_by_its_bigrams(
    submit: Any, dispatcher: Any
) -> None:
    # jieba cuts 烧烤店每晚 into 烧烤店 / 每晚; 店每 is no word, yet a staff member may type it.
    noisy, _ = submit(text=NOISE)
    submit(text=LAMP)
    assert _ids(search(dispatcher, q="店每晚")) == [noisy.pk]
    assert _ids(search(dispatcher, q="凌晨两点")) == [noisy.pk]


def test_every_word_of_the_query_must_occur_and_order_is_newest_first(
    submit: Any, dispatcher: Any
) -> None:
    older, _ = submit(text="小区门口路灯不亮。")
    newer, _ = submit(text="路灯坏了，小区里很黑。")
    submit(text="路灯杆倒在路边。")
    Appeal.objects.filter(pk=older.pk).update(created=dt.datetime(2025, 1, 1, tzinfo=CALENDAR_TZ))
    assert _ids(search(dispatcher, q="小区 路灯")) == [newer.pk, older.pk]
    assert _ids(search(dispatcher, q="小区路灯")) == [newer.pk, older.pk]
    assert search(dispatcher, q="路灯").total == 3


def test_a_phrase_does_not_match_across_punctuation(submit: Any, dispatcher: Any) -> None:
    # 公积，积金: the bigrams 公积 and 积金 are both there, in order, but 公积金 is not in the text.
    submit(text="我每月缴纳公积，积金不够用。")
    joined, _ = submit(text="公积金贷款额度太低。")
    assert parse_query("公积金").words == ("公积金",)  # type: ignore[union-attr]
    assert _ids(search(dispatcher, q="公积金")) == [joined.pk]


def test_latin_letters_and_digits_are_found_case_insensitively(
    submit: Any, dispatcher: Any
) -> None:
    found, _ = submit(text="A3区WiFi信号差，3号楼尤其严重。")
    assert _ids(search(dispatcher, q="wifi")) == [found.pk]
    assert _ids(search(dispatcher, q="Ａ３区")) == [found.pk]  # full-width letters fold


def test_one_character_queries_are_refused_with_a_clear_message(dispatcher: Any) -> None:
    with pytest.raises(ServiceError) as refused:
        search(dispatcher, q="水")
    assert refused.value.status == 422
    assert "两个字" in str(refused.value.message)


def test_a_blank_query_lists_everything_visible(submit: Any, dispatcher: Any) -> None:
    submit(text=NOISE)
    submit(text=LAMP)
    assert search(dispatcher, q="   ").total == 2
    assert search(dispatcher).total == 2


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        "'",
        '噪音" OR "1"="1',
        "噪音' | '路灯",
        "噪音 NEAR(路灯 停车)",
        "噪音 AND NOT 路灯",
        "terms: 噪音*",
        "^噪音 -路灯 +停车 (x) {y} [z]",
        "\\' \\\\ ; -- /* */ %_",
        "噪音\x00路灯",
        "!&|<->:*",
    ],
)
def test_hostile_queries_never_reach_the_match_syntax(
    submit: Any, dispatcher: Any, hostile: str
) -> None:
    submit(text=NOISE)
    try:
        page = search(dispatcher, q=hostile)
    except ServiceError as refused:  # nothing searchable in it: a 422, never a database error
        assert refused.status == 422
    else:
        assert page.total in (0, 1)


def test_a_very_long_query_is_refused_and_many_words_are_capped(dispatcher: Any) -> None:
    with pytest.raises(ServiceError) as refused:
        search(dispatcher, q="噪音" * 150)
    assert refused.value.status == 422
    with pytest.raises(ServiceError):
        search(dispatcher, q=" ".join(f"词{i}组" for i in range(30)))


def test_queries_render_only_quoted_word_terms() -> None:
    parsed = parse_query("噪音\" OR x:y* NEAR(a) '路灯'")
    assert parsed is not None
    for phrase in parsed.phrases:
        for term in phrase:
            assert term.isalnum(), term
    assert parsed.fts5().count('"') == 2 * len(parsed.phrases)


# --- filters -----------------------------------------------------------------------------------
def test_each_filter_narrows_the_results(
    submit: Any, dispatcher: Any, category_tree: Any, org_tree: Any
) -> None:
    vending, _ = submit(
        text="菜市场门口占道经营，噪音很大。", category=category_tree.street_vending
    )
    housing, _ = submit(text="物业夜间施工噪音扰民。", category=category_tree.property_management)
    services.do_register(vending, dispatcher)
    services.do_dispatch(vending, org_tree.chengguan, dispatcher)
    Appeal.objects.filter(pk=housing.pk).update(
        grid=org_tree.grid, created=dt.datetime(2025, 3, 1, 10, tzinfo=CALENDAR_TZ)
    )

    def found(**filters: Any) -> list[int]:
        return _ids(search(dispatcher, q="噪音", **filters))

    assert sorted(found()) == sorted([vending.pk, housing.pk])
    assert found(state=State.DISPATCHED) == [vending.pk]
    assert found(state=[State.RECEIVED, State.REGISTERED]) == [housing.pk]
    assert found(unit=org_tree.city.code) == [vending.pk]  # the units below the city count
    assert found(unit=org_tree.zhujian.code) == []
    assert found(category=category_tree.city_management.code) == [vending.pk]  # sub-categories
    assert found(category=category_tree.property_management.code) == [housing.pk]
    assert found(grid=org_tree.grid.code) == [housing.pk]
    assert found(date_from="2025-03-01", date_to="2025-03-01") == [housing.pk]
    assert found(date_to=dt.date(2025, 2, 28)) == []


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"unit": "no-such-unit"}, "unit"),
        ({"category": "no-such-category"}, "category"),
        ({"grid": "no-such-grid"}, "grid"),
        ({"state": "lost"}, "state"),
        ({"date_from": "2025-13-01"}, "date_from"),
        ({"date_from": "2025-03-02", "date_to": "2025-03-01"}, "date_to"),
        ({"page": 0}, "page"),
        ({"per_page": 1000}, "per_page"),
    ],
)
def test_unknown_codes_and_bad_dates_are_a_422_naming_the_field(
    dispatcher: Any, category_tree: Any, filters: dict[str, Any], field: str
) -> None:
    with pytest.raises(ServiceError) as refused:
        search(dispatcher, **filters)
    assert refused.value.status == 422
    assert refused.value.detail[0]["field"] == field


def test_a_handler_never_finds_another_units_orders(
    submit: Any, dispatcher: Any, handler: Any, other_handler: Any, org_tree: Any
) -> None:
    mine, _ = submit(text=NOISE)
    theirs, _ = submit(text="小区物业噪音扰民。")
    services.do_register(mine, dispatcher)
    services.do_dispatch(mine, org_tree.chengguan, dispatcher)
    services.do_register(theirs, dispatcher)
    services.do_dispatch(theirs, org_tree.zhujian, dispatcher)
    assert _ids(search(handler, q="噪音")) == [mine.pk]
    assert _ids(search(other_handler, q="噪音")) == [theirs.pk]
    assert _ids(search(handler, q="噪音", unit=org_tree.zhujian.code)) == []
    assert search(None, q="噪音").total == 0


def test_pages_split_the_results_and_say_whether_more_follow(submit: Any, dispatcher: Any) -> None:
    for _ in range(5):
        submit(text=LAMP)
    first = search(dispatcher, q="路灯", per_page=2)
    last = search(dispatcher, q="路灯", page=3, per_page=2)
    assert (first.total, first.num_pages, first.has_next, first.has_previous) == (5, 3, True, False)
    assert (len(last), last.has_next, last.has_previous, last.start_index) == (1, False, True, 5)
    assert first.words == ("路灯",)


# --- keeping the index current -----------------------------------------------------------------
def test_intake_indexes_the_appeal_in_the_same_transaction(submit: Any) -> None:
    appeal, _ = submit(text=SALARY, title="讨薪")
    assert AppealIndex.objects.filter(appeal=appeal).exists()
    assert _ids(filter_appeals(Appeal.objects.all(), "拖欠 工资")) == [appeal.pk]


def test_an_edit_of_the_text_reindexes_and_a_state_change_does_not(
    submit: Any, dispatcher: Any
) -> None:
    appeal, _ = submit(text=NOISE, title="夜间扰民")
    indexed = AppealIndex.objects.get(appeal=appeal).indexed_at
    appeal.state = State.REGISTERED
    appeal.save(update_fields=["state"])
    assert AppealIndex.objects.get(appeal=appeal).indexed_at == indexed
    appeal.text = LAMP
    appeal.save(update_fields=["text"])
    assert _ids(search(dispatcher, q="噪音")) == []
    assert _ids(search(dispatcher, q="路灯")) == [appeal.pk]
    appeal.title = "夜市噪声"
    appeal.save()
    assert _ids(search(dispatcher, q="噪声")) == [appeal.pk]


def test_a_deleted_appeal_leaves_no_terms_behind(submit: Any, dispatcher: Any) -> None:
    appeal, _ = submit(text=NOISE)
    pk = appeal.pk
    appeal.events.all().delete()
    Appeal.objects.filter(pk=pk).delete()
    assert not AppealIndex.objects.filter(appeal_id=pk).exists()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM search_appealfts WHERE rowid = %s", [pk])
            assert cursor.fetchone()[0] == 0


def test_the_reindex_command_indexes_appeals_written_without_signals(
    submit: Any, dispatcher: Any
) -> None:
    template, _ = submit(text=LAMP)
    copies = [
        Appeal(
            code=f"MS-IMPORT-{i}",
            title=f"导入{i}",
            text="历史工单：垃圾站异味扰民。",
            channel="import",
            intake_unit=template.intake_unit,
        )
        for i in range(5)
    ]
    Appeal.objects.bulk_create(copies)  # bulk_create sends no post_save
    assert search(dispatcher, q="异味").total == 0
    out = StringIO()
    call_command("search", "reindex", "--missing", "--batch", "2", "--no-progress", stdout=out)
    assert "indexed 5 appeals" in out.getvalue()
    assert search(dispatcher, q="异味").total == 5
    out = StringIO()
    call_command("search", "reindex", "--no-progress", stdout=out)
    assert "indexed 6 appeals" in out.getvalue()
    assert search(dispatcher, q="异味").total == 5 and search(dispatcher, q="路灯").total == 1


@pytest.mark.django_db
def test_a_very_long_run_of_digits_is_indexed_by_its_start_and_still_found(
    dispatcher: Any, org_tree: Any
) -> None:
    appeal, _secret = services.do_submit(None, services.Submission(text="7" * 4999))
    found = search(dispatcher, q="7" * 80)
    assert appeal.pk in [a.pk for a in found.items]


@pytest.mark.parametrize("fence_limit", [0, 10_000], ids=["walked", "read-first"])
def test_a_keyword_set_read_first_or_tested_row_by_row_gives_the_same_page(
    submit: Any,
    dispatcher: Any,
    handler: Any,
    org_tree: Any,
    fence_limit: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # PostgreSQL joins a small keyword set read from the index first, and lets a large one be
    # tested appeal by appeal; both shapes must answer alike (SQLite has one shape).
    monkeypatch.setattr("search.appeals.FENCE_LIMIT", fence_limit)
    noisy, _ = submit(text=NOISE)
    lamp, _ = submit(text=LAMP)
    late, _ = submit(text="广场舞噪音每晚到十点。")
    services.do_register(late, dispatcher)
    services.do_dispatch(late, org_tree.chengguan, dispatcher)
    assert _ids(search(dispatcher, q="噪音")) == [late.pk, noisy.pk]
    assert _ids(search(dispatcher, q="噪音扰民")) == [noisy.pk]
    assert _ids(search(dispatcher, q="噪音", state="received")) == [noisy.pk]
    assert _ids(search(handler, q="噪音")) == [late.pk]
    assert _ids(search(dispatcher, q="路灯 停车")) == [lamp.pk]
    assert search(dispatcher, q="公积金").total == 0
