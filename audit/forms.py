from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class TrailFilterForm(forms.Form):
    actor = forms.CharField(label=_("操作人"), required=False, max_length=150)
    action = forms.CharField(
        label=_("动作"),
        required=False,
        max_length=80,
        help_text=_("前缀匹配，如 appeal 或 appeal.dispatch"),
    )
    object_type = forms.CharField(
        label=_("对象类型"), required=False, max_length=100, help_text=_("如 appeals.appeal")
    )
    object_id = forms.CharField(label=_("对象编号"), required=False, max_length=64)
    since = forms.DateField(
        label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    text = forms.CharField(label=_("原因包含"), required=False, max_length=200)
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("截止日期不能早于起始日期。"))
        return data


class AccessFilterForm(TrailFilterForm):
    """The access log: who (actor), whose (object type and id), when, why (text)."""

    action = None  # type: ignore[assignment]
