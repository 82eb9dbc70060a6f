"""The KPI page's filters, shared by the page, the exports and the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kpi import periods
from kpi.access import may_view_unit
from kpi.metrics import COLUMN_BY_NAME, GROUPINGS, SORTABLE
from org.models import Unit


@dataclass(frozen=True)
class Query:
    period: periods.Period
    by: str
    unit: Unit | None
    sort: str
    descending: bool


class KpiFilterForm(forms.Form):
    period = forms.ChoiceField(
        label=_("统计周期"), choices=[(k, v) for k, v in periods.KINDS.items()], required=False
    )
    date = forms.DateField(
        label=_("所在日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("统计该日期所在的日、周、月或季度"),
    )
    start = forms.DateField(
        label=_("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    by = forms.ChoiceField(
        label=_("分组"), choices=[(k, v) for k, v in GROUPINGS.items()], required=False
    )
    unit = forms.CharField(label=_("单位编码"), required=False, max_length=64)
    sort = forms.ChoiceField(
        label=_("排序"),
        choices=[(name, COLUMN_BY_NAME[name].label) for name in SORTABLE],
        required=False,
    )
    order = forms.ChoiceField(
        label=_("顺序"),
        choices=[("desc", _("从高到低")), ("asc", _("从低到高"))],
        required=False,
    )

    def __init__(self, *args: Any, scope: list[Unit] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope

    def clean_unit(self) -> Unit | None:
        code = (self.cleaned_data.get("unit") or "").strip()
        if not code:
            return None
        unit = Unit.objects.filter(code=code).first()
        if unit is None or not may_view_unit(self.scope, unit):
            # One message for both: whether a unit outside one's scope exists is not revealed.
            raise forms.ValidationError(_("没有编码为“%(code)s”的可查看单位") % {"code": code})
        return unit

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("period") or "month"
        if kind == "custom":
            start, end = data.get("start"), data.get("end")
            if start is None or end is None:
                raise forms.ValidationError(_("自定义时间范围需要开始日期和结束日期"))
            try:
                data["range"] = periods.Period.custom(start, end)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from None
        else:
            day: dt.date = data.get("date") or periods.today()
            data["range"] = periods.Period.containing(kind, day)
        return data

    def query(self) -> Query:
        """The parsed filters; call after ``is_valid()`` answered True."""
        data = self.cleaned_data
        sort = data.get("sort") or "satisfaction_rate"
        column = COLUMN_BY_NAME[sort]
        order = data.get("order") or ("desc" if column.higher_is_better else "asc")
        return Query(
            data["range"], data.get("by") or "unit", data.get("unit"), sort, order == "desc"
        )
