"""A questionnaire about adding lifts to old blocks, built through the services as an organiser
would build it: every kind of question, a skipped question and a skipped section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from surveys import services
from surveys.models import Question, Questionnaire
from surveys.services import QuestionSpec, Settings


@dataclass
class Built:
    q: Questionnaire
    floor: Question  # single: which floor (skip source)
    support: Question  # single: support the lift?
    why_not: Question  # text, shown only when support == "no"
    concerns: Question  # multiple, min 1 max 2
    rating: Question  # rating 1–5
    matrix: Question  # matrix
    cost: Question  # single in a section shown only to upper floors
    idea: Question  # free text

    def answers(self, **overrides: Any) -> dict[str, Any]:
        """A complete valid response (upper floor, in favour)."""
        base: dict[str, Any] = {
            self.floor.key: "high",
            self.support.key: "yes",
            self.concerns.key: ["cost"],
            self.rating.key: 4,
            self.matrix.key: {"r1": "c2", "r2": "c1"},
            self.cost.key: "share",
            self.idea.key: "希望尽快加装电梯，老人上下楼太难了",
        }
        base.update({k.key if isinstance(k, Question) else k: v for k, v in overrides.items()})
        return {k: v for k, v in base.items() if v is not None}


def build_questionnaire(
    organiser: Any, unit: Any, *, publish: bool = True, **settings: Any
) -> Built:
    q = services.create_questionnaire(
        organiser,
        unit,
        Settings(title=settings.pop("title", "老旧小区加装电梯意愿调查"), **settings),
    )
    first = services.add_section(organiser, q, "基本情况")
    floor = services.add_question(
        organiser,
        first,
        QuestionSpec(
            kind="single",
            text="您住在几楼？",
            required=True,
            options=[
                {"value": "low", "label": "一至二楼"},
                {"value": "high", "label": "三楼及以上"},
            ],
        ),
    )
    support = services.add_question(
        organiser,
        first,
        QuestionSpec(
            kind="single",
            text="您是否支持本楼加装电梯？",
            required=True,
            options=[{"value": "yes", "label": "支持"}, {"value": "no", "label": "不支持"}],
        ),
    )
    why_not = services.add_question(
        organiser,
        first,
        QuestionSpec(
            kind="text",
            text="不支持的主要原因是什么？",
            required=True,
            max_length=50,
            condition={"question": support.pk, "op": "equals", "value": "no"},
        ),
    )
    second = services.add_section(organiser, q, "顾虑与评价")
    concerns = services.add_question(
        organiser,
        second,
        QuestionSpec(
            kind="multiple",
            text="您最关心哪些问题？",
            required=True,
            min_choices=1,
            max_choices=2,
            options=[
                {"value": "cost", "label": "费用分摊"},
                {"value": "noise", "label": "施工噪音"},
                {"value": "light", "label": "采光遮挡"},
            ],
        ),
    )
    rating = services.add_question(
        organiser,
        second,
        QuestionSpec(
            kind="rating",
            text="您对社区工作的满意度",
            scale=5,
            low_label="很不满意",
            high_label="很满意",
        ),
    )
    matrix = services.add_question(
        organiser,
        second,
        QuestionSpec(
            kind="matrix",
            text="请评价以下方面",
            required=True,
            rows=[{"value": "r1", "label": "信息公开"}, {"value": "r2", "label": "意见听取"}],
            options=[
                {"value": "c1", "label": "好"},
                {"value": "c2", "label": "一般"},
                {"value": "c3", "label": "差"},
            ],
        ),
    )
    third = services.add_section(
        organiser, q, "费用", condition={"question": floor.pk, "op": "equals", "value": "high"}
    )
    cost = services.add_question(
        organiser,
        third,
        QuestionSpec(
            kind="single",
            text="您愿意按楼层分摊费用吗？",
            required=True,
            options=[{"value": "share", "label": "愿意"}, {"value": "refuse", "label": "不愿意"}],
        ),
    )
    fourth = services.add_section(organiser, q, "建议")
    idea = services.add_question(
        organiser, fourth, QuestionSpec(kind="text", text="您还有什么建议？", max_length=200)
    )
    if publish:
        q = services.publish(organiser, q)
    return Built(q, floor, support, why_not, concerns, rating, matrix, cost, idea)


@pytest.fixture
def built(organiser: Any, org_tree: Any) -> Built:
    return build_questionnaire(organiser, org_tree.community)


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Any:
    """Anonymous budgets live in the cache, keyed by questionnaire id, which tests reuse."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
