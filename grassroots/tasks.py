"""Background work: the yearly training-hours reminders.

Registered as ``grassroots.training_reminders``; schedule it in the periodic-jobs table
(minsheng/periodic.py, shared) — weekly is enough, the list changes only when sessions are held.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="grassroots.training_reminders")
def training_reminders() -> int:
    """Remind everyone behind on this year's hours; returns how many were reminded."""
    from grassroots.training import send_reminders

    return send_reminders()
