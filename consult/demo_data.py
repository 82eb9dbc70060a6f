"""Demo consultations for the demo city: a draft with articles and comments, a hearing with
registrations (registration still open, so the draw can be shown live), and an opinion map with
statements and votes. Idempotent: each is found by its title and made once.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.utils import timezone

from consult import drafts, hearings, maps
from consult.models import Draft, Hearing, OpinionMap
from org.models import Unit

DRAFT_TITLE = "示范市中心城区停车收费管理办法（征求意见稿）"
DRAFT_BODY = """示范市中心城区停车收费管理办法（征求意见稿）
第一章 总则
第一条 为规范停车秩序，缓解中心城区停车难，根据有关法律法规，结合本市实际，制定本办法。
第二条 本办法适用于中心城区道路停车泊位和政府投资建设的公共停车场。
第二章 收费标准
第三条 白天（8:00至20:00）首小时收费5元，之后每小时3元。
第四条 夜间（20:00至次日8:00）道路停车泊位免费。
第五条 新能源汽车首小时免费。
第三章 附则
第六条 本办法自2027年1月1日起施行。
"""
COMMENTS = (
    ("citizen", "第三条", "首小时收费5元太高了，建议降低到3元"),
    ("citizen2", "第三条", "停车收费太高，建议降低首小时收费"),
    ("citizen3", "第四条", "夜间免费很好，但要防止僵尸车长期占位"),
    ("citizen", "第五条", "新能源车首小时免费应该扩大到两小时"),
)
HEARING_TITLE = "示范市居民生活用水价格调整听证会"
MAP_TITLE = "老旧小区加装电梯怎么推进？"
STATEMENTS = (
    "一楼住户应当得到合理补偿",
    "费用应按楼层高低分摊",
    "政府应给予加装电梯补贴",
    "加装电梯须经本单元全体业主同意",
    "电梯建成后由物业统一维护",
)


def load() -> int:
    user_model = get_user_model()
    organiser = user_model.objects.filter(username="organiser").first()
    city = Unit.objects.filter(code="sfs").first()
    if organiser is None or city is None:
        return 0
    people = {u.username: u for u in user_model.objects.filter(kind="citizen")}
    now = timezone.now()
    written = 0
    if not Draft.objects.filter(title=DRAFT_TITLE).exists():
        draft = drafts.create_draft(
            organiser,
            unit=city,
            title=DRAFT_TITLE,
            body=DRAFT_BODY,
            major=True,
            summary="为缓解中心城区停车难，市政府拟调整停车收费标准，现公开征求意见。",
            opens_at=now - dt.timedelta(days=3),
            closes_at=now + dt.timedelta(days=30),
            anonymous_allowed=True,
        )
        drafts.publish_draft(organiser, draft)
        written += 1 + draft.articles.count()
        for username, heading, text in COMMENTS:
            user = people.get(username)
            if user is not None:
                drafts.comment(user, draft.articles.get(heading=heading), text)
                written += 1
        written += drafts.group_comments(organiser, draft)
    if not Hearing.objects.filter(title=HEARING_TITLE).exists():
        hearing = hearings.create_hearing(
            organiser,
            unit=city,
            title=HEARING_TITLE,
            matter="拟将居民第一阶梯水价由每立方米2.9元调整为3.2元，听取各方意见。",
            place="示范市政府第一会议室",
            starts_at=now + dt.timedelta(days=21),
            registration_opens=now - dt.timedelta(days=1),
            registration_closes=now + dt.timedelta(days=7),
            seats={"resident": 2, "business": 1, "expert": 1, "organisation": 1},
            seed_source="报名截止后第一期福彩3D开奖号码（如“3 8 1”），由组织者在抽签时录入",
            agenda="一、主持人宣布听证纪律\n二、定价部门说明调价方案\n三、参加人发言\n四、总结",
        )
        hearings.publish_hearing(organiser, hearing)
        written += 1
        for username, category, reason in (
            ("citizen", "resident", "家里四口人，用水量大，关心阶梯水价"),
            ("citizen2", "resident", "社区居民代表，希望听取低收入家庭意见"),
            ("citizen3", "resident", "关注水价调整对老年人的影响"),
        ):
            user = people.get(username)
            if user is not None:
                hearings.register(
                    user, hearing, category=category, name=user.display_name, reason=reason
                )
                written += 1
    if not OpinionMap.objects.filter(title=MAP_TITLE).exists():
        opinion_map = maps.create_map(
            organiser,
            unit=city,
            title=MAP_TITLE,
            description="请对下面的观点表态：同意、不同意或跳过，也可以提出新观点。",
            opens_at=now - dt.timedelta(days=1),
            closes_at=now + dt.timedelta(days=30),
            statements=list(STATEMENTS),
        )
        maps.publish_map(organiser, opinion_map)
        written += 1 + len(STATEMENTS)
        statements = list(opinion_map.statements.order_by("pk"))
        for i, username in enumerate(("citizen", "citizen2", "citizen3")):
            user = people.get(username)
            if user is None:
                continue
            for j, statement in enumerate(statements):
                maps.vote(user, statement, 1 if (i + j) % 3 else -1)
                written += 1
    return written
