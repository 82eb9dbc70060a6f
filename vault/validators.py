"""Validation of Chinese mobile numbers and resident ID numbers for every app's forms.

``validate_mobile`` / ``normalise_mobile`` accept +86, spaces and dashes and keep the 11 digits.
``validate_id_number`` checks a second-generation resident ID (GB 11643-1999): 18 characters,
a plausible region code, a real date of birth not in the future, and the ISO 7064 MOD 11-2
check character. ``MobileField`` and ``IdNumberField`` are form fields doing the same.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

_MOBILE = re.compile(r"1[3-9]\d{9}")
_ID = re.compile(r"\d{17}[\dX]")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# First two digits: the province-level region (GB/T 2260), 11 北京 … 82 澳门.
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)


def normalise_mobile(value: str) -> str:
    """The 11 digits of a mainland mobile number, or ``ValidationError``."""
    raw = (value or "").strip()
    digits = re.sub(r"[\s\-()]", "", raw)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not _MOBILE.fullmatch(digits):
        raise ValidationError(
            _("“%(value)s”不是有效的手机号码：应为 1 开头的 11 位数字。"),
            code="invalid_mobile",
            params={"value": raw},
        )
    return digits


def validate_mobile(value: str) -> None:
    normalise_mobile(value)


def id_check_character(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalise_id_number(value: str, *, today: dt.date | None = None) -> str:
    """The 18-character ID number (upper-case X), or ``ValidationError`` saying what is wrong."""
    raw = (value or "").strip()
    number = re.sub(r"\s", "", raw).upper()
    if len(number) == 15 and number.isdigit():
        raise ValidationError(
            _("请使用 18 位第二代居民身份证号码（15 位旧号码已停用）。"), code="id_legacy"
        )
    if not _ID.fullmatch(number):
        raise ValidationError(
            _("身份证号码应为 18 位：17 位数字加 1 位数字或 X。"), code="id_format"
        )
    if int(number[:2]) not in _PROVINCES:
        raise ValidationError(_("身份证号码的地区代码无效。"), code="id_region")
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(_("身份证号码中的出生日期无效。"), code="id_birth_date") from None
    today = today or timezone.localdate()
    if born > today:
        raise ValidationError(_("身份证号码中的出生日期无效。"), code="id_birth_date")
    if id_check_character(number[:17]) != number[17]:
        raise ValidationError(_("身份证号码校验位不正确，请核对是否输错。"), code="id_checksum")
    return number


def validate_id_number(value: str) -> None:
    normalise_id_number(value)


class MobileField(forms.CharField):
    """A form field that cleans to the 11-digit mobile number."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("label", _("手机号码"))
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "tel")
        self.widget.attrs.setdefault("autocomplete", "tel")

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        return normalise_mobile(value) if value else value


class IdNumberField(forms.CharField):
    """A form field that cleans to the 18-character resident ID number."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 24)
        kwargs.setdefault("label", _("身份证号码"))
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("autocomplete", "off")

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        return normalise_id_number(value) if value else value
