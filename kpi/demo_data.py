"""Demo KPIs: roll up whatever appeals the demo loaded.

Idempotent in what it reports: the rollup re-reads its recent events and rewrites their days
even when nothing changed, so the rows written count only if the counters differ afterwards.
"""

from __future__ import annotations

from typing import Any


def _snapshot() -> list[tuple[Any, ...]]:
    from kpi.models import DailyCount, DailyGridCount, MonthlyCount, MonthlyGridCount

    rows: list[tuple[Any, ...]] = []
    for model in (DailyCount, DailyGridCount, MonthlyCount, MonthlyGridCount):
        fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        rows += [(model.__name__, *r) for r in model.objects.values_list(*fields)]
    return sorted(rows, key=repr)


def load() -> int:
    from kpi import rollup

    before = _snapshot()
    written = rollup.run().rows
    return 0 if _snapshot() == before else written
