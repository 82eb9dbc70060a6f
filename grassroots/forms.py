"""Forms for the grassroots pages (phone-first: few fields, native date inputs)."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grassroots.models import Course, TypicalCase, organisations
from org.models import Category, Grid


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        # <input type="date"> only takes ISO dates, whatever the active locale's format.
        super().__init__(attrs, format="%Y-%m-%d")


class VisitForm(forms.Form):
    # A plain id rather than a choice of "my" households: a household outside the cadre's grid
    # must reach the service and get its own clear refusal, not "not a valid choice".
    household = forms.IntegerField(label=_("住户"), min_value=1)
    visited_on = forms.DateField(label=_("走访日期"), widget=DateInput, initial=timezone.localdate)
    met = forms.CharField(label=_("见到的人"), max_length=128)
    found = forms.CharField(label=_("了解到的情况"), widget=forms.Textarea(attrs={"rows": 4}))
    needs = forms.CharField(
        label=_("群众需求"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    follow_up_of = forms.IntegerField(required=False, widget=forms.HiddenInput)
    organisation = forms.ModelChoiceField(
        label=_("所属基层组织"), queryset=organisations(), required=False
    )

    def __init__(self, *args: Any, households: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations()  # type: ignore[attr-defined]
        choices = [(h.pk, f"{h.grid.name} · {h.address}") for h in households or []]
        self.fields["household"].widget = forms.Select(choices=[("", "——"), *choices])


class RaiseAppealForm(forms.Form):
    text = forms.CharField(label=_("诉求内容"), widget=forms.Textarea(attrs={"rows": 4}))
    category = forms.ModelChoiceField(
        label=_("分类"), queryset=Category.objects.none(), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.active()  # type: ignore[attr-defined]


class HouseholdForm(forms.Form):
    grid = forms.ModelChoiceField(label=_("网格"), queryset=Grid.objects.none())
    address = forms.CharField(label=_("门牌"), max_length=128)
    head_name = forms.CharField(label=_("户主姓名"), max_length=64, required=False)
    head_phone = forms.CharField(label=_("户主电话"), max_length=20, required=False)
    head_id_number = forms.CharField(label=_("户主身份证号"), max_length=18, required=False)
    members = forms.IntegerField(label=_("人口数"), min_value=1, max_value=99, initial=1)

    def __init__(self, *args: Any, grids: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"].queryset = grids  # type: ignore[attr-defined]


class CaseForm(forms.ModelForm):
    class Meta:
        model = TypicalCase
        fields = ("title", "category", "organisation", "problem", "handling", "lesson")
        widgets: ClassVar[dict[str, Any]] = {
            "problem": forms.Textarea(attrs={"rows": 5}),
            "handling": forms.Textarea(attrs={"rows": 5}),
            "lesson": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations()  # type: ignore[attr-defined]
        self.fields["lesson"].required = False


class CaseSearchForm(forms.Form):
    q = forms.CharField(label=_("关键词"), required=False, max_length=100)
    category = forms.ModelChoiceField(
        label=_("分类"), queryset=Category.objects.none(), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.active()  # type: ignore[attr-defined]


class CourseForm(forms.ModelForm):
    class Meta:
        model = Course
        fields = ("title", "kind", "material", "pass_score", "categories")
        widgets: ClassVar[dict[str, Any]] = {
            "material": forms.Textarea(attrs={"rows": 4}),
            "categories": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["categories"].queryset = Category.objects.active()  # type: ignore[attr-defined]


class SessionForm(forms.Form):
    title = forms.CharField(label=_("课次"), max_length=120)
    starts_at = forms.DateTimeField(
        label=_("开始时间"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    hours = forms.DecimalField(label=_("学时"), min_value=0, max_digits=4, decimal_places=1)
    place = forms.CharField(label=_("地点"), max_length=128, required=False)


class ScoreForm(forms.Form):
    score = forms.IntegerField(label=_("考试成绩"), min_value=0, max_value=100)


class PlanForm(forms.Form):
    grid = forms.ModelChoiceField(label=_("网格"), queryset=Grid.objects.none())
    cadre = forms.ModelChoiceField(label=_("走访干部"), queryset=Grid.objects.none())
    starts_on = forms.DateField(label=_("开始日期"), widget=DateInput)
    ends_on = forms.DateField(label=_("结束日期"), widget=DateInput)
    organisation = forms.ModelChoiceField(
        label=_("基层组织"), queryset=Grid.objects.none(), required=False
    )

    def __init__(self, *args: Any, grids: Any, cadres: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["grid"].queryset = grids  # type: ignore[attr-defined]
        self.fields["cadre"].queryset = cadres  # type: ignore[attr-defined]
        self.fields["organisation"].queryset = organisations()  # type: ignore[attr-defined]
