"""Burst detection in stream time: a sliding window count against the series' own baseline.

Every series (an event, a keyword) keeps the times of its items inside the window and an
exponentially decayed count of the items that have left the window. The baseline rate is that
decayed count over the decay constant, floored at the rule's prior rate (a new series has no
history, so it is compared with what a quiet series is assumed to do). The count in the window is
tested against a Poisson distribution with the baseline's expected count: a burst needs a tail
probability below ``p_value`` and at least ``min_items`` items.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from scipy.special import gammainc

from opinion.engine.rules import BurstRule


def poisson_tail(count: int, mean: float) -> float:
    """P(X ≥ count) for X ~ Poisson(mean)."""
    if count <= 0:
        return 1.0
    if mean <= 0.0:
        return 0.0
    # P(X ≥ k) is the regularised lower incomplete gamma function P(k, mean).
    return float(gammainc(count, mean))


@dataclass
class BurstState:
    window: int
    expected: float
    growth: float
    p: float
    burst: bool


class RateSeries:
    """Item times of one series; ``add`` returns the burst state after the item."""

    __slots__ = ("decayed", "decayed_at", "times")

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.decayed = 0.0
        self.decayed_at = 0.0

    def _advance(self, now: float, rule: BurstRule) -> None:
        tau = rule.baseline_halflife_hours * 3600.0 / math.log(2.0)
        horizon = now - rule.window_minutes * 60.0
        times = self.times
        while times and times[0] <= horizon:
            t = times.popleft()
            # An item enters the baseline at the moment it leaves the window.
            left = t + rule.window_minutes * 60.0
            if left > self.decayed_at:
                self.decayed *= math.exp(-(left - self.decayed_at) / tau)
                self.decayed_at = left
            self.decayed += 1.0
        if now > self.decayed_at:
            self.decayed *= math.exp(-(now - self.decayed_at) / tau)
            self.decayed_at = now

    def state(self, now: float, rule: BurstRule) -> BurstState:
        self._advance(now, rule)
        tau_hours = rule.baseline_halflife_hours / math.log(2.0)
        rate = max(rule.prior_per_hour, self.decayed / tau_hours)
        expected = rate * rule.window_minutes / 60.0
        count = len(self.times)
        p = poisson_tail(count, expected) if count >= rule.min_items else 1.0
        return BurstState(
            count, expected, count / expected, p, count >= rule.min_items and p < rule.p_value
        )

    def add(self, now: float, rule: BurstRule) -> BurstState:
        self._advance(now, rule)
        self.times.append(now)
        return self.state(now, rule)

    def to_json(self) -> list[object]:
        return [list(self.times), self.decayed, self.decayed_at]

    @classmethod
    def from_json(cls, data: list[object]) -> RateSeries:
        s = cls()
        s.times = deque(float(t) for t in data[0])  # type: ignore[attr-defined]
        s.decayed = float(data[1])  # type: ignore[arg-type]
        s.decayed_at = float(data[2])  # type: ignore[arg-type]
        return s
