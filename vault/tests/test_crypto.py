from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.template import Context, Template

from vault import crypto

pytestmark = pytest.mark.django_db
PHONE = "13800138000"


def raw_phone(user_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM accounts_user WHERE id = %s", [user_id])
        return str(cursor.fetchone()[0])


def test_a_phone_is_stored_as_ciphertext_without_its_digits(citizen) -> None:
    stored = raw_phone(citizen.pk)
    assert stored.startswith(f"v1:{crypto.keyring()[0].key_id}:")
    assert PHONE not in stored
    assert not re.search(r"\d{7}", stored.split(":", 2)[2])
    assert get_user_model().objects.get(pk=citizen.pk).phone == PHONE


def test_the_same_phone_encrypts_differently_each_time() -> None:
    assert crypto.encrypt(PHONE) != crypto.encrypt(PHONE)


def test_a_citizen_is_found_by_the_blind_index_of_any_spelling_of_the_phone(citizen) -> None:
    User = get_user_model()
    for spelling in (PHONE, "+86 138-0013-8000", "86 13800138000"):
        assert User.objects.get(phone_hash=crypto.blind_index(spelling, "phone")) == citizen
    assert crypto.blind_index(PHONE, "phone") != crypto.blind_index(PHONE, "id")


def test_the_blind_index_does_not_depend_on_the_encryption_key(settings) -> None:
    before = crypto.blind_index(PHONE, "phone")
    settings.VAULT_KEYS = crypto.new_key_text()
    crypto.reset_keyring()
    try:
        assert crypto.blind_index(PHONE, "phone") == before
        settings.VAULT_INDEX_KEY = crypto.new_key_text()
        assert crypto.blind_index(PHONE, "phone") != before
    finally:
        crypto.reset_keyring()


def test_edited_ciphertext_fails_authentication(citizen) -> None:
    stored = raw_phone(citizen.pk)
    body = stored.split(":", 2)[2]
    flipped = body[:20] + ("A" if body[20] != "A" else "B") + body[21:]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_user SET phone = %s WHERE id = %s",
            [stored.rsplit(":", 1)[0] + ":" + flipped, citizen.pk],
        )
    with pytest.raises(crypto.VaultError, match="failed authentication"):
        get_user_model().objects.get(pk=citizen.pk)


def test_a_value_under_an_unknown_key_names_the_key() -> None:
    token = crypto.encrypt(PHONE)
    forged = token.replace(crypto.keyring()[0].key_id, "000000000000")
    with pytest.raises(crypto.VaultError, match="no key with id 000000000000"):
        crypto.decrypt(forged)


def test_an_old_key_still_decrypts_after_a_new_one_is_put_first(settings) -> None:
    old_token = crypto.encrypt(PHONE)
    settings.VAULT_KEYS = f"{crypto.new_key_text()},{settings.VAULT_KEYS}"
    crypto.reset_keyring()
    try:
        assert crypto.decrypt(old_token) == PHONE
        assert crypto.key_id_of(crypto.encrypt(PHONE)) != crypto.key_id_of(old_token)
    finally:
        crypto.reset_keyring()


def test_templates_mask_phone_and_id_numbers() -> None:
    template = Template(
        "{% load vault %}{{ phone|mask_phone }} {{ id|mask_id }} [{{ none|mask_phone }}]"
    )
    text = template.render(Context({"phone": PHONE, "id": "11010519491231002X", "none": None}))
    assert text == "138****8000 110105********002X []"
