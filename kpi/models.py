"""Daily KPI counters, maintained by ``kpi.rollup`` so that the KPI page never scans appeals.

A row holds, for one Beijing day and one (unit, category) or (unit, grid), the numerators and
denominators of every indicator of docs/kpi.md. Rates are never stored: a period's rate is
``sum(numerator) / sum(denominator)`` over its days, so days add up exactly. Two tables keep each
small: a city has thousands of grids, and crossing them with categories would make the rollup
about as large as the appeals it summarises.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from org.models import Category, Grid, Unit

# The counters, in the order of docs/kpi.md; kpi.metrics sums exactly these.
MEASURES: tuple[str, ...] = (
    "received",
    "dispatched",
    "sign_expected",
    "signed_on_time",
    "replied",
    "reopened",
    "callbacks",
    "satisfied",
    "basically_satisfied",
    "unsatisfied",
    "final_callbacks",
    "resolved",
    "overdue_sign",
    "overdue_handle",
    "overdue_reply",
    "closed",
    "close_seconds",
)


class Counters(models.Model):
    day = models.DateField(_("日期"))
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    received = models.PositiveIntegerField(default=0)
    dispatched = models.PositiveIntegerField(default=0)
    sign_expected = models.PositiveIntegerField(default=0)
    signed_on_time = models.PositiveIntegerField(default=0)
    replied = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    callbacks = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)
    basically_satisfied = models.PositiveIntegerField(default=0)
    unsatisfied = models.PositiveIntegerField(default=0)
    final_callbacks = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    overdue_sign = models.PositiveIntegerField(default=0)
    overdue_handle = models.PositiveIntegerField(default=0)
    overdue_reply = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    # Working seconds from receipt to 结案 of the appeals counted in ``closed``, summed.
    close_seconds = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class DailyCount(Counters):
    """Counters per day × unit × category."""

    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("每日指标（单位×分类）")
        verbose_name_plural = _("每日指标（单位×分类）")
        indexes = (
            models.Index(fields=["day", "unit"]),
            models.Index(fields=["unit", "day"]),
        )

    def __str__(self) -> str:
        return f"{self.day} {self.unit_id} {self.category_id}"


class DailyGridCount(Counters):
    """Counters per day × unit × grid."""

    grid = models.ForeignKey(
        Grid, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("每日指标（单位×网格）")
        verbose_name_plural = _("每日指标（单位×网格）")
        indexes = (
            models.Index(fields=["day", "unit"]),
            models.Index(fields=["grid", "day"]),
        )

    def __str__(self) -> str:
        return f"{self.day} {self.unit_id} {self.grid_id}"


class MonthlyCount(Counters):
    """``DailyCount`` summed per month (``day`` is the month's first day): a year's table reads
    twelve rows per group instead of 365."""

    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("每月指标（单位×分类）")
        verbose_name_plural = _("每月指标（单位×分类）")
        indexes = (models.Index(fields=["day", "unit"]),)

    def __str__(self) -> str:
        return f"{self.day:%Y-%m} {self.unit_id} {self.category_id}"


class MonthlyGridCount(Counters):
    """``DailyGridCount`` summed per month (``day`` is the month's first day)."""

    grid = models.ForeignKey(
        Grid, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = _("每月指标（单位×网格）")
        verbose_name_plural = _("每月指标（单位×网格）")
        indexes = (models.Index(fields=["day", "unit"]),)

    def __str__(self) -> str:
        return f"{self.day:%Y-%m} {self.unit_id} {self.grid_id}"


class RollupState(models.Model):
    """One row: how far the rollup has read the appeals' timeline (``AppealEvent`` ids)."""

    last_event_id = models.BigIntegerField(default=0)
    rolled_at = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("指标汇总进度")
        verbose_name_plural = _("指标汇总进度")

    def __str__(self) -> str:
        return f"rollup up to event {self.last_event_id}"
