"""Demo 舆情 for the demo city: hand-written posts that form three events, one of them going
viral (a burst of replies with a sensitive term → a 较大 alert → a response task with one
action). Everything goes through the real ingest and engine with the default rules.

Times are relative to the moment of loading, so the desk shows a task whose clock is running.
Idempotent: nothing is written when the demo posts are already there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

SOURCE = "demo-weibo"

TERMS: dict[str, tuple[str, ...]] = {
    "place": (
        "示范市",
        "东湖区",
        "湖滨街道",
        "柳岸社区",
        "望湖社区",
        "西山区",
        "枫林街道",
        "红枫社区",
    ),
    "unit": ("城管", "城管执法", "住建局", "水务局"),
    "topic": ("停水", "夜市", "噪音扰民"),
    "sensitive": ("打人", "群体", "维权"),
}

ORIGINALS: tuple[tuple[str, float, str, str, int], ...] = (
    # (id, minutes after the start, text, author, reach)
    (
        "v1",
        0,
        "东湖区柳岸社区门口城管执法人员与摊贩发生冲突，有人说城管打人，现场视频在网上流传，"
        "希望有关部门说明情况。",
        "柳岸居民老周",
        8000,
    ),
    (
        "w1",
        10,
        "西山区红枫社区从昨晚开始停水，到现在快二十个小时了，没有任何通知，老人孩子怎么办？",
        "红枫小林",
        1200,
    ),
    (
        "w2",
        35,
        "红枫社区停水还没恢复，物业说是水务局管网抢修，什么时候能来水没人说得清。",
        "枫林街道王女士",
        600,
    ),
    (
        "w3",
        70,
        "枫林街道红枫社区停水第二天，超市桶装水都卖光了，希望送水车能进小区。",
        "西山吃货",
        900,
    ),
    (
        "n1",
        20,
        "湖滨街道望湖社区夜市每天开到凌晨一点，噪音扰民，投诉了好几次还是这样。",
        "望湖业主",
        300,
    ),
    (
        "n2",
        95,
        "望湖社区夜市的音响太吵了，孩子第二天还要上学，能不能规定收摊时间？",
        "湖滨妈妈",
        250,
    ),
    ("x1", 40, "今天的晚霞真好看，随手拍一张。", "路人甲", 50),
)

REPLIES: tuple[str, ...] = (
    "太过分了，必须查清楚",
    "求真相，视频前面发生了什么？",
    "希望官方尽快回应",
    "支持依法执法，但执法要文明",
    "我当时也在现场，人很多",
    "转给东湖区看看",
)


def load() -> int:
    from django.contrib.auth import get_user_model

    from opinion import services
    from opinion.ingest import ingest
    from opinion.models import GazetteerTerm, Item, ResponseTask
    from org.models import Unit

    if Item.objects.filter(source=SOURCE).exists():
        return 0
    written = 0
    for kind, terms in TERMS.items():
        for term in terms:
            _row, created = GazetteerTerm.objects.get_or_create(kind=kind, term=term)
            written += int(created)
    from opinion.ingest import forget_config

    forget_config()

    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    start = now - dt.timedelta(hours=3)

    def at(minutes: float) -> dt.datetime:
        return start + dt.timedelta(minutes=minutes)

    originals: list[dict[str, Any]] = [
        {
            "id": ident,
            "time": at(minutes),
            "text": text,
            "source": SOURCE,
            "author": author,
            "reach": reach,
            "url": f"https://weibo.example/demo/{ident}",
        }
        for ident, minutes, text, author, reach in ORIGINALS
    ]
    # The replies name their parent, so they join its event; forty in forty minutes is a burst.
    replies: list[dict[str, Any]] = [
        {
            "id": f"v1-r{i}",
            "time": at(5 + i),
            "text": f"{REPLIES[i % len(REPLIES)]}//@网友{i:02d}",
            "source": SOURCE,
            "author": f"网友{i:02d}",
            "parent_id": "v1",
            "reach": 150,
        }
        for i in range(40)
    ]
    first = ingest([o for o in originals if o["time"] <= at(4)], now=at(4))
    second = ingest(
        [*replies, *[o for o in originals if o["time"] > at(4)]],
        now=at(46),
    )
    written += first.stored + second.stored

    analyst = get_user_model().objects.filter(username="analyst").first()
    task = ResponseTask.objects.filter(event__items__source=SOURCE).distinct().first()
    if analyst is not None and task is not None:
        unit = Unit.objects.filter(code="sfs-cgj").first()
        if task.unit_id is None and unit is not None:
            services.do_reassign_task(task, analyst, unit=unit)
        services.do_record_action(
            task,
            analyst,
            "verify",
            "已联系市城管执法局核实：当日执法人员劝离占道摊贩时发生推搡，未造成人员受伤；"
            "执法记录仪视频已调取，正在整理情况说明。",
            now=task.opened_at + dt.timedelta(minutes=50),
        )
        written += 1
    return written
