"""The legal clock of an appeal: deadlines on the working calendar, warnings, overdue, escalation.

Rules (docs/appeals.md states them for people):

- On dispatch the sign-for, handling and reply deadlines are computed from the category's
  ``DeadlineRule`` (a sub-category without a rule uses its parent's; no rule at all uses the
  model's defaults: sign 2 working hours, handle and reply 5 working days, warn 1 working day).
- 信访 matters (the rule's ``petition`` flag) follow the 信访工作条例: acceptance (签收) within
  15 days of receipt, handling and the written reply within 60 days of acceptance, so on
  sign-for the handling and reply deadlines are recomputed from the moment of acceptance.
- One extension, approved by a leader of the handling unit: at most 30 days for 信访 (calendar
  days), at most 30 working days otherwise.
- A suspension approved by a leader stops the clock; on resumption every running deadline moves
  later by the working time the appeal spent suspended.
- ``sweep(now)`` raises a warning when the time left is within the rule's warning lead and flags
  an appeal overdue after a deadline, escalating it to the unit's leader. It is idempotent: each
  flag is claimed with a conditional UPDATE, so two sweeps at once escalate once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from django.db import transaction
from django.utils import timezone

from appeals.models import HANDLE_CLOCK_STATES, SIGN_CLOCK_STATES, Appeal
from org import calendar
from org.deadlines import PETITION_STAGES
from org.models import Category, DeadlineRule, TimeUnit

ClockName = Literal["sign", "handle", "reply"]
CLOCKS: dict[ClockName, frozenset[str]] = {
    "sign": frozenset(SIGN_CLOCK_STATES),
    "handle": frozenset(HANDLE_CLOCK_STATES),
    "reply": frozenset(HANDLE_CLOCK_STATES),
}
PETITION_EXTENSION_DAYS = PETITION_STAGES["extension"].amount
PETITION_BASIS = PETITION_STAGES["extension"].basis
MAX_EXTENSION_WORKING_DAYS = 30
# Warnings are looked for among deadlines this close; no sensible warning lead is longer.
_WARNING_HORIZON = dt.timedelta(days=45)


def rule_for_category(category: Category | None) -> DeadlineRule:
    """The category's rule (or its parent's); the model defaults when there is none."""
    rule = category.effective_rule() if category is not None else None
    return rule if rule is not None else DeadlineRule()


def rule_for(appeal: Appeal) -> DeadlineRule:
    return rule_for_category(appeal.category)


def is_petition(appeal: Appeal) -> bool:
    return appeal.petition or rule_for(appeal).petition


def on_dispatch(appeal: Appeal, at: dt.datetime) -> dict[str, dt.datetime]:
    """Deadlines for an order dispatched at ``at``."""
    rule = rule_for(appeal)
    if rule.petition or appeal.petition:
        acceptance = PETITION_STAGES["acceptance"]
        handling = PETITION_STAGES["handling"]
        # The acceptance period runs from receipt, not from our internal dispatch.
        sign_due = calendar.add_period(appeal.created, acceptance.amount, acceptance.unit)
        handle_due = calendar.add_period(at, handling.amount, handling.unit)
        return {"sign_due": sign_due, "handle_due": handle_due, "reply_due": handle_due}
    return {
        "sign_due": calendar.add_period(at, rule.sign_amount, rule.sign_unit),
        "handle_due": calendar.add_period(at, rule.handle_amount, rule.handle_unit),
        "reply_due": calendar.add_period(at, rule.reply_amount, rule.reply_unit),
    }


def on_sign(appeal: Appeal, at: dt.datetime) -> dict[str, dt.datetime]:
    """信访: the 60 days run from acceptance. Other orders keep their dispatch deadlines."""
    if not is_petition(appeal):
        return {}
    handling = PETITION_STAGES["handling"]
    due = calendar.add_period(at, handling.amount, handling.unit)
    return {"handle_due": due, "reply_due": due}


def on_reopen(appeal: Appeal, at: dt.datetime) -> dict[str, dt.datetime]:
    """A reopened order gets a fresh handling period (and reply period) from ``at``."""
    rule = rule_for(appeal)
    if rule.petition or appeal.petition:
        handling = PETITION_STAGES["handling"]
        due = calendar.add_period(at, handling.amount, handling.unit)
        return {"handle_due": due, "reply_due": due}
    return {
        "handle_due": calendar.add_period(at, rule.handle_amount, rule.handle_unit),
        "reply_due": calendar.add_period(at, rule.reply_amount, rule.reply_unit),
    }


def max_extension(appeal: Appeal) -> int:
    return PETITION_EXTENSION_DAYS if is_petition(appeal) else MAX_EXTENSION_WORKING_DAYS


def extended(appeal: Appeal, days: int) -> dict[str, dt.datetime]:
    """The handling and reply deadlines moved ``days`` later (calendar days for 信访)."""
    unit = TimeUnit.CALENDAR_DAYS if is_petition(appeal) else TimeUnit.WORKING_DAYS
    out: dict[str, dt.datetime] = {}
    for name in ("handle_due", "reply_due"):
        due = getattr(appeal, name)
        if due is not None:
            out[name] = calendar.add_period(due, days, unit)
    return out


def resumed(appeal: Appeal, at: dt.datetime) -> tuple[dict[str, dt.datetime], dt.timedelta]:
    """Deadlines after a suspension from ``appeal.suspended_at`` to ``at``, and the paused time.

    Only deadlines still running when the suspension began move; a passed one stays passed.
    """
    assert appeal.suspended_at is not None
    paused = calendar.working_time_between(appeal.suspended_at, at)
    hours = paused.total_seconds() / 3600
    out: dict[str, dt.datetime] = {}
    for name in ("sign_due", "handle_due", "reply_due"):
        due = getattr(appeal, name)
        if due is not None and due > appeal.suspended_at:
            out[name] = calendar.add_working_hours(due, hours)
    return out, paused


def warning_started(now: dt.datetime, due: dt.datetime, rule: DeadlineRule) -> bool:
    """Is ``now`` within the rule's warning lead before ``due``?"""
    if now >= due:
        return True
    amount, unit = rule.warn_amount, rule.warn_unit
    if unit == TimeUnit.CALENDAR_DAYS:
        return due - now <= dt.timedelta(days=amount)
    left = calendar.working_time_between(now, due)
    if unit == TimeUnit.WORKING_DAYS:
        return left <= calendar.working_day_length() * amount
    return left <= dt.timedelta(hours=amount)


@dataclass
class SweepResult:
    warned: list[tuple[int, str]] = field(default_factory=list)
    overdue: list[tuple[int, str]] = field(default_factory=list)
    # (review id, kind) of 复查/复核 answers warned about or flagged overdue
    reviews_warned: list[tuple[int, str]] = field(default_factory=list)
    reviews_overdue: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"warned {len(self.warned)}, overdue {len(self.overdue)}; "
            f"reviews warned {len(self.reviews_warned)}, overdue {len(self.reviews_overdue)}"
        )


def sweep(now: dt.datetime | None = None) -> SweepResult:
    """Mark warnings and overdue flags; escalate each newly overdue deadline once."""
    from appeals import services

    now = now or timezone.now()
    result = SweepResult()
    for clock, states in CLOCKS.items():
        due_field, warned_field, overdue_field = (
            f"{clock}_due",
            f"{clock}_warned",
            f"{clock}_overdue",
        )
        running = Appeal.objects.filter(state__in=states, suspended_at__isnull=True)
        late = running.filter(**{f"{due_field}__lt": now, overdue_field: False})
        for appeal in late.select_related("current_unit", "category").order_by("pk"):
            with transaction.atomic():
                claimed = Appeal.objects.filter(
                    pk=appeal.pk, state=appeal.state, **{overdue_field: False}
                ).update(**{overdue_field: True, warned_field: True})
                if claimed:
                    services.record_overdue(appeal, clock, now)
                    result.overdue.append((appeal.pk, clock))
        soon = running.filter(
            **{
                f"{due_field}__gte": now,
                f"{due_field}__lte": now + _WARNING_HORIZON,
                warned_field: False,
            }
        )
        for appeal in soon.select_related("category").order_by("pk"):
            due = getattr(appeal, due_field)
            if not warning_started(now, due, rule_for(appeal)):
                continue
            with transaction.atomic():
                claimed = Appeal.objects.filter(
                    pk=appeal.pk, state=appeal.state, **{warned_field: False}
                ).update(**{warned_field: True})
                if claimed:
                    services.record_warning(appeal, clock, now)
                    result.warned.append((appeal.pk, clock))
    _sweep_reviews(now, result)
    return result


def _sweep_reviews(now: dt.datetime, result: SweepResult) -> None:
    """复查/复核 answers: a warning 5 days ahead, an overdue flag and escalation after the due."""
    from appeals import services
    from appeals.models import Review
    from appeals.review import WARN_DAYS

    pending = Review.objects.filter(decided_at__isnull=True, due__isnull=False)
    late = pending.filter(due__lt=now, overdue=False).select_related("appeal", "unit")
    for item in late.order_by("pk"):
        with transaction.atomic():
            if Review.objects.filter(pk=item.pk, overdue=False, decided_at__isnull=True).update(
                overdue=True, warned=True
            ):
                services.record_review_overdue(item, now)
                result.reviews_overdue.append((item.pk, item.kind))
    soon = pending.filter(
        due__gte=now, due__lte=now + dt.timedelta(days=WARN_DAYS), warned=False
    ).select_related("appeal", "unit")
    for item in soon.order_by("pk"):
        with transaction.atomic():
            if Review.objects.filter(pk=item.pk, warned=False, decided_at__isnull=True).update(
                warned=True
            ):
                services.record_review_warning(item, now)
                result.reviews_warned.append((item.pk, item.kind))
