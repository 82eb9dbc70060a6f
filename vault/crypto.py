"""AES-GCM encryption and keyed hashes for citizens' phone and ID numbers.

Ciphertext format: ``v1:<key id>:<base64(nonce || ciphertext+tag)>``. The key id lets rotation
find rows still under an old key. Keys come from ``MINSHENG_VAULT_KEYS`` (comma-separated base64
32-byte keys, the first used for new writes); the embedded default creates ``var/vault.key``.

Blind indexes (keyed hashes for exact lookup) use a separate key, ``MINSHENG_VAULT_INDEX_KEY``
(embedded default ``var/vault-index.key``). Were they derived from the encryption key, rotating
that key would silently break every lookup by phone or ID number until each ``*_hash`` column was
recomputed; with a key of their own, rotation only re-encrypts. The index key is meant never to
change: changing it means recomputing every stored blind index.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

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


def _read_or_create_key_file(path: Path, production: bool, variable: str) -> str:
    if not path.exists():
        if production:
            raise VaultError(f"{variable} must be set in production")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first; use theirs
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(new_key_text() + "\n")
    return path.read_text(encoding="ascii")


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return -1


_cache: dict[str, tuple[object, tuple[Key, ...]]] = {}


def keyring() -> tuple[Key, ...]:
    """The configured keys, current first.

    Read once from ``MINSHENG_VAULT_KEYS``; from the key file it is re-read whenever the file
    changes, so a running server follows ``minsheng vault rotate-key`` without a restart.
    """
    from django.conf import settings

    text = settings.VAULT_KEYS
    if text:
        cached = _cache.get("keys")
        if cached is None or cached[0] != text:
            _cache["keys"] = (text, tuple(parse_keys(text)))
        return _cache["keys"][1]
    path: Path = settings.VAULT_KEY_FILE
    stamp = (str(path), _mtime(path))
    cached = _cache.get("keys")
    if cached is None or cached[0] != stamp:
        keys = tuple(
            parse_keys(_read_or_create_key_file(path, settings.PRODUCTION, "MINSHENG_VAULT_KEYS"))
        )
        _cache["keys"] = ((str(path), _mtime(path)), keys)
        return keys
    return cached[1]


def keys_from_file() -> bool:
    """True when the keys live in the embedded key file, so rotation may rewrite it."""
    from django.conf import settings

    return not settings.VAULT_KEYS


def index_key() -> bytes:
    """The blind-index key: ``MINSHENG_VAULT_INDEX_KEY`` or the embedded key file."""
    from django.conf import settings

    configured = getattr(settings, "VAULT_INDEX_KEY", None)
    source = configured or str(settings.VAULT_INDEX_KEY_FILE)
    cached = _cache.get("index")
    if cached is not None and cached[0] == source:
        return cached[1][0].secret
    text = configured or _read_or_create_key_file(
        settings.VAULT_INDEX_KEY_FILE, settings.PRODUCTION, "MINSHENG_VAULT_INDEX_KEY"
    )
    keys = parse_keys(text)
    if len(keys) != 1:
        raise VaultError("MINSHENG_VAULT_INDEX_KEY must be exactly one key")
    _cache["index"] = (source, (keys[0],))
    return keys[0].secret


def reset_keyring() -> None:
    """Forget the cached keys (after a rotation or when a test changes the settings)."""
    _cache.clear()


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
            try:
                raw = base64.b64decode(body, validate=True)
            except ValueError as exc:
                raise VaultError("ciphertext is not valid base64 (edited?)") from exc
            try:
                plain = AESGCM(key.secret).decrypt(raw[:12], raw[12:], key_id.encode())
            except Exception as exc:  # InvalidTag: wrong key or edited ciphertext
                raise VaultError("ciphertext failed authentication") from exc
            return plain.decode("utf-8")
    raise VaultError(f"no key with id {key_id} is configured")


def blind_index(value: str, purpose: str) -> str:
    """A keyed hash of the normalised value for exact lookup, one derived key per purpose.

    Uses the index key, not the encryption key, so it survives encryption-key rotation.
    """
    secret = hmac.new(index_key(), b"blind-index:" + purpose.encode(), "sha256").digest()
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
