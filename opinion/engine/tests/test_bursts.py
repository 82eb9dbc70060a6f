"""Burst detection on synthetic streams, per event and per keyword."""

from __future__ import annotations

import math

import pytest
from scipy.stats import poisson

from opinion.engine import BurstRule, Engine, EngineOptions, Rules
from opinion.engine.burst import RateSeries, poisson_tail

from .helpers import item

RULE = BurstRule(
    window_minutes=60, min_items=20, p_value=1e-3, prior_per_hour=2, baseline_halflife_hours=6
)


@pytest.mark.parametrize(("count", "mean"), [(1, 0.5), (5, 2.0), (20, 2.0), (45, 40.0), (3, 9.0)])
def test_poisson_tail_is_the_probability_of_at_least_count(count: int, mean: float) -> None:
    assert math.isclose(poisson_tail(count, mean), poisson.sf(count - 1, mean), rel_tol=1e-9)


def feed(series: RateSeries, times_min: list[float]) -> list[bool]:
    return [series.add(t * 60.0, RULE).burst for t in times_min]


def test_a_steady_trickle_never_bursts() -> None:
    # One item every 10 minutes for two days: 6 an hour, never 20 in a window.
    assert not any(feed(RateSeries(), [10.0 * i for i in range(288)]))


def test_a_known_burst_is_detected_when_its_window_fills() -> None:
    quiet = [30.0 * i for i in range(48)]  # one item every 30 min for a day
    burst_start = 48 * 30.0
    burst = [burst_start + i for i in range(40)]  # 40 items in 40 minutes
    flags = feed(RateSeries(), quiet + burst)
    assert not any(flags[: len(quiet)])
    first = flags.index(True)
    # The 20th item of the burst is the first time the window holds 20 (plus the quiet ones).
    assert len(quiet) <= first < len(quiet) + 20


def test_a_series_used_to_a_high_rate_does_not_burst_at_that_rate() -> None:
    steady = [1.5 * i for i in range(40 * 24)]  # 40 an hour for a day
    flags = feed(RateSeries(), steady)
    assert any(flags[:60]), "the first hour is a burst against the prior"
    assert not any(flags[-200:]), "after a day the baseline has caught up"


def test_a_doubled_rate_against_a_high_baseline_is_a_burst() -> None:
    steady = [1.5 * i for i in range(40 * 24)]
    end = steady[-1]
    surge = [end + 0.5 * (i + 1) for i in range(120)]  # 120 an hour
    flags = feed(RateSeries(), steady + surge)
    assert any(flags[len(steady) :])


def _rules(min_items: int) -> Rules:
    rules = Rules()
    rules.burst = BurstRule(60, min_items, 1e-3, 2, 6)
    rules.grades = {"一般": [{"burst": 1}], "较大": [], "重大": [], "特别重大": []}
    return rules


def test_an_event_burst_raises_one_alert_with_its_stream_time_and_reason() -> None:
    engine = Engine(rules=_rules(20), options=EngineOptions(activity_weight=0))
    items = [item("s", 0, "江岸区某小区楼房外墙脱落砸中路人")]
    items += [item(f"r{i}", 1 + i, "", parent_id="s") for i in range(60)]
    out = engine.process(items)
    alerts = engine.alerts()
    assert len(alerts) == 1
    a = alerts[0]
    assert a.grade == "一般" and a.event_id == out[0].event_id
    assert a.item_id == "r18"  # the 20th item of the event
    assert a.time == items[19].time
    assert "近60分钟新增20条" in a.reason and "一般" in a.reason


def test_a_small_slow_event_raises_no_alert() -> None:
    engine = Engine(rules=_rules(20), options=EngineOptions(activity_weight=0))
    items = [item("s", 0, "江岸区某小区楼房外墙脱落砸中路人")]
    items += [item(f"r{i}", 30 * (i + 1), "", parent_id="s") for i in range(40)]
    engine.process(items)
    assert engine.alerts() == []


def test_a_keyword_burst_across_events_is_flagged() -> None:
    rules = Rules()
    rules.keyword_burst = BurstRule(60, 15, 1e-3, 1, 24)
    rules.grades = {"一般": [{"keyword_burst": 1}], "较大": [], "重大": [], "特别重大": []}
    engine = Engine(rules=rules, options=EngineOptions(activity_weight=0))
    texts = ["地铁停运", "高架堵死", "公交改线", "学校停课", "医院爆满"]
    items = [item(f"k{i}", i, f"#暴雨预警# {texts[i % 5]}第{i}报") for i in range(30)]
    engine.process(items)
    alerts = engine.alerts()
    assert alerts and alerts[0].kind == "keyword" and alerts[0].keyword == "#暴雨预警#"
    assert alerts[0].item_id == "k14"
