"""``minsheng backup`` and ``minsheng restore``: a round trip on the test database (SQLite's online
backup API or pg_dump/pg_restore, whichever the run uses), and the archives restore refuses."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from appeals import services as appeals
from appeals.models import Appeal
from audit.models import AuditEntry
from audit.services import head
from audit.verify import verify_chain
from minsheng import backup
from org import services as org
from org.models import Unit
from vault import crypto

pytestmark = pytest.mark.django_db(transaction=True)


def _snapshot() -> dict[str, Any]:
    return {
        "units": sorted(Unit.objects.values_list("code", "name", "parent__code")),
        "appeals": sorted(Appeal.objects.values_list("code", "text", "state", "contact_phone")),
        "audit": list(AuditEntry.objects.order_by("seq").values_list("seq", "action", "hash")),
    }


def _submit(text: str) -> Appeal:
    appeal, _secret = appeals.do_submit(
        None,
        appeals.Submission(text=text, title="", contact_phone="13912345678"),
    )
    return appeal


def _rewrite(
    archive: Path,
    out: Path,
    *,
    manifest: dict[str, Any] | None = None,
    database: bytes | None = None,
) -> Path:
    """A copy of ``archive`` with its manifest fields or its database bytes replaced."""
    with tarfile.open(archive, "r:gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    data = json.loads(members[backup.MANIFEST])
    data.update(manifest or {})
    members[backup.MANIFEST] = json.dumps(data).encode()
    if database is not None:
        members[data["member"]] = database
    with tarfile.open(out, "w:gz") as tar:
        for name in (backup.MANIFEST, data["member"]):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            tar.addfile(info, io.BytesIO(members[name]))
    return out


def test_a_restored_backup_gives_back_the_data_and_an_audit_chain_that_verifies(
    org_tree: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _submit("楼下餐馆油烟直排，家里窗户都不敢开。")
    before = _snapshot()
    seq, digest = head()
    archive = tmp_path / "minsheng.tar.gz"
    call_command("backup", "--out", str(archive))
    manifest = backup.inspect(archive)
    assert (manifest.audit_seq, manifest.audit_hash) == (seq, digest)
    assert manifest.vendor in {"sqlite", "postgresql"}
    assert "appeals.0001_initial" in manifest.migrations
    assert manifest.vault_key_ids == [k.key_id for k in crypto.keyring()]
    assert not any(k.secret.hex() in archive.read_bytes().hex() for k in crypto.keyring())

    # Life goes on after the backup: a new unit, another appeal, one appeal withdrawn.
    org.create_unit(None, code="after-backup", name="备份后新建的单位", kind=Unit.Kind.GOVERNMENT)
    later = _submit("公交站的遮雨棚被风刮坏了。")
    assert _snapshot() != before

    call_command("restore", str(archive), "--yes")
    out = capsys.readouterr()
    assert "verifying the audit chain" in out.err
    assert _snapshot() == before
    assert not Appeal.objects.filter(pk=later.pk).exists()
    result = verify_chain(anchor=digest)
    assert result.ok, result.summary()
    assert head() == (seq, digest)
    # The restored database takes new writes and the chain goes on from the restored head.
    _submit("restored and writing again: 路口红绿灯时间太短。")
    assert verify_chain().ok


def test_restore_refuses_a_damaged_archive_and_leaves_the_database_as_it_was(
    org_tree: Any, tmp_path: Path
) -> None:
    archive = tmp_path / "good.tar.gz"
    backup.backup(archive)
    org.create_unit(None, code="kept", name="还原失败后仍在的单位", kind=Unit.Kind.GOVERNMENT)
    now = _snapshot()

    with tarfile.open(archive, "r:gz") as tar:
        manifest = json.loads(tar.extractfile(backup.MANIFEST).read())  # type: ignore[union-attr]
        raw = tar.extractfile(manifest["member"]).read()  # type: ignore[union-attr]
    flipped = bytearray(raw)
    flipped[len(flipped) // 2] ^= 0xFF
    damaged = _rewrite(archive, tmp_path / "damaged.tar.gz", database=bytes(flipped))
    with pytest.raises(CommandError, match="does not match its checksum"):
        call_command("restore", str(damaged), "--yes")

    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(CommandError, match="damaged or cut short"):
        call_command("restore", str(cut), "--yes")

    not_ours = tmp_path / "not-ours.tar.gz"
    with tarfile.open(not_ours, "w:gz") as tar:
        info = tarfile.TarInfo("notes.txt")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(CommandError, match="not a minsheng backup"):
        call_command("restore", str(not_ours), "--yes")
    assert _snapshot() == now


def test_restore_refuses_another_vendor_a_newer_minsheng_and_unknown_vault_keys(
    org_tree: Any, tmp_path: Path
) -> None:
    archive = tmp_path / "good.tar.gz"
    manifest = backup.backup(archive)
    other = "postgresql" if manifest.vendor == "sqlite" else "sqlite"
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "other vendor": ({"vendor": other}, f"holds a {other} database"),
        "newer": (
            {"migrations": [*manifest.migrations, "appeals.9999_from_the_future"]},
            "made by a newer minsheng",
        ),
        "keys": ({"vault_key_ids": ["0123456789ab"]}, "restore the key file"),
        "format": ({"format": 99}, "archive format 99"),
    }
    for name, (change, message) in cases.items():
        bad = _rewrite(archive, tmp_path / f"{name}.tar.gz", manifest=change)
        with pytest.raises(CommandError, match=message):
            call_command("restore", str(bad), "--yes")
    call_command("restore", str(archive), "--check")


def test_restore_without_yes_asks_and_refuses_when_nobody_can_answer(
    org_tree: Any, tmp_path: Path
) -> None:
    archive = tmp_path / "good.tar.gz"
    backup.backup(archive)
    with pytest.raises(CommandError, match="pass --yes"):
        call_command("restore", str(archive))
