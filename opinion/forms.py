"""Forms of the 舆情 desk: filters, response actions, closing, gazetteer terms, grade rules."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from opinion.models import Alert, Event, GazetteerTerm, Grade, ResponseAction
from org.models import Unit
from org.roles import Role


class EventFilterForm(forms.Form):
    PERIODS = (
        ("", _("全部时间")),
        ("1", _("近 24 小时")),
        ("7", _("近 7 天")),
        ("30", _("近 30 天")),
    )
    q = forms.CharField(label=_("关键词"), required=False, max_length=64)
    grade = forms.ChoiceField(
        label=_("预警等级"), required=False, choices=[("", _("全部等级")), *Grade.choices]
    )
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("全部状态")), *[c for c in Event.Status.choices if c[0] != "merged"]],
    )
    period = forms.ChoiceField(label=_("时间"), required=False, choices=PERIODS)


class AlertFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("未关闭")), *Alert.Status.choices, ("all", _("全部"))],
    )
    grade = forms.ChoiceField(
        label=_("预警等级"), required=False, choices=[("", _("全部等级")), *Grade.choices]
    )


class ActionForm(forms.Form):
    kind = forms.ChoiceField(label=_("处置类型"), choices=ResponseAction.Kind.choices)
    text = forms.CharField(
        label=_("内容"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("核实了什么、发布了什么说明、向谁致歉、整改了什么；写明时间和渠道。"),
    )


class CloseForm(forms.Form):
    summary = forms.CharField(
        label=_("处置总结"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("事件经过、回应情况和结果，将附在事件记录中。"),
    )


class AssignForm(forms.Form):
    analyst: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("负责分析员"), queryset=None, required=False
    )
    unit: forms.ModelChoiceField[Unit] = forms.ModelChoiceField(
        label=_("责任单位"), queryset=None, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["analyst"].queryset = (  # type: ignore[attr-defined]
            get_user_model()
            .objects.filter(is_active=True, role_assignments__role=Role.ANALYST)
            .distinct()
            .order_by("pk")
        )
        self.fields["unit"].queryset = Unit.objects.active().order_by("path")  # type: ignore[attr-defined]


class TermsForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=GazetteerTerm.Kind.choices)
    terms = forms.CharField(
        label=_("词语"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("每行一个；地名、单位或话题使信息计入本辖区，敏感词提高预警等级。"),
    )
    note = forms.CharField(label=_("备注"), required=False, max_length=200)

    def clean_terms(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["terms"].splitlines() if t.strip()]


class RulesForm(forms.Form):
    rules = forms.CharField(
        label=_("规则（JSON）"),
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "mono"}),
    )
    note = forms.CharField(label=_("修改说明"), required=False, max_length=200)

    def clean_rules(self) -> Any:
        try:
            return json.loads(self.cleaned_data["rules"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("JSON 格式有误：第 %(line)s 行第 %(col)s 列：%(msg)s")
                % {"line": exc.lineno, "col": exc.colno, "msg": exc.msg}
            ) from None


class ReportForm(forms.Form):
    date = forms.DateField(
        label=_("日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
