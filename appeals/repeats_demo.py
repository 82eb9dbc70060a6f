"""Demo of a repeated claim: a 信访 matter of ``citizen2`` answered, 复查 and 复核 upheld, and a
new appeal on the same facts waiting for the intake unit's repeat decision. Written by hand;
idempotent through ``external_ref`` ``repeat-demo-1`` and ``-2``. Called by appeals.demo_data."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from appeals import repeats, services
from appeals.models import Appeal, Channel
from org.models import Category, Unit

FIRST = (
    "我家位于滨河路旧城改造片区，征收补偿按每平方米九千元计算，明显低于周边同类二手房的市场价格，"
    "评估时也没有通知我到场，请求重新评估并提高补偿标准。"
)
AGAIN = (
    "滨河路旧城改造片区征收补偿每平方米九千元太低，低于周边二手房市场价格，评估时没有通知我到场，"
    "再次请求重新评估补偿标准。"
)
REPLY = "经核查，滨河路片区的评估由依法选定的评估机构作出，评估结果已公示，补偿标准符合市政府批准的方案。"


def load() -> int:
    users = {
        u.username: u
        for u in get_user_model().objects.filter(
            username__in=["citizen2", "dispatcher", "handler_xf", "leader"]
        )
    }
    category = Category.objects.filter(code="xf-wsxf").first()
    unit = Unit.objects.filter(code="sfs-xfj").first()
    if len(users) < 4 or category is None or unit is None:
        return 0
    written = 0
    citizen, dispatcher = users["citizen2"], users["dispatcher"]
    first = Appeal.objects.filter(external_ref="repeat-demo-1").first()
    if first is None:
        first, secret = _submit(citizen, category, FIRST, "repeat-demo-1")
        handler, leader = users["handler_xf"], users["leader"]
        services.do_register(first, dispatcher)
        services.do_dispatch(first, unit, dispatcher)
        services.do_sign(first, handler)
        services.do_handle(first, handler)
        services.do_reply(first, handler, text=REPLY)
        services.do_request_review(
            first, citizen, secret=secret, reason="评估没有通知我到场，不服。"
        )
        services.do_answer_review(
            first, leader, outcome="upheld", text="复查认为评估程序合法，维持原处理意见。"
        )
        services.do_request_review(first, citizen, secret=secret, reason="仍然认为补偿偏低。")
        services.do_answer_review(
            first, leader, outcome="upheld", text="复核认为补偿标准符合批准方案，维持复查意见。"
        )
        written += 1
    if not Appeal.objects.filter(external_ref="repeat-demo-2").exists():
        again, _secret = _submit(citizen, category, AGAIN, "repeat-demo-2")
        repeats.check(again.pk)
        written += 1
    return written


def _submit(citizen: Any, category: Category, text: str, ref: str) -> tuple[Appeal, str]:
    appeal, secret = services.do_submit(
        citizen,
        services.Submission(
            text=text, category=category, address="滨河路旧城改造片区", channel=Channel.WEB
        ),
    )
    Appeal.objects.filter(pk=appeal.pk).update(external_ref=ref)
    return appeal, secret
