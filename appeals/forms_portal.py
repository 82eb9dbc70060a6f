"""Forms of the citizen pages and the hotline agent's entry: submit, look up, rate, withdraw, reopen.

The forms parse what a person typed and say, next to the field, what is wrong with it; the rules
about who may do what in which state live in ``appeals.services``. Field names match the services'
``field`` in their 422 answers (``text``, ``category``, ``contact_phone``, ``photos``, ``comment``),
so a service's complaint lands beside the field it is about. Ids are stable
(``id_text``, ``id_rate-rating_0``) for people, tests and the journeys built on these pages.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from accounts.forms import AccessibleForm
from appeals import photos
from appeals.models import TEXT_LIMIT, Rating
from org.models import Category
from vault.validators import normalise_mobile

CODE_PATTERN = r"^[A-Za-z0-9-]{4,32}$"
REASON_LIMIT = 1000


def category_choices() -> list[tuple[str, Any]]:
    """Active categories as a two-level select: one group per first-level category.

    A first-level category without sub-categories is offered on its own; one with sub-categories
    only through them, since the unit that handles it is named on the sub-category.
    """
    rows = list(Category.objects.active().select_related("parent").order_by("sort_order", "code"))
    children: dict[int, list[Category]] = {}
    for row in rows:
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(row)
    choices: list[tuple[str, Any]] = [("", _("不确定，由工作人员分类"))]
    for top in (r for r in rows if r.parent_id is None):
        subs = children.get(top.pk, [])
        if subs:
            choices.append((top.name, [(c.code, c.name) for c in subs]))
        else:
            choices.append((top.code, top.name))
    return choices


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several photos in one input. Type and content are checked by ``appeals.photos.attach``;
    the count and the size are checked here too, before anything is stored."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files: Sequence[Any] = data if isinstance(data, list | tuple) else ([data] if data else [])
        files = [f for f in files if f]
        limit = photos.max_photos()
        if len(files) > limit:
            raise ValidationError(
                _("照片太多（%(n)s 张），每件诉求至多 %(max)s 张。")
                % {"n": len(files), "max": limit},
                code="too_many",
            )
        biggest = photos.max_bytes()
        for f in files:
            if f.size is not None and f.size > biggest:
                raise ValidationError(
                    _("照片“%(name)s”太大（%(size).1f MB，至多 %(max).1f MB）。")
                    % {"name": f.name, "size": f.size / 1048576, "max": biggest / 1048576},
                    code="too_large",
                )
            if f.content_type and not f.content_type.startswith("image/"):
                raise ValidationError(
                    _("“%(name)s”不是图片，请选择 JPEG、PNG 或 WebP 格式的照片。")
                    % {"name": f.name},
                    code="not_image",
                )
        return list(files)


class AppealForm(AccessibleForm):
    """What a citizen writes on the web form; the agent's form below adds nothing but its labels."""

    text = forms.CharField(
        label=_("反映的问题"),
        help_text=_("请写清楚什么事、在哪里、持续多久、希望怎样解决。至多 %(max)s 字。")
        % {"max": TEXT_LIMIT},
        max_length=TEXT_LIMIT,
        error_messages={
            "required": _("请写下您要反映的问题。"),
            "max_length": _(
                "内容太长（%(show_value)s 字），至多 %(limit_value)s 字，请精简后再提交。"
            ),
        },
        widget=forms.Textarea(attrs={"rows": 7, "data-limit": str(TEXT_LIMIT)}),
    )
    category = forms.ChoiceField(
        label=_("问题类别（可不选）"),
        required=False,
        error_messages={"invalid_choice": _("请从列表中选择问题类别，或选“不确定”。")},
    )
    address = forms.CharField(
        label=_("地址"),
        required=False,
        max_length=255,
        help_text=_("例如：东华路 12 号菜市场门口。"),
        error_messages={"max_length": _("地点太长，至多 %(limit_value)s 字。")},
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    lat = forms.DecimalField(
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=Decimal(-90),
        max_value=Decimal(90),
        widget=forms.HiddenInput,
        error_messages={"invalid": _("位置坐标有误，请清除后重新定位。")},
    )
    lng = forms.DecimalField(
        required=False,
        max_digits=9,
        decimal_places=6,
        min_value=Decimal(-180),
        max_value=Decimal(180),
        widget=forms.HiddenInput,
        error_messages={"invalid": _("位置坐标有误，请清除后重新定位。")},
    )
    photos = PhotosField(
        label=_("照片（可选）"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    contact_name = forms.CharField(
        label=_("称呼（可选）"),
        required=False,
        max_length=64,
        help_text=_("例如：张先生。"),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    # One per rendered form: the same form sent twice takes one appeal in (views_portal).
    token = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    contact_phone = forms.CharField(
        label=_("手机号（可选）"),
        required=False,
        max_length=32,
        help_text=_("留下手机号，办理进展会短信告诉您；号码加密保存。不留也可以匿名反映。"),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("token", secrets.token_urlsafe(16))
        self.fields["category"].choices = category_choices()  # type: ignore[attr-defined]
        self.fields["photos"].help_text = _(
            "可选 %(max)s 张，每张不超过 %(mb)s MB，JPEG、PNG 或 WebP。照片中的拍摄位置等信息会被去除。"
        ) % {"max": photos.max_photos(), "mb": photos.max_bytes() // 1048576}

    def clean_contact_phone(self) -> str:
        raw = str(self.cleaned_data.get("contact_phone") or "").strip()
        if not raw:
            return ""
        try:
            return normalise_mobile(raw)
        except ValidationError as exc:
            raise ValidationError(exc.messages[0], code="invalid_mobile") from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("lat") is None) != (data.get("lng") is None) and not (
            self.has_error("lat") or self.has_error("lng")
        ):
            self.add_error("address", _("位置坐标不完整，请清除后重新定位。"))
        return data


class AgentAppealForm(AppealForm):
    """The hotline agent types what a caller says; the caller's number is how we reach them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["text"].label = _("来电反映的问题")
        self.fields["text"].help_text = _(
            "按来电人所述记录：什么事、在哪里、持续多久、诉求是什么。"
        )
        self.fields["contact_name"].label = _("来电人称呼（可选）")
        self.fields["contact_phone"].label = _("来电号码（可选）")
        self.fields["contact_phone"].help_text = _("中国大陆手机号；来电人不愿留号可空着。")
        self.fields["photos"].label = _("照片（可选，如来电人另行提供）")


class LookupForm(AccessibleForm):
    """Code and secret, as given at intake."""

    code = forms.RegexField(
        label=_("受理编号"),
        regex=CODE_PATTERN,
        max_length=32,
        help_text=_("受理时告知的编号，例如 MS-2025-000123"),
        error_messages={
            "required": _("请输入受理编号"),
            "invalid": _("受理编号由字母、数字和连字符组成，4 到 32 位"),
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )
    secret = forms.CharField(
        label=_("查询码"),
        max_length=64,
        required=False,
        help_text=_("受理时一同告知的 10 位查询码（字母和数字，不区分大小写）"),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )

    def clean_code(self) -> str:
        return str(self.cleaned_data["code"]).strip().upper()

    def clean_secret(self) -> str:
        return "".join(str(self.cleaned_data.get("secret") or "").split()).upper()


class RateForm(AccessibleForm):
    rating = forms.ChoiceField(
        label=_("您对办理结果的评价"),
        choices=Rating.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("请选择满意、基本满意或不满意。"),
            "invalid_choice": _("请选择满意、基本满意或不满意。"),
        },
    )
    comment = forms.CharField(
        label=_("意见"),
        required=False,
        max_length=TEXT_LIMIT,
        help_text=_("选“不满意”时请写明原因，我们会据此重新办理。"),
        error_messages={"max_length": _("意见太长，至多 %(limit_value)s 字。")},
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "rate")
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("rating") == Rating.UNSATISFIED and not (data.get("comment") or "").strip():
            self.add_error("comment", _("不满意请说明原因，以便重新办理。"))
        return data


class WithdrawForm(AccessibleForm):
    reason = forms.CharField(
        label=_("撤回原因（可选）"),
        required=False,
        max_length=REASON_LIMIT,
        error_messages={"max_length": _("原因太长，至多 %(limit_value)s 字。")},
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    confirm = forms.BooleanField(
        label=_("我确认撤回这件诉求，撤回后不再办理"),
        error_messages={"required": _("请勾选确认后再撤回。")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "withdraw")
        super().__init__(*args, **kwargs)


class ReasonForm(AccessibleForm):
    """Reopening (重新办理) and a 复查 request both need the citizen's reason."""

    reason = forms.CharField(
        label=_("理由"),
        max_length=TEXT_LIMIT,
        error_messages={
            "required": _("请写明理由。"),
            "max_length": _("理由太长，至多 %(limit_value)s 字。"),
        },
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReopenForm(ReasonForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "reopen")
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = _("还有什么没有解决")


class ReviewRequestForm(ReasonForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "review")
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = _("对答复意见不服的理由")
