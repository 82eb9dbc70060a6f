"""Alert rules: when an event (or a keyword) bursts, and which grade an event deserves.

Rules are JSON an analyst can edit (docs/opinion-engine.md shows the default file)::

    {"burst": {"window_minutes": 60, "min_items": 20, "p_value": 0.001,
               "prior_per_hour": 2.0, "baseline_halflife_hours": 6},
     "keyword_burst": {...same keys...},
     "grades": {"一般": [{"burst": 1}], "较大": [{"window": 100}, ...], ...}}

Each grade holds alternatives; an alternative holds minimums that must all be met. The event's
grade is the highest grade with a met alternative. The features an alternative may name:

=================  ==========================================================================
size               items in the event so far
window             items in the event within the burst window (the last ``window_minutes``)
growth             ``window`` divided by what the event's own baseline expects in the window
burst              1 while the event's window count is a significant burst (Poisson test)
keyword_burst      1 when a keyword the event carries is bursting across the stream
negative_share     share of negative items among the event's items with a sentiment (0..1);
                   unmet without a sentiment model or with fewer than ``min_judged`` items
reach              the sum of the items' ``reach`` (followers, views)
sensitive          distinct sensitive gazetteer terms in the event's items
=================  ==========================================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opinion.engine.model import GRADE_RANK, GRADES

FEATURES: tuple[str, ...] = (
    "size",
    "window",
    "growth",
    "burst",
    "keyword_burst",
    "negative_share",
    "reach",
    "sensitive",
)


class RulesError(ValueError):
    """A rules file a person has to fix; the message names the key."""


@dataclass
class BurstRule:
    """A burst: at least ``min_items`` in the last ``window_minutes`` and a Poisson tail
    probability below ``p_value`` under the baseline rate.

    The baseline is an exponentially weighted rate (half-life ``baseline_halflife_hours``) of
    the series' own earlier items, never below ``prior_per_hour`` — the rate a new series is
    assumed to have before it has a history.
    """

    window_minutes: float = 60.0
    min_items: int = 20
    p_value: float = 1e-3
    prior_per_hour: float = 2.0
    baseline_halflife_hours: float = 6.0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str) -> BurstRule:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise RulesError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        rule = cls(**{k: v for k, v in data.items()})
        for key in cls.__dataclass_fields__:
            value = getattr(rule, key)
            if not isinstance(value, int | float) or value <= 0:
                raise RulesError(f"{where}.{key} must be a positive number, got {value!r}")
        if rule.p_value >= 1:
            raise RulesError(f"{where}.p_value must be below 1, got {rule.p_value}")
        return rule


def default_grades() -> dict[str, list[dict[str, float]]]:
    # Principles, not a fit to one data set: a burst of an event of ours is worth a look (一般);
    # a hundred new items within the window, or a negative burst, or sensitive terms in a
    # burst, is 较大; five hundred in the window, or a thousand items mostly negative, or a
    # wide reach with sensitive terms, is 重大; thousands in the window is 特别重大.
    return {
        "一般": [{"burst": 1}, {"keyword_burst": 1, "window": 10}],
        "较大": [
            {"window": 100},
            {"burst": 1, "negative_share": 0.6},
            {"burst": 1, "sensitive": 1},
        ],
        "重大": [
            {"window": 500},
            {"size": 1000, "negative_share": 0.5},
            {"window": 100, "sensitive": 2, "negative_share": 0.5},
            {"reach": 10_000_000, "window": 100},
        ],
        "特别重大": [
            {"window": 2000},
            {"size": 10_000, "negative_share": 0.6},
            {"window": 500, "sensitive": 3, "negative_share": 0.6},
        ],
    }


@dataclass
class Rules:
    burst: BurstRule = field(default_factory=BurstRule)
    keyword_burst: BurstRule = field(
        default_factory=lambda: BurstRule(
            window_minutes=60,
            min_items=30,
            p_value=1e-4,
            prior_per_hour=1.0,
            baseline_halflife_hours=24,
        )
    )
    grades: dict[str, list[dict[str, float]]] = field(default_factory=default_grades)
    # negative_share counts only once this many of the event's items have a sentiment.
    min_judged: int = 10

    # -- JSON -------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "burst": self.burst.to_json(),
            "keyword_burst": self.keyword_burst.to_json(),
            "grades": {g: [dict(a) for a in self.grades.get(g, [])] for g in GRADES},
            "min_judged": self.min_judged,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rules:
        if not isinstance(data, dict):
            raise RulesError("rules must be a JSON object")
        unknown = set(data) - {"burst", "keyword_burst", "grades", "min_judged"}
        if unknown:
            raise RulesError(
                f"unknown key(s) {', '.join(sorted(unknown))}; "
                "use burst, keyword_burst, grades, min_judged"
            )
        rules = cls()
        if "burst" in data:
            rules.burst = BurstRule.from_json({**rules.burst.to_json(), **data["burst"]}, "burst")
        if "keyword_burst" in data:
            rules.keyword_burst = BurstRule.from_json(
                {**rules.keyword_burst.to_json(), **data["keyword_burst"]}, "keyword_burst"
            )
        if "min_judged" in data:
            if not isinstance(data["min_judged"], int) or data["min_judged"] < 1:
                raise RulesError("min_judged must be a whole number ≥ 1")
            rules.min_judged = data["min_judged"]
        if "grades" in data:
            rules.grades = _check_grades(data["grades"])
        return rules

    @classmethod
    def from_file(cls, path: str | Path) -> Rules:
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            raise RulesError(f"cannot read rules {p}: {exc}") from exc
        except json.JSONDecodeError as exc:
            raise RulesError(f"{p}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
        try:
            return cls.from_json(data)
        except RulesError as exc:
            raise RulesError(f"{p}: {exc}") from exc

    # -- grading ----------------------------------------------------------------------------

    def grade(self, features: dict[str, float]) -> tuple[str, int, dict[str, float]] | None:
        """The highest grade met: (grade, 1-based alternative number, its conditions)."""
        for grade in reversed(GRADES):
            for number, alternative in enumerate(self.grades.get(grade, []), start=1):
                if all(
                    (value := features.get(key)) is not None and value >= minimum
                    for key, minimum in alternative.items()
                ):
                    return grade, number, alternative
        return None


def _check_grades(data: Any) -> dict[str, list[dict[str, float]]]:
    if not isinstance(data, dict):
        raise RulesError("grades must be an object from grade to a list of alternatives")
    out: dict[str, list[dict[str, float]]] = {}
    for grade, alternatives in data.items():
        if grade not in GRADE_RANK:
            raise RulesError(f"unknown grade {grade!r}; use {', '.join(GRADES)}")
        if not isinstance(alternatives, list):
            raise RulesError(f"grades.{grade} must be a list of alternatives")
        checked = []
        for i, alt in enumerate(alternatives, start=1):
            if not isinstance(alt, dict) or not alt:
                raise RulesError(f"grades.{grade}[{i}] must be a non-empty object")
            for key, value in alt.items():
                if key not in FEATURES:
                    raise RulesError(
                        f"grades.{grade}[{i}]: unknown feature {key!r}; use {', '.join(FEATURES)}"
                    )
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise RulesError(
                        f"grades.{grade}[{i}].{key} must be a number ≥ 0, got {value!r}"
                    )
            checked.append({k: float(v) for k, v in alt.items()})
        out[grade] = checked
    return out


# Chinese wording of each feature in alert reasons (plain constants, see the module doc of
# opinion.engine for why they are not gettext msgids).
_CONDITION_TEXT: dict[str, str] = {
    "size": "累计≥{v:g}条",
    "window": "窗口内新增≥{v:g}条",
    "growth": "增长≥基线{v:g}倍",
    "burst": "出现爆发",
    "keyword_burst": "关键词爆发",
    "negative_share": "负面占比≥{p}",
    "reach": "覆盖≥{v:g}人次",
    "sensitive": "敏感词≥{v:g}个",
}


def describe_condition(alternative: dict[str, float]) -> str:
    parts = []
    for key, value in alternative.items():
        template = _CONDITION_TEXT[key]
        parts.append(template.format(v=value, p=f"{value:.0%}"))
    return "且".join(parts)
