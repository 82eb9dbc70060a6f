"""Background work of the 舆情 desk: notices of alerts and late responses, the deadline sweep.

Tasks run on a Celery worker with a broker and inline without one. ``opinion.sweep_tasks``
should run every few minutes (celery beat or the embedded scheduler; see docs/opinion.md).
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="opinion.notify_alert")
def notify_alert(alert_id: int, task_id: int | None = None) -> int:
    """Send the notices of one alert; the number of deliveries recorded."""
    from opinion.notifications import send_alert

    return len(send_alert(alert_id, task_id))


@shared_task(name="opinion.notify_overdue")
def notify_overdue(task_id: int, flag: str) -> int:
    from opinion.notifications import send_overdue

    return len(send_overdue(task_id, flag))


@shared_task(name="opinion.sweep_tasks")
def sweep_tasks() -> dict[str, int]:
    """Flag response tasks whose clock ran out and tell their analysts."""
    from opinion.services import sweep

    result = sweep()
    return {"first_overdue": result.first_overdue, "full_overdue": result.full_overdue}
