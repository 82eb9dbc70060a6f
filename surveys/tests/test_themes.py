"""Free-text answers grouped into themes with textkit: similar answers together, quotes from
the answers, regrouping supersedes (never deletes) what a decision may point at."""

from __future__ import annotations

from typing import Any

import pytest

from surveys import services
from surveys.models import Theme
from surveys.tests.conftest import Built

pytestmark = pytest.mark.django_db

ANSWERS = [
    "家里老人八十多了，住五楼，希望尽快加装电梯",
    "老人腿脚不好，爬楼太难了，电梯越快装越好",
    "老人上下楼不方便，支持装电梯",
    "费用分摊要公开透明，按楼层分摊比例提前讲清楚",
    "分摊方案请先公示，一楼二楼住户的补偿也要说明",
    "担心电梯挡住一楼窗户采光，设计时请考虑低层住户",
    "一楼采光本来就差，装了电梯更暗",
]


def test_similar_answers_fall_into_one_theme_with_their_own_words_as_quotes() -> None:
    groups = services.group_texts(list(enumerate(ANSWERS)))
    by_quote = {quote: label for label, quotes, _n in groups for quote in quotes}
    assert by_quote[ANSWERS[0]] == by_quote[ANSWERS[1]]
    assert by_quote[ANSWERS[5]] == by_quote[ANSWERS[6]]
    assert by_quote[ANSWERS[0]] != by_quote[ANSWERS[5]]
    assert sum(n for _label, _quotes, n in groups) == len(ANSWERS)
    for _label, quotes, _n in groups:
        assert set(quotes) <= set(ANSWERS)


def test_regrouping_supersedes_earlier_themes_and_counts_every_answer(
    built: Built, organiser: Any
) -> None:
    for text in ANSWERS:
        services.submit(built.q, None, built.answers(**{built.idea.key: text}))
    first = services.themes(built.idea)
    assert first and sum(t.count for t in first) == len(ANSWERS)
    again = services.refresh_themes(organiser, built.idea)
    assert {t.pk for t in again}.isdisjoint({t.pk for t in first})
    assert Theme.objects.filter(pk__in=[t.pk for t in first], superseded=True).count() == len(first)
    assert [t.pk for t in services.themes(built.idea)] == [t.pk for t in again]
    shown = services.results(built.q)["questions"]
    idea = next(q for q in shown if q["id"] == built.idea.pk)
    assert idea["themes_basis"] == len(ANSWERS)


def test_only_free_text_questions_have_themes(built: Built, organiser: Any) -> None:
    with pytest.raises(services.ServiceError) as refused:
        services.refresh_themes(organiser, built.support)
    assert refused.value.status == 422


def test_participants_are_those_who_answered_signed_in(
    built: Built, citizen: Any, handler: Any
) -> None:
    services.submit(built.q, citizen, built.answers())
    services.submit(built.q, None, built.answers())
    assert list(services.participants(built.q)) == [citizen]
