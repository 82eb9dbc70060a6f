from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.core.exceptions import ValidationError

from vault.validators import (
    IdNumberField,
    MobileField,
    id_check_character,
    normalise_id_number,
    normalise_mobile,
)

# The sample numbers printed in GB 11643-1999 itself.
VALID_IDS = ["11010519491231002X", "440524188001010014"]


@pytest.mark.parametrize("number", VALID_IDS)
def test_it_accepts_the_standards_own_examples(number: str) -> None:
    assert normalise_id_number(number) == number
    assert id_check_character(number[:17]) == number[17]


def test_it_accepts_a_lower_case_x_and_spaces() -> None:
    assert normalise_id_number(" 110105 19491231 002x ") == "11010519491231002X"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("110105194912310021", "id_checksum"),
        ("11010519490231002X", "id_birth_date"),
        ("99010519491231002X", "id_region"),
        ("1101051949123100", "id_format"),
        ("110105194912310", "id_legacy"),
        ("11010520991231002X", "id_birth_date"),
    ],
)
def test_it_says_what_is_wrong_with_an_id_number(number: str, code: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalise_id_number(number, today=dt.date(2026, 1, 1))
    assert info.value.code == code


@pytest.mark.parametrize(
    "spelling", ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "(138)00138000"]
)
def test_it_normalises_a_mobile_number(spelling: str) -> None:
    assert normalise_mobile(spelling) == "13800138000"


@pytest.mark.parametrize("bad", ["12800138000", "1380013800", "138001380001", "电话13800138000"])
def test_it_rejects_what_is_not_a_mainland_mobile(bad: str) -> None:
    with pytest.raises(ValidationError, match="不是有效的手机号码"):
        normalise_mobile(bad)


class ContactForm(forms.Form):
    phone = MobileField()
    id_number = IdNumberField(required=False)


def test_form_fields_clean_to_the_stored_form() -> None:
    form = ContactForm({"phone": "+86 138-0013-8000", "id_number": "11010519491231002x"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"phone": "13800138000", "id_number": "11010519491231002X"}
    bad = ContactForm({"phone": "123", "id_number": "110105194912310021"})
    assert not bad.is_valid()
    assert set(bad.errors) == {"phone", "id_number"}
