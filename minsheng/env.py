"""Typed readers for settings from the environment.

Every setting minsheng reads is read through these helpers so that a wrong value fails at start-up
with a message naming the variable, never later in a request. A secret may also be given as
``NAME_FILE`` pointing at a file that holds it (container secrets, systemd credentials).
"""

from __future__ import annotations

import os
from pathlib import Path


class ConfigError(RuntimeError):
    """A setting in the environment is missing or malformed."""


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is not None:
        return value
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE={file_path!r} cannot be read: {exc}") from exc
    return None


def env_str(name: str, default: str | None = None) -> str | None:
    value = _raw(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool = False) -> bool:
    value = _raw(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean; use true or false")


def env_int(name: str, default: int) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name}={value!r} is not an integer") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None or value == "":
        return list(default)
    return [part.strip() for part in value.split(",") if part.strip()]


def read_or_create_secret(path: Path, nbytes: int = 32) -> str:
    """Return the hex secret stored at ``path``, creating it (mode 0600) on first use.

    Only the embedded default uses this; production passes secrets through the environment.
    """
    import secrets

    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    return value
