"""Online clustering: joining, starting, merging, closing; parent_id joining."""

from __future__ import annotations

from opinion.engine import Engine, EngineOptions

from .helpers import item

FLOOD = "江岸区暴雨后积水严重，车辆无法通行"
FIRE = "汉口火车站附近仓库起火，浓烟滚滚"


def quiet(**kw: float) -> EngineOptions:
    # Text alone decides: no activity prior.
    return EngineOptions(activity_weight=0.0, **kw)  # type: ignore[arg-type]


def test_an_item_like_an_open_event_joins_it() -> None:
    engine = Engine(options=quiet())
    out = engine.process(
        [item("a", 0, FLOOD), item("b", 5, "江岸区积水严重，车辆无法通行，市民出行困难")]
    )
    assert out[0].event_id is not None
    assert out[1].event_id == out[0].event_id
    assert engine.events()[0].item_ids == ["a", "b"]


def test_an_item_unlike_every_open_event_starts_a_new_one() -> None:
    engine = Engine(options=quiet())
    out = engine.process([item("a", 0, FLOOD), item("b", 5, FIRE)])
    assert out[0].event_id != out[1].event_id
    assert len(engine.events()) == 2


def test_events_that_converge_merge_into_the_larger() -> None:
    # Without deduplication, so that the bridging posts all count in the centroid.
    engine = Engine(options=quiet(join_threshold=0.45, merge_threshold=0.6, dedupe_min_chars=999))
    items = [item("a", 0, FLOOD), item("b", 1, FIRE)]
    # Posts about both matters pull the two centroids towards each other.
    items += [item(f"m{i}", 2 + i, f"{FLOOD}；{FIRE}（{i}）") for i in range(12)]
    engine.process(items)
    merged = [e for e in engine.events(include_merged=True) if e.merged_into]
    assert merged, "the two events should have merged"
    both = engine.event_of("a")
    assert both is not None and engine.event_of("b") == both
    summary = engine.event(both)
    assert summary is not None and {"a", "b"} <= set(summary.item_ids)
    assert merged[0].merged_into == both


def test_a_quiet_event_closes_and_a_later_similar_item_starts_a_new_event() -> None:
    engine = Engine(options=quiet(close_after_hours=2))
    engine.process([item("a", 0, FLOOD)])
    out = engine.process([item("b", 60 * 5, FLOOD + "！")])
    events = {e.id: e for e in engine.events()}
    assert out[0].event_id != engine.event_of("a")
    assert events[engine.event_of("a") or ""].open is False
    assert events[out[0].event_id or ""].open is True


def test_an_event_still_within_the_gap_stays_open() -> None:
    engine = Engine(options=quiet(close_after_hours=2))
    engine.process([item("a", 0, FLOOD)])
    out = engine.process([item("b", 100, FLOOD + "！")])
    assert out[0].event_id == engine.event_of("a")


def test_a_repost_naming_its_parent_joins_the_parents_event_whatever_it_says() -> None:
    engine = Engine(options=quiet())
    engine.process([item("a", 0, FLOOD), item("b", 1, FIRE)])
    out = engine.process(
        [
            item("r1", 2, "哈哈哈哈太搞笑了", parent_id="a"),
            item("r2", 3, "", parent_id="r1"),  # a plain repost of the repost
            item("r3", 4, FIRE, parent_id="a"),  # about the fire, but a repost of the flood
        ]
    )
    flood = engine.event_of("a")
    assert [o.event_id for o in out] == [flood, flood, flood]


def test_a_reply_to_an_item_of_a_closed_event_reopens_it() -> None:
    engine = Engine(options=quiet(close_after_hours=1))
    engine.process([item("a", 0, FLOOD), item("x", 300, FIRE)])
    flood = engine.event_of("a")
    assert not next(e for e in engine.events() if e.id == flood).open
    out = engine.process([item("r", 301, "还没解决吗", parent_id="a")])
    assert out[0].event_id == flood
    assert next(e for e in engine.events() if e.id == flood).open


def test_an_item_without_text_or_known_parent_gets_no_event() -> None:
    engine = Engine(options=quiet())
    out = engine.process([item("a", 0, "转发微博"), item("b", 1, "", parent_id="unknown")])
    assert [o.event_id for o in out] == [None, None]
    assert all(o.relevant for o in out)


def test_a_near_copy_is_marked_duplicate_and_joins_its_originals_event() -> None:
    engine = Engine(options=quiet())
    long = "江岸区某小区电梯多次困人，物业迟迟不修，业主投诉无门，希望有关部门尽快处理"
    out = engine.process([item("a", 0, long), item("b", 3, FIRE), item("c", 5, long + "！！")])
    assert out[2].duplicate_of == "a"
    assert out[2].event_id == out[0].event_id


def test_short_stock_phrases_are_not_deduplicated_across_events() -> None:
    engine = Engine(options=quiet())
    out = engine.process([item("a", 0, "求真相，求真相"), item("b", 600, "求真相，求真相")])
    assert out[1].duplicate_of is None


def test_the_activity_prior_puts_a_short_comment_into_the_only_active_event() -> None:
    engine = Engine(options=EngineOptions(activity_weight=0.5, join_threshold=0.2))
    items = [item("a", 0, FLOOD)] + [item(f"c{i}", 1 + i, f"{FLOOD}{i}") for i in range(5)]
    items.append(item("z", 10, "这也太离谱了吧，真的假的"))
    out = engine.process(items)
    assert out[-1].event_id == out[0].event_id


def test_a_long_post_unlike_the_active_event_starts_its_own_despite_the_prior() -> None:
    engine = Engine(options=EngineOptions(activity_weight=0.5, join_threshold=0.2))
    items = [item("a", 0, FLOOD)] + [item(f"c{i}", 1 + i, f"{FLOOD}{i}") for i in range(5)]
    items.append(
        item(
            "n",
            10,
            "市第一医院今天上午发布通知，下周起门诊挂号全部改为线上预约，现场不再放号，"
            "老年人可以由家属代为预约，也可以到服务台请志愿者帮忙，急诊不受影响，"
            "具体安排请关注医院公众号",
        )
    )
    out = engine.process(items)
    assert out[-1].event_id != out[0].event_id


def test_candidate_lookup_touches_few_events_among_thousands_open() -> None:
    engine = Engine(options=quiet())
    # 3,000 open events, each on its own made-up vocabulary.
    base = [chr(0x4E00 + i) for i in range(6000)]
    engine.process(
        [item(f"e{i}", i * 0.01, "".join(base[2 * i : 2 * i + 2]) * 3) for i in range(3000)]
    )
    # (a few made-up pairs fold together under traditional → simplified)
    assert len([e for e in engine.events() if e.open]) > 2900
    touched: list[int] = []
    real = engine._best_event

    def counting(
        vec: dict[str, float], t: float, own_chars: int, *, prior: bool = True
    ) -> tuple[int | None, float]:
        touched.append(sum(len(engine._postings.get(term, {})) for term in vec))
        return real(vec, t, own_chars, prior=prior)

    engine._best_event = counting  # type: ignore[method-assign]
    out = engine.process([item("q", 31, (base[10] + base[11]) * 2 + "吗")])
    assert out[0].event_id == engine.event_of("e5")
    assert touched and touched[0] <= 5
