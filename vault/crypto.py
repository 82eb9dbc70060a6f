"""AES-GCM encryption and keyed hashes for citizens' phone and ID numbers.

Ciphertext format: ``v1:<key id>:<base64(nonce || ciphertext+tag)>``. The key id lets rotation
find rows still under an old key. Keys come from ``MINSHENG_VAULT_KEYS`` (comma-separated base64
32-byte keys, the first used for new writes); the embedded default creates ``var/vault.key``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1"


class VaultError(RuntimeError):
    """The vault cannot encrypt or decrypt: a key is missing or the data was tampered with."""


@dataclass(frozen=True)
class Key:
    key_id: str
    secret: bytes


def _key_id(secret: bytes) -> str:
    return hashlib.sha256(b"minsheng-vault-key-id" + secret).hexdigest()[:12]


def parse_keys(text: str) -> list[Key]:
    keys = []
    for part in text.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            secret = base64.b64decode(part, validate=True)
        except ValueError as exc:
            raise VaultError("a vault key is not valid base64") from exc
        if len(secret) != 32:
            raise VaultError("a vault key must be 32 bytes (base64 of 32 random bytes)")
        keys.append(Key(_key_id(secret), secret))
    if not keys:
        raise VaultError("no vault key configured")
    return keys


def new_key_text() -> str:
    return base64.b64encode(os.urandom(32)).decode("ascii")


@lru_cache(maxsize=1)
def keyring() -> tuple[Key, ...]:
    """The configured keys, current first. Cleared by ``reset_keyring`` after a rotation."""
    from django.conf import settings

    text = settings.VAULT_KEYS
    if not text:
        path = settings.VAULT_KEY_FILE
        if not path.exists():
            if settings.PRODUCTION:
                raise VaultError("MINSHENG_VAULT_KEYS must be set in production")
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(new_key_text() + "\n")
        text = path.read_text(encoding="ascii")
    return tuple(parse_keys(text))


def reset_keyring() -> None:
    keyring.cache_clear()


def encrypt(plaintext: str) -> str:
    key = keyring()[0]
    nonce = os.urandom(12)
    sealed = AESGCM(key.secret).encrypt(nonce, plaintext.encode("utf-8"), key.key_id.encode())
    return f"{PREFIX}:{key.key_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"


def key_id_of(token: str) -> str | None:
    parts = token.split(":", 2)
    return parts[1] if len(parts) == 3 and parts[0] == PREFIX else None


def decrypt(token: str) -> str:
    parts = token.split(":", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        raise VaultError("value is not vault ciphertext")
    _, key_id, body = parts
    for key in keyring():
        if key.key_id == key_id:
            raw = base64.b64decode(body)
            try:
                plain = AESGCM(key.secret).decrypt(raw[:12], raw[12:], key_id.encode())
            except Exception as exc:  # InvalidTag: wrong key or edited ciphertext
                raise VaultError("ciphertext failed authentication") from exc
            return plain.decode("utf-8")
    raise VaultError(f"no key with id {key_id} is configured")


def blind_index(value: str, purpose: str) -> str:
    """A keyed hash for exact lookup; derived from the current key, so rotation recomputes it."""
    secret = hmac.new(keyring()[0].secret, b"blind-index:" + purpose.encode(), "sha256").digest()
    return hmac.new(secret, normalise_for_index(value).encode("utf-8"), "sha256").hexdigest()


def normalise_for_index(value: str) -> str:
    cleaned = "".join(ch for ch in value.strip() if ch.isalnum()).upper()
    if cleaned.startswith("86") and len(cleaned) == 13:
        cleaned = cleaned[2:]
    return cleaned


def mask_phone(phone: str) -> str:
    """138****1234: keep the carrier prefix and the last four digits."""
    digits = normalise_for_index(phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(number: str) -> str:
    """110105********123X: keep the region code and the last four characters."""
    cleaned = normalise_for_index(number)
    if len(cleaned) < 10:
        return "*" * len(cleaned)
    return cleaned[:6] + "*" * (len(cleaned) - 10) + cleaned[-4:]
