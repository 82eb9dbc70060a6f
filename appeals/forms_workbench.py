"""Forms of the staff pages: the queue's filters and one small form per step of the loop.

The forms only parse what a person typed; every rule about who may do what, in which state, lives
in ``appeals.services``. Field names match the services' ``field`` in their 422 answers, so a
service's complaint lands beside the field it is about.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from accounts.forms import AccessibleForm
from appeals.models import TEXT_LIMIT, Rating, ReviewOutcome, State
from org.models import Category, Grid, Unit

REASON_LIMIT = 2000


def _text(rows: int = 3, **attrs: Any) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, **attrs})


class StepForm(AccessibleForm):
    """A step's form. Each has its own ``prefix`` so that the ids on one case page never collide
    (``id_dispatch-unit``, ``id_reply-text``): stable hooks for people, tests and journeys."""

    action: str = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", self.action)
        super().__init__(*args, **kwargs)


class RegisterForm(StepForm):
    action = "register"
    reason = forms.CharField(
        label=_("立案说明"), required=False, max_length=REASON_LIMIT, widget=_text(2)
    )


class RejectForm(StepForm):
    action = "reject"
    reason = forms.CharField(label=_("不予受理理由"), max_length=REASON_LIMIT, widget=_text())
    legal_basis = forms.CharField(
        label=_("依据"),
        max_length=REASON_LIMIT,
        help_text=_("写明所依据的法规条款，如《信访工作条例》第三十二条。"),
        widget=_text(2),
    )


OTHER_UNIT = "other"


class DispatchForm(StepForm):
    """The unit is picked among the router's suggestions and the category's default unit, or
    from the full list under "其他单位"."""

    action = "dispatch"
    unit = forms.ChoiceField(label=_("承办单位"), widget=forms.RadioSelect)
    other_unit = forms.ModelChoiceField(
        label=_("其他单位"),
        queryset=Unit.objects.none(),
        required=False,
        empty_label=_("（请选择）"),
        help_text=_("建议中没有合适的单位时，选“其他单位”并在此选择。"),
    )
    note = forms.CharField(
        label=_("派遣说明"), required=False, max_length=REASON_LIMIT, widget=_text(2)
    )

    def __init__(
        self,
        *args: Any,
        choices: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["unit"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [*(choices or []), (OTHER_UNIT, str(_("其他单位（在下方选择）")))]
        other = self.fields["other_unit"]
        assert isinstance(other, forms.ModelChoiceField)
        other.queryset = Unit.objects.active().order_by("path")
        if not self.is_bound and choices:
            self.initial.setdefault("unit", choices[0][0])
        elif not self.is_bound:
            self.initial.setdefault("unit", OTHER_UNIT)

    def chosen_unit(self) -> Unit | None:
        """The unit picked, after ``is_valid()``."""
        value = str(self.cleaned_data.get("unit") or "")
        if value == OTHER_UNIT:
            other = self.cleaned_data.get("other_unit")
            return other if isinstance(other, Unit) else None
        return Unit.objects.filter(pk=int(value)).first() if value.isdigit() else None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("unit") == OTHER_UNIT and data.get("other_unit") is None:
            self.add_error("other_unit", _("请选择承办单位。"))
        return data


class SignForm(StepForm):
    action = "sign"


class ReturnForm(StepForm):
    action = "return"
    reason = forms.CharField(
        label=_("退回理由"),
        max_length=REASON_LIMIT,
        help_text=_("说明为何不属于本单位职责，便于重新派遣。"),
        widget=_text(),
    )


class HandleForm(StepForm):
    action = "handle"
    note = forms.CharField(
        label=_("处置说明"), required=False, max_length=REASON_LIMIT, widget=_text(2)
    )


class ReplyForm(StepForm):
    action = "reply"
    text = forms.CharField(
        label=_("答复内容"),
        max_length=TEXT_LIMIT,
        help_text=_("答复将以短信告知群众，并请其评价。"),
        widget=_text(6),
    )


class CallbackForm(StepForm):
    action = "callback"
    rating = forms.ChoiceField(
        label=_("群众评价"), choices=Rating.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("群众意见"),
        required=False,
        max_length=TEXT_LIMIT,
        help_text=_("不满意时必填：群众说明的原因，将随诉求重新办理。"),
        widget=_text(3),
    )


class CloseForm(StepForm):
    action = "close"


class MergeForm(StepForm):
    action = "merge"
    target = forms.CharField(
        label=_("并入诉求编号"),
        max_length=32,
        help_text=_("如 MS-2025-000123：本件将随该诉求一并答复。"),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
    )
    reason = forms.CharField(
        label=_("合并说明"), required=False, max_length=REASON_LIMIT, widget=_text(2)
    )


class RequestExtensionForm(StepForm):
    action = "request_extension"
    days = forms.IntegerField(label=_("延期天数"), min_value=1, max_value=30)
    reason = forms.CharField(label=_("延期理由"), max_length=REASON_LIMIT, widget=_text())


class ApproveExtensionForm(StepForm):
    action = "approve_extension"


class SuspendForm(StepForm):
    action = "suspend"
    reason = forms.CharField(
        label=_("中止计时理由"),
        max_length=REASON_LIMIT,
        help_text=_("如：需要听证、鉴定或等待其他机关的结论。"),
        widget=_text(),
    )


class ResumeForm(StepForm):
    action = "resume"


class RequestReviewForm(StepForm):
    """An agent records a petitioner's request for 复查 (then 复核), e.g. taken by phone."""

    action = "request_review"
    reason = forms.CharField(
        label=_("申请理由"),
        max_length=TEXT_LIMIT,
        help_text=_("信访人对答复意见不服的理由；收到书面答复之日起 30 日内可以申请。"),
        widget=_text(),
    )


class AnswerReviewForm(StepForm):
    action = "answer_review"
    outcome = forms.ChoiceField(
        label=_("复查（复核）结论"), choices=ReviewOutcome.choices, widget=forms.RadioSelect
    )
    text = forms.CharField(label=_("意见书"), max_length=TEXT_LIMIT, widget=_text(6))


STEP_FORMS: dict[str, type[StepForm]] = {
    form.action: form
    for form in (
        RegisterForm,
        RejectForm,
        DispatchForm,
        SignForm,
        ReturnForm,
        HandleForm,
        ReplyForm,
        CallbackForm,
        CloseForm,
        MergeForm,
        RequestExtensionForm,
        ApproveExtensionForm,
        SuspendForm,
        ResumeForm,
        RequestReviewForm,
        AnswerReviewForm,
    )
}


class RevealForm(AccessibleForm):
    purpose = forms.CharField(
        label=_("查看用途"),
        max_length=200,
        initial=_("电话联系群众"),
        help_text=_("查看完整号码会记入个人信息查阅记录。"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "reveal")
        super().__init__(*args, **kwargs)


# --- the queue ---------------------------------------------------------------------------------
VIEWS: dict[str, Any] = {
    "todo": _("我的待办"),
    "overdue": _("已超期"),
    "due_soon": _("即将到期"),
    "extension": _("延期申请"),
    "suspended": _("已中止计时"),
    "all": _("全部"),
}


class QueueFilterForm(forms.Form):
    """The queue's GET filters. Unknown or malformed values are dropped, never a 500."""

    view = forms.ChoiceField(
        label=_("视图"), choices=list(VIEWS.items()), required=False, widget=forms.HiddenInput
    )
    q = forms.CharField(
        label=_("关键词"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("编号、标题或内容")}),
    )
    state = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部状态")), *State.choices]
    )
    unit = forms.ModelChoiceField(
        label=_("承办单位"),
        required=False,
        queryset=Unit.objects.none(),
        empty_label=_("全部单位"),
    )
    category = forms.ModelChoiceField(
        label=_("分类"),
        required=False,
        queryset=Category.objects.none(),
        empty_label=_("全部分类"),
    )
    grid = forms.ModelChoiceField(
        label=_("网格"), required=False, queryset=Grid.objects.none(), empty_label=_("全部网格")
    )
    date_from = forms.DateField(
        label=_("受理日期从"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("受理日期至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit = self.fields["unit"]
        assert isinstance(unit, forms.ModelChoiceField)
        unit.queryset = Unit.objects.active().order_by("path")
        category = self.fields["category"]
        assert isinstance(category, forms.ModelChoiceField)
        # Each top-level category followed by its sub-categories ("城市管理", "城市管理/占道经营").
        category.queryset = (
            Category.objects.active()
            .select_related("parent")
            .order_by(
                Coalesce("parent__sort_order", "sort_order"),
                Coalesce("parent__code", "code"),
                F("parent_id").asc(nulls_first=True),
                "sort_order",
                "code",
            )
        )
        grid = self.fields["grid"]
        assert isinstance(grid, forms.ModelChoiceField)
        grid.queryset = Grid.objects.filter(active=True).order_by("code")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("结束日期不能早于开始日期。"))
        return data
