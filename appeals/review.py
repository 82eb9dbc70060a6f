"""信访 复查 and 复核 (信访工作条例): who reviews, which review comes next, and their deadlines.

- 复查 (``ReviewKind.RECHECK``): within 30 days of the written reply the petitioner may ask the
  superior administrative unit of the unit that handled the matter; it answers within 30 days.
- 复核 (``ReviewKind.REVIEW``): within 30 days of the 复查 answer, the superior of the 复查 unit;
  answered within 30 days. After 复核 the same matter is not taken up again.

The superior is the parent unit. A unit at the top of the organisation has no superior here, so
it reviews its own answer (the city's 信访 office, in practice); docs/appeals.md says so.

org.deadlines names the stages the other way round (``review_request`` is 申请复查); all four
periods are 30 days, and ``STAGES`` below pairs each kind with its own two stages.
"""

from __future__ import annotations

import datetime as dt

from appeals import clock
from appeals.models import Appeal, Review, ReviewKind, State
from org import calendar
from org.deadlines import PETITION_STAGES, PetitionStage
from org.models import Unit

# kind → (the request period, the answer period)
STAGES: dict[str, tuple[PetitionStage, PetitionStage]] = {
    ReviewKind.RECHECK: (PETITION_STAGES["review_request"], PETITION_STAGES["review"]),
    ReviewKind.REVIEW: (PETITION_STAGES["recheck_request"], PETITION_STAGES["recheck"]),
}
# The warning before a review's answer is due (the 信访 rule's lead: 5 calendar days).
WARN_DAYS = 5
REVIEWABLE_STATES = frozenset({State.REPLIED, State.CALLED_BACK, State.CLOSED})


def superior(unit: Unit | None) -> Unit | None:
    if unit is None:
        return None
    parent = unit.parent
    while parent is not None and not parent.active:
        parent = parent.parent
    return parent or unit


def open_review(appeal: Appeal) -> Review | None:
    return (
        Review.objects.filter(appeal=appeal, decided_at__isnull=True)
        .select_related("unit")
        .order_by("-requested_at", "-pk")
        .first()
    )


def last_decided(appeal: Appeal) -> Review | None:
    return (
        Review.objects.filter(appeal=appeal, decided_at__isnull=False)
        .select_related("unit")
        .order_by("-decided_at", "-pk")
        .first()
    )


def next_kind(appeal: Appeal) -> str | None:
    """The review the petitioner may ask for now, ignoring the 30-day window; None if none."""
    if not clock.is_petition(appeal) or appeal.state not in REVIEWABLE_STATES:
        return None
    if appeal.replied_at is None or open_review(appeal) is not None:
        return None
    done = last_decided(appeal)
    if done is None:
        return ReviewKind.RECHECK
    if done.kind == ReviewKind.RECHECK:
        return ReviewKind.REVIEW
    return None  # 复核 is final


def request_window(appeal: Appeal, kind: str) -> tuple[dt.datetime, dt.datetime]:
    """From when to when ``kind`` may be requested (30 days from the answer it contests)."""
    request_stage = STAGES[kind][0]
    if kind == ReviewKind.RECHECK:
        assert appeal.replied_at is not None
        start = appeal.replied_at
    else:
        done = last_decided(appeal)
        assert done is not None and done.decided_at is not None
        start = done.decided_at
    return start, calendar.add_period(start, request_stage.amount, request_stage.unit)


def reviewing_unit(appeal: Appeal, kind: str) -> Unit | None:
    """复查: the superior of the unit that handled it; 复核: the superior of the 复查 unit."""
    if kind == ReviewKind.RECHECK:
        handled = appeal.current_unit
        if handled is None:
            reply = appeal.replies.select_related("unit").order_by("-at", "-pk").first()
            handled = reply.unit if reply is not None else None
        return superior(handled)
    done = last_decided(appeal)
    return superior(done.unit) if done is not None else None


def answer_due(kind: str, requested_at: dt.datetime) -> dt.datetime:
    stage = STAGES[kind][1]
    return calendar.add_period(requested_at, stage.amount, stage.unit)
