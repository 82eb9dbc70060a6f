"""``kpi.rollup``: bring the daily KPI counters up to date (schedule every few minutes)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="kpi.rollup")
def rollup_task() -> str:
    from kpi import rollup

    return rollup.run().summary()
