from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from audit.models import AuditEntry
from vault import crypto, rotation

pytestmark = pytest.mark.django_db
PHONES = [f"139{n:08d}" for n in range(1, 8)]


def stored_key_ids() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM accounts_user WHERE phone <> ''")
        return {str(crypto.key_id_of(row[0])) for row in cursor.fetchall()}


def file_key_ids(path: Path) -> list[str]:
    return [k.key_id for k in crypto.parse_keys(path.read_text(encoding="ascii"))]


@pytest.fixture
def key_file(settings, tmp_path: Path) -> Iterator[Path]:
    """The embedded default: keys in a file that starts with the suite's key."""
    path = tmp_path / "vault.key"
    path.write_text(settings.VAULT_KEYS + "\n", encoding="ascii")
    settings.VAULT_KEYS = None
    settings.VAULT_KEY_FILE = path
    crypto.reset_keyring()
    yield path
    crypto.reset_keyring()


@pytest.fixture
def citizens(db) -> list:
    User = get_user_model()
    return [
        User.objects.create_user(f"c{n}", kind="citizen", phone=phone)
        for n, phone in enumerate(PHONES)
    ]


def run(*args: str) -> str:
    out = io.StringIO()
    extra = ["--no-progress"] if args[0] == "rotate-key" else []
    call_command("vault", *args, *extra, stdout=out)
    return out.getvalue()


def test_rotation_reencrypts_every_row_and_lookups_still_work(key_file: Path, citizens) -> None:
    old_id = crypto.keyring()[0].key_id
    new_text = crypto.new_key_text()
    new_id = crypto.parse_keys(new_text)[0].key_id
    out = run("rotate-key", "--new-key", new_text, "--batch-size", "3")

    assert f"OK: {len(PHONES)} values now under key {new_id}" in out
    assert stored_key_ids() == {new_id}
    assert file_key_ids(key_file) == [new_id, old_id]
    User = get_user_model()
    for phone in PHONES:
        assert User.objects.get(phone_hash=crypto.blind_index(phone, "phone")).phone == phone
    entry = AuditEntry.objects.get(action="vault.rotate")
    after = entry.after
    assert after is not None
    assert after["key_id"] == new_id and after["dropped_old"] is False
    # Every encrypted field of every app is counted; only the citizens' phones hold values here.
    counts = after["reencrypted"]
    assert counts["accounts.User.phone"] == len(PHONES)
    assert "accounts.User.totp_secret" in counts
    assert all(n == 0 for field, n in counts.items() if field != "accounts.User.phone")


def test_drop_old_leaves_only_the_new_key_once_everything_is_moved(
    key_file: Path, citizens
) -> None:
    run("rotate-key", "--generate", "--drop-old")
    assert len(file_key_ids(key_file)) == 1
    assert stored_key_ids() == {crypto.keyring()[0].key_id}
    assert [u.phone for u in get_user_model().objects.order_by("username")] == PHONES


def test_a_crash_midway_leaves_every_value_readable(key_file: Path, citizens) -> None:
    """The key file is rewritten before the pass, so half-moved rows stay readable."""
    old_id = crypto.keyring()[0].key_id
    new = crypto.parse_keys(crypto.new_key_text())[0]
    rotation.write_key_file(key_file, [new, *crypto.keyring()])
    column = next(c for c in rotation.vault_columns() if c.label == "accounts.User.phone")
    rotation._reencrypt_column(column, new.key_id, batch_size=2, progress=None)  # one column done…
    assert stored_key_ids() == {new.key_id}
    # … then pretend the process died before the next step: everything still reads.
    crypto.reset_keyring()
    assert [u.phone for u in get_user_model().objects.order_by("username")] == PHONES
    assert old_id in file_key_ids(key_file)


def test_rotation_stops_at_tampered_ciphertext_naming_the_column(key_file: Path, citizens) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_user SET phone = %s WHERE username = 'c3'",
            [crypto.encrypt("13900000003")[:-6] + "AAAAAA"],
        )
    with pytest.raises(
        Exception, match=r"accounts.User.phone: row pk=\d+: ciphertext failed authentication"
    ):
        run("rotate-key", "--generate")


def test_with_keys_from_the_environment_it_first_says_what_to_set(settings, citizens) -> None:
    old_text = settings.VAULT_KEYS
    old_id = crypto.keyring()[0].key_id
    new_text = crypto.new_key_text()
    out = run("rotate-key", "--new-key", new_text)
    assert f"MINSHENG_VAULT_KEYS={new_text},{old_text}" in out
    assert stored_key_ids() == {old_id}  # nothing re-encrypted yet

    settings.VAULT_KEYS = f"{new_text},{old_text}"
    crypto.reset_keyring()
    try:
        out = run("rotate-key")
        new_id = crypto.keyring()[0].key_id
        assert stored_key_ids() == {new_id}
        assert f"OK: {len(PHONES)} values now under key {new_id}" in out
        status = run("status")
        assert f"accounts.User.phone: {new_id} (current) {len(PHONES)}" in status
    finally:
        crypto.reset_keyring()


def test_status_counts_values_under_each_key(settings, citizens) -> None:
    current = crypto.keyring()[0].key_id
    assert f"accounts.User.phone: {current} (current) {len(PHONES)}" in run("status")
    other = crypto.new_key_text()
    settings.VAULT_KEYS = f"{other},{settings.VAULT_KEYS}"
    crypto.reset_keyring()
    try:
        get_user_model().objects.create_user("late", phone="13700000000")
        new_id = crypto.keyring()[0].key_id
        line = next(x for x in run("status").splitlines() if x.startswith("accounts.User.phone:"))
        assert f"{current} (old) {len(PHONES)}" in line
        assert f"{new_id} (current) 1" in line
    finally:
        crypto.reset_keyring()


def test_a_malformed_new_key_changes_nothing(key_file: Path, citizens) -> None:
    before = key_file.read_text(encoding="ascii")
    with pytest.raises(Exception, match="32 bytes"):
        run("rotate-key", "--new-key", base64.b64encode(b"short").decode())
    assert key_file.read_text(encoding="ascii") == before
