"""Forms of the exemplar pages: campaign set-up, nomination, review reasons, objections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from exemplars.models import Campaign, NominatorKind, VotePeriod
from exemplars.services import MAX_PHOTOS

PHONE = RegexValidator(r"^1[3-9][0-9]{9}$", _("请输入 11 位手机号"))


class CampaignForm(forms.Form):
    title = forms.CharField(label=_("名称"), max_length=120)
    kind = forms.CharField(label=_("类别"), max_length=40, initial=_("身边好人"))
    owner_label = forms.CharField(label=_("主办单位"), max_length=120, required=False)
    description = forms.CharField(
        label=_("说明"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    categories = forms.CharField(
        label=_("评选类别"),
        help_text=_("每行一个，例如：助人为乐、见义勇为、诚实守信、敬业奉献、孝老爱亲"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    voting_opens = forms.DateTimeField(
        label=_("投票开始"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    voting_closes = forms.DateTimeField(
        label=_("投票截止"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    vote_period = forms.ChoiceField(label=_("投票规则"), choices=VotePeriod.choices)
    picks_per_category = forms.IntegerField(
        label=_("每个类别可选人数"), min_value=1, max_value=50, initial=3
    )
    honours_per_category = forms.IntegerField(
        label=_("每类入选人数"), min_value=1, max_value=50, initial=3
    )
    require_real_name = forms.BooleanField(label=_("要求实名投票"), required=False)

    def category_names(self) -> list[str]:
        return [
            line.strip() for line in self.cleaned_data["categories"].splitlines() if line.strip()
        ]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several photos in one input; their content is checked by the service (Pillow)."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files: Sequence[Any] = data if isinstance(data, list | tuple) else ([data] if data else [])
        files = [f for f in files if f]
        if len(files) > MAX_PHOTOS:
            raise forms.ValidationError(_("至多上传 %(n)s 张照片") % {"n": MAX_PHOTOS})
        return list(files)


class NominationForm(forms.Form):
    category = forms.ChoiceField(label=_("推荐类别"))
    name = forms.CharField(label=_("被推荐人姓名"), max_length=40)
    affiliation = forms.CharField(
        label=_("所在单位或社区"), max_length=80, help_text=_("例如：东华社区居民、市第一中学教师")
    )
    phone = forms.CharField(
        label=_("被推荐人联系电话"),
        max_length=11,
        required=False,
        validators=[PHONE],
        help_text=_("仅供组织者核实事迹，不公开"),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    story = forms.CharField(
        label=_("先进事迹"),
        min_length=30,
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    evidence = forms.CharField(
        label=_("佐证材料"),
        max_length=2000,
        required=False,
        help_text=_("例如：受助人、见证人、报道或表彰的说明"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    nominator_kind = forms.ChoiceField(label=_("推荐方式"), choices=NominatorKind.choices)
    nominator_label = forms.CharField(
        label=_("推荐单位或组织"),
        max_length=120,
        required=False,
        help_text=_("单位或组织推荐时填写"),
    )
    photos = PhotosField(
        label=_("照片"), required=False, help_text=_("至多 6 张，JPEG、PNG 或 WebP")
    )

    def __init__(self, *args: Any, campaign: Campaign, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        category = self.fields["category"]
        assert isinstance(category, forms.ChoiceField)
        category.choices = [(str(c.pk), c.name) for c in campaign.categories.all()]
        self.fields["photos"].widget.attrs["accept"] = "image/jpeg,image/png,image/webp"


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("理由"), min_length=2, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class ObjectionForm(forms.Form):
    text = forms.CharField(
        label=_("异议内容"),
        min_length=10,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
