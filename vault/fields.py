"""Model fields that keep personal data encrypted at rest."""

from __future__ import annotations

from typing import Any

from django.db import models

from vault import crypto


class EncryptedCharField(models.TextField):
    """Stores AES-GCM ciphertext; Python code sees the plaintext string.

    Not searchable: pair it with a ``CharField`` holding ``crypto.blind_index`` for lookups.
    """

    description = "Encrypted text (AES-GCM)"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value))
