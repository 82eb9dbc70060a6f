"""Demo questionnaire: 柳岸社区老旧小区加装电梯意愿调查, published, open to anyone, results public,
with a few responses (two demo citizens and some anonymous neighbours) and grouped themes.

Also records the demo citizen ``citizen`` as living in 柳岸社区第一网格, so resident-only
questionnaires can be tried with that login.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

TITLE = "柳岸社区老旧小区加装电梯意愿调查"
UNIT = "donghu-hubin-liuan"

FLOORS = [("f12", "一至二楼"), ("f34", "三至四楼"), ("f56", "五楼及以上")]
SUPPORT = [("yes", "支持"), ("depends", "看费用和方案再定"), ("no", "不支持")]
CONCERNS = [
    ("cost", "费用分摊"),
    ("light", "采光和通风"),
    ("noise", "施工噪音和安全"),
    ("upkeep", "建成后的维护保养"),
    ("space", "占用绿地和通道"),
]
IDEAS = [
    "家里老人八十多了，住五楼，一年下不了几次楼，希望尽快加装电梯",
    "老人腿脚不好，爬楼太难了，电梯越快装越好",
    "费用分摊要公开透明，按楼层分摊比例提前讲清楚",
    "分摊方案请先公示，一楼二楼住户的补偿也要说明",
    "一楼会被挡光，希望电梯井用玻璃外墙，减少对低层采光的影响",
    "担心电梯挡住一楼窗户采光，设计时请考虑低层住户",
    "施工期间请注意安全，晚上不要施工",
    "建成后谁来维护保养，维修基金怎么出要先定好",
    "电梯以后的维保费用和电费怎么分担，希望有明确的规定",
    "楼下绿地不要占太多，停车位也已经很紧张了",
]


def _spec(kind: str, text: str, **fields: Any) -> Any:
    from surveys.services import QuestionSpec

    return QuestionSpec(kind=kind, text=text, **fields)


def _options(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"value": v, "label": label} for v, label in pairs]


def _build(organiser: Any, unit: Any) -> Any:
    from django.utils import timezone

    from surveys import services
    from surveys.services import Settings

    q = services.create_questionnaire(
        organiser,
        unit,
        Settings(
            title=TITLE,
            description=(
                "为落实既有住宅加装电梯工作，柳岸社区就辖区老旧小区加装电梯征求居民意见。"
                "问卷约需 3 分钟，结果将公开，并在决策中说明意见采纳情况。"
            ),
            closes_at=timezone.now() + dt.timedelta(days=45),
        ),
    )
    first = services.add_section(organiser, q, "基本情况")
    floor = services.add_question(
        organiser, first, _spec("single", "您家住在几楼？", required=True, options=_options(FLOORS))
    )
    support = services.add_question(
        organiser,
        first,
        _spec("single", "您是否支持所在楼栋加装电梯？", required=True, options=_options(SUPPORT)),
    )
    services.add_question(
        organiser,
        first,
        _spec(
            "text",
            "不支持的主要原因是什么？",
            required=True,
            max_length=200,
            condition={"question": support.pk, "op": "equals", "value": "no"},
        ),
    )
    second = services.add_section(organiser, q, "顾虑与评价")
    services.add_question(
        organiser,
        second,
        _spec(
            "multiple",
            "您最关心哪些问题？（最多选三项）",
            required=True,
            min_choices=1,
            max_choices=3,
            options=_options(CONCERNS),
        ),
    )
    services.add_question(
        organiser,
        second,
        _spec(
            "rating",
            "您对社区目前的意见征集工作满意吗？",
            scale=5,
            low_label="很不满意",
            high_label="很满意",
        ),
    )
    services.add_question(
        organiser,
        second,
        _spec(
            "matrix",
            "请评价以下几个方面",
            rows=_options(
                [("info", "政策信息公开"), ("voice", "居民意见听取"), ("plan", "方案设计")]
            ),
            options=_options([("good", "好"), ("fair", "一般"), ("poor", "差")]),
        ),
    )
    third = services.add_section(
        organiser,
        q,
        "费用分摊",
        "仅请三楼及以上住户填写。",
        condition={"question": floor.pk, "op": "equals", "value": "f56"},
    )
    services.add_question(
        organiser,
        third,
        _spec(
            "single",
            "您能接受的费用分摊方式是？",
            required=True,
            options=_options(
                [
                    ("by_floor", "按楼层递增分摊"),
                    ("equal", "各户平均分摊"),
                    ("subsidy", "等政府补贴后再定"),
                ]
            ),
        ),
    )
    fourth = services.add_section(organiser, q, "意见建议")
    services.add_question(
        organiser,
        fourth,
        _spec("text", "您对加装电梯还有什么意见和建议？", max_length=500),
    )
    q = services.publish(organiser, q)
    return services.set_results_public(organiser, q, True)


def _answers(structure: Any, rng: random.Random, idea: str) -> dict[str, Any]:
    questions = structure.all_questions()
    floor, support, why_not, concerns, rating, matrix, cost, ideas = questions
    chosen_floor = rng.choice(FLOORS)[0]
    chosen_support = rng.choice(["yes", "yes", "yes", "depends", "no"])
    answers: dict[str, Any] = {
        floor.key: chosen_floor,
        support.key: chosen_support,
        concerns.key: [c for c, _ in rng.sample(CONCERNS, rng.randint(1, 3))],
        rating.key: rng.randint(2, 5),
        matrix.key: {r["value"]: rng.choice(["good", "fair", "poor"]) for r in matrix.rows},
        ideas.key: idea,
    }
    if chosen_support == "no":
        answers[why_not.key] = "一楼住户，担心采光受影响，也用不上电梯"
    if chosen_floor == "f56":
        answers[cost.key] = rng.choice(["by_floor", "equal", "subsidy"])
    return answers


def load() -> int:
    from django.contrib.auth import get_user_model

    from org.models import Grid, Unit
    from surveys import services
    from surveys.models import Kind, Questionnaire, Residence

    if Questionnaire.objects.filter(title=TITLE).exists():
        return 0
    users = get_user_model().objects
    organiser = users.filter(username="organiser").first()
    unit = Unit.objects.filter(code=UNIT).first()
    if organiser is None or unit is None:
        return 0
    q = _build(organiser, unit)
    written = 1
    structure = services.load_structure(q)
    rng = random.Random(20261127)
    citizens = list(users.filter(username__in=["citizen", "citizen2"]).order_by("username"))
    for number, idea in enumerate(IDEAS):
        actor = citizens[number] if number < len(citizens) else None
        services.submit(q, actor, _answers(structure, rng, idea))
        written += 1
    for question in q.questions.filter(kind=Kind.TEXT):
        written += len(services.refresh_themes(organiser, question))
    grid = Grid.objects.filter(code=f"{UNIT}-01").first()
    resident = users.filter(username="citizen").first()
    if grid is not None and resident is not None:
        _residence, created = Residence.objects.get_or_create(
            user=resident, defaults={"grid": grid, "recorded_by": organiser}
        )
        written += int(created)
    return written
