"""Background work of the appeal loop: citizen notifications and the deadline sweep.

Tasks run on a Celery worker when a broker is configured and inline otherwise. Services queue
notifications with ``transaction.on_commit``, so a rolled-back change sends nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from accounts import sms
from vault.crypto import mask_phone

log = logging.getLogger("minsheng.appeals")


def _messages() -> dict[str, str]:
    # Built per call so gettext answers in the language active then.
    return {
        "submit": _("【民声】您的诉求已受理，编号 %(code)s，可凭编号和查询码查询办理进度。"),
        "reject": _("【民声】您的诉求 %(code)s 不予受理。理由：%(reason)s"),
        "dispatch": _("【民声】您的诉求 %(code)s 已转交%(unit)s办理。"),
        "sign": _("【民声】%(unit)s已签收您的诉求 %(code)s，正在办理。"),
        "reply": _("【民声】您的诉求 %(code)s 已答复，请查看答复并评价办理结果。"),
        "reopen": _("【民声】您的诉求 %(code)s 已安排重新办理。"),
        "close": _("【民声】您的诉求 %(code)s 已办结，感谢您的参与。"),
        "merge": _("【民声】您的诉求 %(code)s 已与同一问题的诉求合并办理，答复后将通知您。"),
        "withdraw": _("【民声】您的诉求 %(code)s 已撤回。"),
        "extension": _("【民声】您的诉求 %(code)s 经批准延期办理。理由：%(reason)s"),
        "review_request": _("【民声】您对诉求 %(code)s 的复查（复核）申请已收到，将在30日内答复。"),
        "review_answer": _("【民声】您的诉求 %(code)s 的复查（复核）意见已作出，请查看。"),
        "repeat_overturn": _("【民声】您的诉求 %(code)s 经领导复核已恢复受理，将按程序办理。"),
    }


def citizen_message(appeal: Any, kind: str) -> str:
    last = appeal.events.order_by("-at", "-pk").first()
    unit = appeal.current_unit
    return _messages()[kind] % {
        "code": appeal.code,
        "unit": unit.name if unit is not None else "",
        "reason": last.reason if last is not None else "",
    }


@shared_task(name="appeals.notify_citizen", ignore_result=True)
def notify_citizen(appeal_id: int, kind: str) -> bool:
    """Text the citizen about a step of their appeal. False when there is no number to text."""
    from appeals.models import Appeal

    appeal = Appeal.objects.select_related("current_unit", "citizen").filter(pk=appeal_id).first()
    if appeal is None:
        return False
    phone = appeal.notify_phone()
    if not phone:
        log.info("appeal %s: no contact number for the %s notice", appeal.code, kind)
        return False
    with translation.override(settings.LANGUAGE_CODE):
        message = citizen_message(appeal, kind)
    try:
        sms.send(phone, message)
    except sms.SmsError as exc:
        # The step itself has committed; a lost text must not undo it. The log keeps the trace.
        log.warning(
            "appeal %s: %s notice to %s failed: %s", appeal.code, kind, mask_phone(phone), exc
        )
        return False
    log.info("appeal %s: %s notice sent to %s", appeal.code, kind, mask_phone(phone))
    return True


@shared_task(name="appeals.notify_leader", ignore_result=True)
def notify_leader(user_id: int, appeal_id: int, clock_name: str) -> bool:
    """Text the unit's leader that an order went overdue (escalation)."""
    from django.contrib.auth import get_user_model

    from appeals.models import Appeal

    leader = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    appeal = Appeal.objects.select_related("current_unit").filter(pk=appeal_id).first()
    if leader is None or appeal is None:
        return False
    phone = str(getattr(leader, "phone", "") or "")
    if not phone:
        log.warning(
            "appeal %s overdue: leader %s has no phone for the escalation", appeal.code, user_id
        )
        return False
    with translation.override(settings.LANGUAGE_CODE):
        clock_label = {
            "sign": _("签收"),
            "handle": _("办理"),
            "reply": _("答复"),
            "review": _("复查（复核）答复"),
        }[clock_name]
        message = _("【民声督办】诉求 %(code)s（%(unit)s）%(clock)s已超期，请督促办理。") % {
            "code": appeal.code,
            "unit": appeal.current_unit.name if appeal.current_unit else "",
            "clock": clock_label,
        }
    try:
        sms.send(phone, message)
    except sms.SmsError as exc:
        log.warning("appeal %s: escalation to %s failed: %s", appeal.code, mask_phone(phone), exc)
        return False
    log.info("appeal %s: escalation sent to %s", appeal.code, mask_phone(phone))
    return True


@shared_task(name="appeals.sweep_deadlines")
def sweep_deadlines() -> dict[str, int]:
    """Periodic: warnings, overdue flags and escalations (idempotent; schedule every few minutes)."""
    from appeals.clock import sweep

    result = sweep()
    return {"warned": len(result.warned), "overdue": len(result.overdue)}


@shared_task(name="appeals.check_duplicates", ignore_result=True)
def check_duplicates(appeal_id: int) -> int | None:
    """After intake: flag the appeal when an open one is about the same problem at the same place.

    Returns the id of the appeal it was flagged against. A failure is logged, never raised: the
    intake has committed and a missed flag only costs the dispatcher a manual look.
    """
    from appeals import duplicates

    try:
        target = duplicates.check(appeal_id)
    except Exception:
        log.exception("appeal %s: duplicate check failed", appeal_id)
        return None
    return target.pk if target is not None else None


@shared_task(name="appeals.check_repeats", ignore_result=True)
def check_repeats(appeal_id: int) -> int | None:
    """After intake: record when the appeal repeats a concluded matter of the same citizen.

    Returns the id of the earlier appeal. A failure is logged, never raised, as for duplicates:
    the appeal then goes through the normal loop and nothing is dropped.
    """
    from appeals import repeats

    try:
        finding = repeats.check(appeal_id)
    except Exception:
        log.exception("appeal %s: repeat check failed", appeal_id)
        return None
    return finding.earlier_id if finding is not None else None


@shared_task(name="appeals.after_intake", ignore_result=True)
def after_intake(appeal_id: int) -> None:
    """Everything an intake queues, as one message: the citizen's receipt, then the duplicate
    and repeat checks. One outbox row and one publish per appeal instead of three; each step
    fails on its own (logged), so a failed text never skips the checks."""
    try:
        notify_citizen(appeal_id, "submit")
    except Exception:
        log.exception("appeal %s: submit notice failed", appeal_id)
    check_duplicates(appeal_id)
    check_repeats(appeal_id)
