"""Forms for the report page and the inspectors' steps."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from integrity.models import CONTENT_LIMIT, Kind
from org.models import Unit


class ReportForm(forms.Form):
    kind = forms.ChoiceField(label=_("问题类别"), choices=Kind.choices)
    target_unit = forms.ModelChoiceField(
        label=_("被举报人所在单位"), queryset=Unit.objects.none(), empty_label=_("请选择单位")
    )
    target_name = forms.CharField(
        label=_("被举报人姓名或职务（可不填）"), max_length=100, required=False
    )
    content = forms.CharField(
        label=_("举报内容"),
        max_length=CONTENT_LIMIT,
        required=False,  # checked by the service, so the page and the API give the same answer
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("请写明谁、在什么时间、什么地点、做了什么，有无证据。"),
    )
    named = forms.TypedChoiceField(
        label=_("举报方式"),
        choices=[("0", _("匿名举报")), ("1", _("实名举报"))],
        coerce=lambda v: v == "1",
        initial="0",
        widget=forms.RadioSelect,
    )
    name = forms.CharField(label=_("您的姓名（实名举报填写）"), max_length=100, required=False)
    phone = forms.CharField(label=_("您的手机号（实名举报填写）"), max_length=20, required=False)
    id_number = forms.CharField(label=_("身份证号（可不填）"), max_length=32, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["target_unit"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Unit.objects.active().order_by("path")


class TrackForm(forms.Form):
    code = forms.CharField(label=_("受理编号"), max_length=20)
    secret = forms.CharField(label=_("查询密码"), max_length=20, widget=forms.PasswordInput)


class StepForm(forms.Form):
    action = forms.CharField(max_length=20)
    note = forms.CharField(
        label=_("意见"),
        max_length=CONTENT_LIMIT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class UnsealForm(forms.Form):
    reason = forms.CharField(
        label=_("启封理由"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
