"""Statutory deadlines kept in code, with the text of their legal basis.

The 信访 (petition) chain follows the 信访工作条例 (issued by the CPC Central Committee and the
State Council in 2022). Its periods are written in days (日), so they are counted as calendar days
with the civil-law rule that a last day on a holiday moves to the next working day
(``org.calendar.add_calendar_days``). The appeal loop for 复查/复核 belongs to the appeals app;
this module only states the periods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from org.models import TimeUnit

REGULATION = "《信访工作条例》（2022年，中共中央、国务院印发）"


@dataclass(frozen=True)
class PetitionStage:
    key: str
    label: str | Promise
    amount: int
    unit: str
    basis: str | Promise


PETITION_CHAIN: tuple[PetitionStage, ...] = (
    PetitionStage(
        "acceptance",
        _("决定是否受理并书面告知"),
        15,
        TimeUnit.CALENDAR_DAYS,
        _("有权处理的机关、单位自收到信访事项之日起15日内决定是否受理，并书面告知信访人。"),
    ),
    PetitionStage(
        "handling",
        _("办结并书面答复"),
        60,
        TimeUnit.CALENDAR_DAYS,
        _("信访事项自受理之日起60日内办结，并书面答复信访人。"),
    ),
    PetitionStage(
        "extension",
        _("经批准延长办理期限"),
        30,
        TimeUnit.CALENDAR_DAYS,
        _(
            "情况复杂的，经本机关、单位负责人批准可以适当延长，延长不超过30日，并告知信访人延期理由。"
        ),
    ),
    PetitionStage(
        "review_request",
        _("申请复查"),
        30,
        TimeUnit.CALENDAR_DAYS,
        _(
            "信访人对处理意见不服的，可以自收到书面答复之日起30日内请求原办理机关、单位的上一级机关、单位复查。"
        ),
    ),
    PetitionStage(
        "review",
        _("提出复查意见"),
        30,
        TimeUnit.CALENDAR_DAYS,
        _("复查机关、单位自收到复查请求之日起30日内提出复查意见，并予以书面答复。"),
    ),
    PetitionStage(
        "recheck_request",
        _("申请复核"),
        30,
        TimeUnit.CALENDAR_DAYS,
        _(
            "信访人对复查意见不服的，可以自收到书面答复之日起30日内向复查机关、单位的上一级机关、单位请求复核。"
        ),
    ),
    PetitionStage(
        "recheck",
        _("提出复核意见"),
        30,
        TimeUnit.CALENDAR_DAYS,
        _(
            "复核机关、单位自收到复核请求之日起30日内提出复核意见；信访人对复核意见不服、仍以同一事实和理由提出信访的，不再受理。"
        ),
    ),
)

PETITION_STAGES = {stage.key: stage for stage in PETITION_CHAIN}


def petition_legal_basis() -> str:
    lines = [REGULATION]
    lines += [f"{stage.label}（{stage.amount}日）：{stage.basis}" for stage in PETITION_CHAIN]
    return "\n".join(str(line) for line in lines)


def petition_rule_defaults() -> dict[str, Any]:
    """Field values of a DeadlineRule for a 信访 category.

    Sign-for is the acceptance decision (15 days from receipt), handling and reply are the 60 days
    from acceptance (the written reply closes the handling); the warning comes 5 days ahead.
    """
    acceptance = PETITION_STAGES["acceptance"]
    handling = PETITION_STAGES["handling"]
    return {
        "sign_amount": acceptance.amount,
        "sign_unit": acceptance.unit,
        "handle_amount": handling.amount,
        "handle_unit": handling.unit,
        "reply_amount": handling.amount,
        "reply_unit": handling.unit,
        "warn_amount": 5,
        "warn_unit": TimeUnit.CALENDAR_DAYS,
        "petition": True,
        "legal_basis": petition_legal_basis(),
    }
