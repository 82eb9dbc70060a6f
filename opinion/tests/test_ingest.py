"""ingest(): validation, idempotency, what the engine decided stored as items, events, alerts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from opinion import ingest as ingest_module
from opinion.engine import Engine
from opinion.engine import Item as EngineItem
from opinion.ingest import ingest
from opinion.models import Alert, EngineState, Event, Item, ResponseTask
from opinion.tests.conftest import T0, post, replies, viral_post


def test_a_resent_batch_changes_nothing(gazetteer: None) -> None:
    first = ingest([viral_post(), post("n1", 5, "柳岸社区夜市噪音太大了，晚上睡不着")])
    version = EngineState.objects.get().version
    second = ingest([viral_post(), post("n1", 5, "柳岸社区夜市噪音太大了，晚上睡不着")])
    assert (first.stored, first.already) == (2, 0)
    assert (second.stored, second.already) == (0, 2)
    assert Item.objects.count() == 2
    assert EngineState.objects.get().version == version


def test_the_same_id_from_two_sources_is_two_items(gazetteer: None) -> None:
    result = ingest([viral_post(), {**viral_post(), "source": "douyin"}])
    assert result.stored == 2
    assert set(Item.objects.values_list("source", flat=True)) == {"weibo", "douyin"}


def test_bad_items_are_refused_with_a_reason_and_the_rest_goes_on(gazetteer: None) -> None:
    result = ingest(
        [
            {"id": "a", "time": "yesterday", "text": "东湖区", "source": "weibo"},
            {"id": "", "time": T0, "text": "东湖区", "source": "weibo"},
            {"id": "b", "time": T0, "text": "", "source": "weibo"},
            {"id": "c", "time": T0, "text": "东湖区", "source": ""},
            {"id": "d", "time": T0, "text": "东湖区", "source": "weibo", "reach": -3},
            {"id": "e", "time": T0, "text": "东湖区", "source": "weibo", "url": "javascript:x"},
            "not an object",  # type: ignore[list-item]  # a caller may send anything
            viral_post(),
        ]
    )
    reasons = {r.index: r.reason for r in result.rejected}
    assert "time cannot be read" in reasons[0]
    assert reasons[1] == "id is missing"
    assert reasons[2] == "text is empty"
    assert reasons[3] == "source is missing"
    assert "reach" in reasons[4]
    assert "url" in reasons[5]
    assert reasons[6] == "an item must be an object"
    assert result.stored == 1


def test_a_time_without_a_zone_is_beijing_time(gazetteer: None) -> None:
    ingest([{"id": "z", "time": "2025-10-14 08:00:00", "text": "东湖区停车难", "source": "bbs"}])
    assert Item.objects.get().time == T0


def test_a_post_outside_the_jurisdiction_gets_no_event(gazetteer: None) -> None:
    ingest([viral_post(), post("x", 3, "今天的晚霞真好看，随手拍一张")])
    outside = Item.objects.get(external_id="x")
    assert outside.relevant is False and outside.event is None
    ours = Item.objects.get(external_id="w1")
    assert ours.relevant and ours.event is not None
    assert ours.matched_terms  # what made it ours is kept for the analyst


def test_events_and_alerts_are_stored_as_the_engine_decided(
    alerted: ingest_module.IngestResult,
) -> None:
    # The same stream through a bare engine with the same gazetteer gives the same answer.
    engine = Engine(gazetteer=ingest_module.build_gazetteer(), rules=ingest_module.build_rules())
    for batch in ([viral_post()], replies()):
        engine.process(
            [
                EngineItem(
                    id=f"weibo:{p['id']}",
                    time=p["time"],
                    text=p["text"],
                    parent_id=f"weibo:{p['parent_id']}" if p.get("parent_id") else None,
                    reach=p.get("reach", 0),
                )
                for p in batch
            ]
        )
    [expected] = engine.alerts()
    [summary] = engine.events()
    event = Event.objects.get()
    assert event.size == summary.size == 41
    assert event.items.count() == 41
    assert event.key_terms == summary.key_terms
    assert event.sensitive_terms == ["打人"]
    assert event.grade == expected.grade
    alert = Alert.objects.get()
    assert (alert.grade, alert.reason, alert.raised_at) == (
        expected.grade,
        expected.reason,
        expected.time,
    )
    assert alert.item is not None and alert.item.engine_id == expected.item_id
    assert alerted.alerts == [alert.pk]
    assert ResponseTask.objects.get().alert == alert


def test_a_restarted_process_resumes_the_engine_from_the_stored_state(
    gazetteer: None, analyst: Any, run_ingest: Callable[..., Any]
) -> None:
    run_ingest([viral_post()], now=T0)
    ingest_module.forget_engine()  # as after a restart: only the database remembers
    run_ingest(replies(40), now=T0 + dt.timedelta(minutes=41))
    # The replies know their parent only through the restored state; they join its event
    # and their burst is counted from it.
    assert Event.objects.count() == 1
    assert Event.objects.get().size == 41
    assert Alert.objects.count() == 1


def test_another_process_that_ingested_in_between_is_not_ignored(
    gazetteer: None, analyst: Any, run_ingest: Callable[..., Any]
) -> None:
    run_ingest([viral_post()], now=T0)
    stale = ingest_module._runtime
    run_ingest(replies(20), now=T0 + dt.timedelta(minutes=21))
    # This process's engine is replaced by an older one, as if another process had done the
    # second ingest: the version on the row makes it reload.
    ingest_module._runtime = stale
    assert stale is not None
    stale.version -= 1
    run_ingest(replies(20, start=21, prefix="s"), now=T0 + dt.timedelta(minutes=42))
    assert Event.objects.get().size == 41


def test_an_edited_gazetteer_applies_to_the_next_batch(
    gazetteer: None, analyst: Any, run_ingest: Callable[..., Any]
) -> None:
    from opinion.models import GazetteerTerm

    run_ingest([post("a", 0, "西山区红枫社区停水二十个小时了")])
    assert Item.objects.get(external_id="a").relevant is False
    GazetteerTerm.objects.create(kind="place", term="红枫社区")
    run_ingest([post("b", 5, "红枫社区停水还没恢复，没有任何通知")])
    assert Item.objects.get(external_id="b").relevant is True


def test_a_failed_ingest_leaves_no_trace_and_the_engine_reloads(
    gazetteer: None, monkeypatch: Any
) -> None:
    ingest([viral_post()])

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_module, "_save_state", boom)
    with pytest.raises(RuntimeError):
        ingest(replies(5))
    assert Item.objects.count() == 1
    assert ingest_module._runtime is None
    monkeypatch.undo()
    result = ingest(replies(5))
    assert result.stored == 5
    assert Event.objects.get().size == 6
