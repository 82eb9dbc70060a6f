"""Sign-in forms. Every input has a label, an autocomplete hint, and its errors linked to it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.boundfield import BoundField
from django.utils.translation import gettext_lazy as _

NON_FIELD_ERRORS_ID = "form-errors"


class AccessibleBoundField(BoundField):
    """Also points screen readers at the form-wide error (e.g. "wrong name or password")."""

    @property
    def aria_describedby(self) -> str | None:
        ids = super().aria_describedby
        if self.form.non_field_errors() and not self.is_hidden:
            return f"{ids or ''} {NON_FIELD_ERRORS_ID}".strip()
        return ids


class AccessibleForm(forms.Form):
    bound_field_class = AccessibleBoundField
    non_field_errors_id = NON_FIELD_ERRORS_ID


def _code_widget(*, numeric: bool = True) -> forms.TextInput:
    attrs = {"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "off"}
    if numeric:
        attrs |= {"inputmode": "numeric", "pattern": "[0-9 ]*", "maxlength": "8"}
    return forms.TextInput(attrs=attrs)


class StaffLoginForm(AccessibleForm):
    username = forms.CharField(
        label=_("用户名"),
        max_length=150,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )
    password = forms.CharField(
        label=_("密码"),
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class SecondFactorForm(AccessibleForm):
    code = forms.CharField(
        label=_("动态口令"),
        max_length=16,
        help_text=_("打开验证器应用，输入其中显示的 6 位数字。"),
        widget=_code_widget(),
    )

    def __init__(self, *args: Any, recovery: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if recovery:
            field = self.fields["code"]
            field.label = _("恢复码")
            field.help_text = _(
                "输入启用动态口令时保存的恢复码之一，如 abcde-fghjk；每个只能用一次。"
            )
            field.widget = _code_widget(numeric=False)


class TotpConfirmForm(AccessibleForm):
    code = forms.CharField(
        label=_("验证器上的 6 位口令"),
        max_length=16,
        help_text=_("扫码或手动输入密钥后，输入验证器显示的当前口令，以确认绑定成功。"),
        widget=_code_widget(),
    )


class TotpDisableForm(AccessibleForm):
    password = forms.CharField(
        label=_("密码"),
        strip=False,
        max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=_("动态口令或恢复码"),
        max_length=16,
        widget=_code_widget(numeric=False),
    )


class RecoveryCodesForm(AccessibleForm):
    code = forms.CharField(
        label=_("当前动态口令"),
        max_length=16,
        help_text=_("重新生成后，旧的恢复码全部作废。"),
        widget=_code_widget(),
    )


class PhoneForm(AccessibleForm):
    phone = forms.CharField(
        label=_("手机号"),
        max_length=32,
        help_text=_("中国大陆手机号，我们会发送 6 位验证码。"),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )


class PhoneCodeForm(AccessibleForm):
    code = forms.CharField(
        label=_("短信验证码"),
        max_length=16,
        help_text=_("短信中的 6 位数字。"),
        widget=_code_widget(),
    )


class TokenCreateForm(AccessibleForm):
    name = forms.CharField(
        label=_("令牌名称"),
        max_length=100,
        help_text=_("写明用途，例如“12345 热线系统对接”。"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    days = forms.IntegerField(
        label=_("有效天数"),
        required=False,
        min_value=1,
        max_value=3650,
        help_text=_("留空表示长期有效（仍可随时吊销）。"),
        widget=forms.NumberInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
