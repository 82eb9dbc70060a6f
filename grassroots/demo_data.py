"""Demo grassroots work: a party branch in 柳岸社区, a few households of its first grid (made-up
people), one visit by the grid worker and one published typical case from the closed demo appeal
about the 青石苑 lift. Idempotent: rows are found by their natural keys and made once.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from appeals.models import Appeal, State
from grassroots import cases, services
from grassroots.models import Household, TypicalCase, Visit
from org import services as org
from org.models import Grid, Unit

GRID = "donghu-hubin-liuan-01"
BRANCH = "donghu-hubin-liuan-party"
HOUSEHOLDS = (
    ("柳岸花园1栋101", "何玉珍", "13800000101"),
    ("柳岸花园1栋102", "邓志强", "13800000102"),
    ("柳岸花园2栋201", "罗桂芳", "13800000201"),
    ("柳岸花园2栋202", "谢宝山", "13800000202"),
)
CASE_LESSON = (
    "电梯反复故障不能只靠“重启”应付：约谈物业、督促更换核心部件并请检测机构出具结论，"
    "再回访住户确认，问题才算真正解决。"
)


def load() -> int:
    grid = Grid.objects.filter(code=GRID).select_related("community").first()
    if grid is None or grid.worker is None:
        return 0
    written = 0
    with transaction.atomic():
        branch, created = org.upsert_unit(
            None,
            BRANCH,
            name="柳岸社区党支部",
            kind=Unit.Kind.PARTY_BRANCH,
            parent=grid.community,
        )
        written += int(created)
        homes = []
        for address, name, phone in HOUSEHOLDS:
            home, made = Household.objects.get_or_create(
                grid=grid,
                address=address,
                defaults={"head_name": name, "head_phone": phone},
            )
            homes.append(home)
            written += int(made)
        if not Visit.objects.filter(household=homes[0]).exists():
            services.log_visit(
                grid.worker,
                homes[0],
                met="何玉珍及其老伴",
                found="老两口都年过八旬，子女在外地；楼道扶手松动，老人上下楼不放心。",
                needs="加固楼道扶手；希望有人定期上门看看",
                visited_on=timezone.localdate() - dt.timedelta(days=3),
                organisation=branch,
            )
            written += 1
        written += _case()
    return written


def _case() -> int:
    appeal = Appeal.objects.filter(external_ref="demo-04", state=State.CLOSED).first()
    if appeal is None or TypicalCase.objects.filter(appeal=appeal).exists():
        return 0
    editor = get_user_model().objects.filter(username="organiser").first()
    if editor is None:
        return 0
    case = cases.draft_from(editor, appeal)
    cases.edit(
        editor,
        case,
        title="小区电梯反复故障的彻底维修",
        problem=case.problem,
        handling=case.handling,
        lesson=CASE_LESSON,
        category=case.category,
    )
    cases.publish(editor, case)
    return 1
