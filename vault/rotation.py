"""Key rotation: re-encrypt every vault value in every installed model under the current key.

Order matters for crash safety. With the embedded key file, the file is rewritten first with the
new key in front and every old key after it, so whatever row a crash leaves behind is still
readable; only after a complete pass may ``drop_old`` remove the old keys.

With keys from ``MINSHENG_VAULT_KEYS`` this process cannot tell the other processes about a new
key, and a row re-encrypted under a key they do not have would break them. So rotation is two
steps there: ``plan_env_rotation`` says what to set (new key first, old keys after); once every
process runs with it, ``reencrypt_all`` re-encrypts under it.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models.functions import Cast, Substr

from vault import crypto
from vault.fields import EncryptedCharField

Progress = Callable[[int], None]


@dataclass(frozen=True)
class VaultColumn:
    model: type[models.Model]
    field: EncryptedCharField

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"

    def rows(self) -> models.QuerySet[Any]:
        # The base manager: no custom filtering and no refusing update() on the way.
        return self.model._base_manager.all()


@dataclass
class RotationReport:
    key_id: str
    reencrypted: dict[str, int] = field(default_factory=dict)
    dropped_old: bool = False

    @property
    def total(self) -> int:
        return sum(self.reencrypted.values())


def vault_columns() -> list[VaultColumn]:
    """Every EncryptedCharField stored in a table of an installed model."""
    columns = []
    for model in apps.get_models():
        opts = model._meta
        if opts.proxy or not opts.managed:
            continue
        for model_field in opts.concrete_fields:
            if isinstance(model_field, EncryptedCharField):
                columns.append(VaultColumn(model, model_field))
    return sorted(columns, key=lambda c: c.label)


def _stale(column: VaultColumn, current_id: str) -> models.QuerySet[Any]:
    name = column.field.attname
    # startswith is compared as written (no encryption of the pattern), so it sees the raw prefix.
    return (
        column.rows()
        .exclude(**{f"{name}__startswith": f"{crypto.PREFIX}:{current_id}:"})
        .exclude(**{f"{name}__isnull": True})
        .exclude(**{name: ""})
    )


def count_stale(current_id: str | None = None) -> dict[str, int]:
    current_id = current_id or crypto.keyring()[0].key_id
    return {c.label: _stale(c, current_id).count() for c in vault_columns()}


def _reencrypt_column(
    column: VaultColumn, current_id: str, batch_size: int, progress: Progress | None
) -> int:
    name = column.field.attname
    done = 0
    last_pk: Any = None
    while True:
        with transaction.atomic():
            qs = _stale(column, current_id).order_by("pk")
            if last_pk is not None:
                qs = qs.filter(pk__gt=last_pk)
            pks = list(qs.select_for_update().values_list("pk", flat=True)[:batch_size])
            if not pks:
                return done
            rows = []
            # Read the raw ciphertext (a plain-text cast skips the field's decryption) so a value
            # that fails to decrypt is reported with its row.
            raw_rows = (
                column.rows()
                .filter(pk__in=pks)
                .annotate(_raw=Cast(name, output_field=models.TextField()))
                .values_list("pk", "_raw")
            )
            for pk, token in raw_rows:
                try:
                    plain = crypto.decrypt(token)
                except crypto.VaultError as exc:
                    raise crypto.VaultError(f"row pk={pk}: {exc}") from exc
                rows.append(column.model(pk=pk, **{name: plain}))
            column.rows().bulk_update(rows, [column.field.name])
            last_pk = pks[-1]
        done += len(pks)
        if progress is not None:
            progress(len(pks))


def reencrypt_all(batch_size: int = 500, progress: Progress | None = None) -> dict[str, int]:
    """Re-encrypt every value not under the current key, batch by batch (one transaction each).

    Raises ``VaultError`` naming the column and row if a value cannot be decrypted.
    """
    crypto.reset_keyring()
    current_id = crypto.keyring()[0].key_id
    counts: dict[str, int] = {}
    for column in vault_columns():
        try:
            counts[column.label] = _reencrypt_column(column, current_id, batch_size, progress)
        except crypto.VaultError as exc:
            raise crypto.VaultError(f"{column.label}: {exc}") from exc
    left = {label: n for label, n in count_stale(current_id).items() if n}
    if left:
        raise crypto.VaultError(f"values still under an old key after the pass: {left}")
    return counts


def write_key_file(path: Path, keys: list[crypto.Key]) -> None:
    """Replace the key file atomically (write aside, fsync, rename), mode 0600."""
    import base64

    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(base64.b64encode(k.secret).decode("ascii") + "\n" for k in keys)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".vault-key-")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    crypto.reset_keyring()


def _with_new_first(new: crypto.Key, keys: tuple[crypto.Key, ...]) -> list[crypto.Key]:
    return [new, *(k for k in keys if k.key_id != new.key_id)]


def rotate_file_keys(
    new_key_text: str | None,
    *,
    drop_old: bool = False,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> RotationReport:
    """Embedded default: put the new key first in the key file, re-encrypt, optionally drop old."""
    if not crypto.keys_from_file():
        raise crypto.VaultError("keys come from MINSHENG_VAULT_KEYS; see plan_env_rotation")
    path: Path = settings.VAULT_KEY_FILE
    keys = crypto.keyring()
    if new_key_text:
        new = crypto.parse_keys(new_key_text)[0]
        write_key_file(path, _with_new_first(new, keys))
    counts = reencrypt_all(batch_size, progress)
    current = crypto.keyring()[0]
    report = RotationReport(current.key_id, counts)
    if drop_old and len(crypto.keyring()) > 1:
        write_key_file(path, [current])
        report.dropped_old = True
    return report


def plan_env_rotation(new_key_text: str) -> str:
    """The ``MINSHENG_VAULT_KEYS`` value to set everywhere: the new key, then the current ones."""
    import base64

    new = crypto.parse_keys(new_key_text)[0]
    keys = _with_new_first(new, crypto.keyring())
    return ",".join(base64.b64encode(k.secret).decode("ascii") for k in keys)


def key_usage() -> dict[str, Counter[str]]:
    """Per column, how many stored values are under each key id ("" = not vault ciphertext)."""
    usage: dict[str, Counter[str]] = {}
    for column in vault_columns():
        name = column.field.attname
        rows = (
            column.rows()
            .exclude(**{f"{name}__isnull": True})
            .exclude(**{name: ""})
            .annotate(
                # A plain CharField output, or the field would try to decrypt the fragment.
                _prefix=Substr(name, 1, 3, output_field=models.CharField()),
                _kid=Substr(name, 4, 12, output_field=models.CharField()),
            )
            .values_list("_prefix", "_kid")
            .annotate(n=models.Count("pk"))
            .order_by()
        )
        counter: Counter[str] = Counter()
        for prefix, kid, n in rows:
            counter[kid if prefix == f"{crypto.PREFIX}:" else ""] += n
        usage[column.label] = counter
    return usage
