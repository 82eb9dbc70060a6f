"""Forms of the builder (organisers) and of the answering pages (one form per section)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from org.models import Grid, Unit
from surveys.models import Audience, Kind, Question, Section
from surveys.services import QuestionSpec, Settings, Structure, condition_holds

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class SettingsForm(forms.Form):
    unit = forms.ModelChoiceField(
        label=gettext_lazy("组织单位"), queryset=Unit.objects.none(), required=True
    )
    title = forms.CharField(label=gettext_lazy("问卷标题"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("说明"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("告诉群众为什么征求意见、结果怎么用"),
    )
    audience = forms.ChoiceField(
        label=gettext_lazy("谁可以填写"),
        choices=Audience.choices,
        initial=Audience.ANYONE,
        widget=forms.RadioSelect,
    )
    grids = forms.ModelMultipleChoiceField(
        label=gettext_lazy("指定网格"),
        queryset=Grid.objects.filter(active=True).select_related("community"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    communities = forms.ModelMultipleChoiceField(
        label=gettext_lazy("指定社区"),
        queryset=Unit.objects.filter(kind=Unit.Kind.COMMUNITY, active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    opens_at = forms.DateTimeField(
        label=gettext_lazy("开始时间"),
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=LocalDateTimeInput(),
    )
    closes_at = forms.DateTimeField(
        label=gettext_lazy("截止时间"),
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=LocalDateTimeInput(),
    )

    def __init__(self, *args: Any, units: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if units is None:
            del self.fields["unit"]
        else:
            self.fields["unit"].queryset = units  # type: ignore[attr-defined]

    def settings(self) -> Settings:
        data = self.cleaned_data
        return Settings(
            title=data["title"],
            description=data.get("description") or "",
            audience=data["audience"],
            opens_at=data.get("opens_at"),
            closes_at=data.get("closes_at"),
            grids=tuple(data.get("grids") or ()),
            communities=tuple(data.get("communities") or ()),
        )


def condition_choices(structure: Structure, before: list[Question]) -> list[tuple[str, str]]:
    """“Show only if” choices: an earlier choice question and one of its options."""
    choices = [("", _("总是显示"))]
    for question in before:
        number = structure.number_of(question)
        if question.kind not in (Kind.SINGLE, Kind.MULTIPLE):
            continue
        op = "equals" if question.kind == Kind.SINGLE else "contains"
        verb = _("选了") if question.kind == Kind.SINGLE else _("勾选了")
        for option in question.options:
            choices.append(
                (
                    f"{question.pk}|{op}|{option['value']}",
                    _("第%(n)d题%(verb)s“%(label)s”时显示")
                    % {"n": number, "verb": verb, "label": option["label"]},
                )
            )
    return choices


def parse_condition(raw: str) -> dict[str, Any]:
    if not raw:
        return {}
    qid, op, value = [*raw.split("|", 2), "", ""][:3]
    return {"question": qid, "op": op, "value": value}


def condition_value(condition: dict[str, Any]) -> str:
    if not condition:
        return ""
    return f"{condition['question']}|{condition['op']}|{condition['value']}"


class SectionForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("这一节的标题"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    condition = forms.ChoiceField(label=gettext_lazy("显示条件"), required=False)

    def __init__(self, *args: Any, conditions: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["condition"].choices = conditions  # type: ignore[attr-defined]


FIELDS_BY_KIND: dict[str, frozenset[str]] = {
    Kind.SINGLE: frozenset({"options"}),
    Kind.MULTIPLE: frozenset({"options", "min_choices", "max_choices"}),
    Kind.TEXT: frozenset({"max_length"}),
    Kind.RATING: frozenset({"scale", "low_label", "high_label"}),
    Kind.MATRIX: frozenset({"options", "rows"}),
}
KIND_FIELDS = frozenset().union(*FIELDS_BY_KIND.values())


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class QuestionForm(forms.Form):
    """One form for every kind; the view drops the fields a kind does not use."""

    text = forms.CharField(label=gettext_lazy("题目"), max_length=500)
    help = forms.CharField(label=gettext_lazy("提示（可选）"), max_length=500, required=False)
    required = forms.BooleanField(label=gettext_lazy("必答"), required=False)
    options = forms.CharField(
        label=gettext_lazy("选项（每行一个）"), widget=forms.Textarea(attrs={"rows": 4})
    )
    rows = forms.CharField(
        label=gettext_lazy("矩阵的行（每行一个）"), widget=forms.Textarea(attrs={"rows": 3})
    )
    min_choices = forms.IntegerField(label=gettext_lazy("最少选几项"), required=False, min_value=0)
    max_choices = forms.IntegerField(label=gettext_lazy("最多选几项"), required=False, min_value=1)
    max_length = forms.IntegerField(
        label=gettext_lazy("字数上限"), initial=500, min_value=1, max_value=2000
    )
    scale = forms.TypedChoiceField(
        label=gettext_lazy("评分范围"),
        coerce=int,
        choices=[(5, gettext_lazy("1–5 分")), (10, gettext_lazy("0–10 分"))],
        initial=5,
    )
    low_label = forms.CharField(label=gettext_lazy("最低分的含义"), max_length=40, required=False)
    high_label = forms.CharField(label=gettext_lazy("最高分的含义"), max_length=40, required=False)
    condition = forms.ChoiceField(label=gettext_lazy("显示条件"), required=False)

    def __init__(
        self, *args: Any, kind: str, conditions: list[tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        for name in KIND_FIELDS - FIELDS_BY_KIND[kind]:
            del self.fields[name]
        self.fields["condition"].choices = conditions  # type: ignore[attr-defined]
        if kind == Kind.MATRIX:
            self.fields["options"].label = _("矩阵的列（每行一个，如：满意、一般、不满意）")

    @staticmethod
    def initial_for(question: Question) -> dict[str, Any]:
        return {
            "text": question.text,
            "help": question.help,
            "required": question.required,
            "options": "\n".join(o["label"] for o in question.options),
            "rows": "\n".join(r["label"] for r in question.rows),
            "min_choices": question.min_choices,
            "max_choices": question.max_choices,
            "max_length": question.max_length,
            "scale": question.scale,
            "low_label": question.low_label,
            "high_label": question.high_label,
            "condition": condition_value(question.condition),
        }

    def spec(self, existing: Question | None = None) -> QuestionSpec:
        data = self.cleaned_data

        def keep_values(labels: list[str], old: list[dict[str, str]]) -> list[dict[str, str]]:
            # Editing keeps the codes of options whose wording is unchanged, so skip
            # conditions that name them still hold.
            by_label = {o["label"]: o["value"] for o in old}
            return [{"label": label, "value": by_label.get(label, "")} for label in labels]

        options = _lines(data.get("options") or "")
        rows = _lines(data.get("rows") or "")
        return QuestionSpec(
            kind=self.kind,
            text=data["text"],
            help=data.get("help") or "",
            required=bool(data.get("required")),
            options=keep_values(options, existing.options if existing else []),
            rows=keep_values(rows, existing.rows if existing else []),
            min_choices=data.get("min_choices"),
            max_choices=data.get("max_choices"),
            max_length=data.get("max_length"),
            scale=data.get("scale"),
            low_label=data.get("low_label") or "",
            high_label=data.get("high_label") or "",
            condition=parse_condition(data.get("condition") or ""),
        )


# --- answering -----------------------------------------------------------------------------------
class RatingWidget(forms.RadioSelect):
    """Radio buttons the page lays out in one row (``.rating-scale``)."""


def field_name(question: Question, row: str | None = None) -> str:
    return f"q{question.pk}" if row is None else f"q{question.pk}_{row}"


def build_answer_form(
    structure: Structure,
    section: Section,
    earlier: dict[str, Any],
    data: Any = None,
    initial: dict[str, Any] | None = None,
) -> tuple[forms.Form, list[dict[str, Any]]]:
    """The page's form, and for each question shown on it a description the template lays out.

    Questions whose condition depends on an answer on this same page are shown with the
    condition spelled out; the server drops their answers when it does not hold.
    """
    form = forms.Form(data=data)
    shown: list[dict[str, Any]] = []
    on_page = {q.pk for q in structure.questions[section.pk]}
    for question in structure.questions[section.pk]:
        condition = question.condition
        depends_here = bool(condition) and int(condition["question"]) in on_page
        if condition and not depends_here and not condition_holds(condition, earlier):
            continue
        value = (initial or {}).get(question.key)
        names: list[str] = []
        choices = [(o["value"], o["label"]) for o in question.options]
        # The service checks required answers (and names the question); the form only renders.
        required = False
        if question.kind == Kind.SINGLE:
            form.fields[field_name(question)] = forms.ChoiceField(
                choices=choices, widget=forms.RadioSelect, required=required, initial=value
            )
        elif question.kind == Kind.MULTIPLE:
            form.fields[field_name(question)] = forms.MultipleChoiceField(
                choices=choices,
                widget=forms.CheckboxSelectMultiple,
                required=required,
                initial=value,
            )
        elif question.kind == Kind.TEXT:
            form.fields[field_name(question)] = forms.CharField(
                widget=forms.Textarea(attrs={"rows": 3, "maxlength": question.max_length}),
                required=required,
                initial=value,
                strip=True,
            )
        elif question.kind == Kind.RATING:
            scale = [(str(v), str(v)) for v in question.rating_values()]
            form.fields[field_name(question)] = forms.ChoiceField(
                choices=scale,
                widget=RatingWidget,
                required=required,
                initial=None if value is None else str(value),
            )
        else:
            for row in question.rows:
                name = field_name(question, row["value"])
                names.append(name)
                form.fields[name] = forms.ChoiceField(
                    choices=choices,
                    widget=forms.RadioSelect,
                    required=required,
                    initial=(value or {}).get(row["value"]),
                    label=row["label"],
                )
        if not names:
            names = [field_name(question)]
            form.fields[names[0]].label = question.text
        hint = ""
        if depends_here:
            source = next(
                q for q in structure.questions[section.pk] if q.pk == int(condition["question"])
            )
            label = source.option_labels().get(str(condition["value"]), str(condition["value"]))
            hint = _("第%(n)d题选“%(label)s”时填写") % {
                "n": structure.number_of(source),
                "label": label,
            }
        shown.append(
            {
                "question": question,
                "number": structure.number_of(question),
                "names": names,
                "hint": hint,
                # For the page's script, which hides the question while the condition fails.
                "show_if": (
                    {
                        "name": f"q{condition['question']}",
                        "op": condition["op"],
                        "value": condition["value"],
                    }
                    if depends_here
                    else None
                ),
            }
        )
    return form, shown


def answers_from(form: forms.Form, shown: list[dict[str, Any]]) -> dict[str, Any]:
    """The raw answers of the page, keyed like ``Response.answers`` (cleaned by the service)."""
    data: Any = form.data  # a QueryDict: multiple choices arrive as repeated keys
    out: dict[str, Any] = {}
    for item in shown:
        question: Question = item["question"]
        if question.kind == Kind.MULTIPLE:
            out[question.key] = data.getlist(item["names"][0])
        elif question.kind == Kind.MATRIX:
            out[question.key] = {
                row["value"]: data.get(field_name(question, row["value"]), "")
                for row in question.rows
                if data.get(field_name(question, row["value"]))
            }
        else:
            out[question.key] = data.get(item["names"][0], "")
    return out
