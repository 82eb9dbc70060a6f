"""Demo exemplar campaign: 2026 年度“身边好人”评选 in its voting phase, with candidates in two
categories, a declined nomination with its reason and a few votes. Written by hand (no real
person), idempotent: the campaign is found by its title and made once, through the services.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from exemplars import services
from exemplars.models import Campaign, Candidate

TITLE = "2026年度市直机关“身边好人”评选"
# (name, affiliation, category index, story, accepted)
CANDIDATES = (
    (
        "陈桂兰",
        "东湖街道柳岸社区居民",
        0,
        "退休后义务照看社区里的六位独居老人八年，每天上门量血压、送饭、陪聊天，逢年过节组织邻里聚餐。",
        True,
    ),
    (
        "马建国",
        "市公交集团驾驶员",
        0,
        "发现乘客突发心脏病，立即停车拨打急救电话并实施心肺复苏，为抢救赢得了宝贵时间。",
        True,
    ),
    (
        "林小燕",
        "市第一中学教师",
        0,
        "十二年坚持为家庭困难学生免费补课，资助二十多名学生完成学业，从不张扬。",
        True,
    ),
    (
        "周强",
        "城管执法局队员",
        1,
        "夜间巡查时冲进着火的商铺，帮助店主疏散群众、转移液化气罐，避免了一场爆炸事故。",
        True,
    ),
    (
        "吴海波",
        "外卖骑手",
        1,
        "送餐途中跳入河中救起落水儿童，上岸后默默离开，被群众视频记录后才为人所知。",
        True,
    ),
    (
        "赵某某",
        "某公司职员",
        1,
        "推荐材料只有一句“工作认真”，没有具体事迹，也没有佐证材料。",
        False,
    ),
)


def load() -> int:
    if Campaign.objects.filter(title=TITLE).exists():
        return 0
    user_model = get_user_model()
    organiser = user_model.objects.filter(username="organiser").first()
    nominator = user_model.objects.filter(username="citizen").first()
    if organiser is None or nominator is None:
        return 0  # the demo city's people are made first (org/demo.py)
    now = timezone.now()
    written = 0
    with transaction.atomic():
        campaign = services.create_campaign(
            organiser,
            title=TITLE,
            kind="身边好人",
            description="由群众、单位和组织推荐，经资格审核、公示后公开投票，评出助人为乐、见义勇为两类“身边好人”。",
            owner_label="市文明办",
            categories=["助人为乐", "见义勇为"],
            voting_opens=now - dt.timedelta(days=1),
            voting_closes=now + dt.timedelta(days=14),
            picks_per_category=2,
            honours_per_category=2,
        )
        written += 1 + campaign.categories.count()
        services.advance_phase(organiser, campaign)
        campaign.refresh_from_db()
        categories = list(campaign.categories.all())
        made = []
        for name, affiliation, cat, story, accepted in CANDIDATES:
            candidate = services.nominate(
                nominator,
                campaign,
                services.NominationIn(
                    category_id=categories[cat].pk, name=name, affiliation=affiliation, story=story
                ),
                [],
            )
            made.append((candidate, accepted))
            written += 1
        services.advance_phase(organiser, campaign)
        for candidate, accepted in made:
            services.review(
                organiser,
                Candidate.objects.get(pk=candidate.pk),
                accept=accepted,
                reason="事迹经所在单位和社区核实，材料齐全"
                if accepted
                else "缺少具体事迹和佐证材料，不符合推荐条件",
            )
        services.advance_phase(organiser, campaign)
        services.advance_phase(organiser, campaign)
        voters = list(user_model.objects.filter(kind="citizen").exclude(phone_hash="")[:3])
        origin = services.Origin(ip="192.0.2.10", device_id="demo", user_agent="demo")
        for i, voter in enumerate(voters):
            for candidate, accepted in made[: 2 + i]:
                if accepted:
                    try:
                        services.cast_vote(voter, campaign.pk, candidate.pk, origin)
                        written += 1
                    except services.ServiceError:
                        pass  # a pick limit in the demo is not an error worth stopping for
    return written
