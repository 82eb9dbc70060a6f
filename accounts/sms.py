"""Sending text messages: one small interface, one class per way of sending.

``settings.SMS_BACKEND`` names the class (dotted path). The embedded default prints each message
to the console and appends it to ``SMS_OUTBOX_DIR/outbox.jsonl`` so a developer, and a browser
test, can read the code; production points it at ``HttpGatewayBackend`` or its own class.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from vault.crypto import mask_phone

log = logging.getLogger("minsheng.sms")


class SmsError(RuntimeError):
    """The message could not be handed to the gateway."""


class SmsBackend:
    """Send one text message. Implementations raise ``SmsError`` when the message did not go."""

    def send(self, phone: str, message: str) -> None:
        raise NotImplementedError


class ConsoleBackend(SmsBackend):
    """Prints the message with the number masked: the developer needs the code, not the number."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream

    def send(self, phone: str, message: str) -> None:
        stream = self.stream or sys.stdout
        print(f"[短信 SMS → {mask_phone(phone)}] {message}", file=stream, flush=True)


class FileBackend(SmsBackend):
    """Appends one JSON line per message to ``<dir>/outbox.jsonl``.

    The line holds the full number so a test can pick its own message out; the outbox lives in
    the data directory of a development or test machine, never in production.
    """

    _lock = threading.Lock()

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory or settings.SMS_OUTBOX_DIR)

    @property
    def path(self) -> Path:
        return self.directory / "outbox.jsonl"

    def send(self, phone: str, message: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {"time": datetime.now(UTC).isoformat(), "phone": phone, "message": message},
            ensure_ascii=False,
        )
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def messages(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]


class ConsoleAndFileBackend(SmsBackend):
    """The embedded default: both of the above."""

    def __init__(self) -> None:
        self.console = ConsoleBackend()
        self.file = FileBackend()

    def send(self, phone: str, message: str) -> None:
        self.file.send(phone, message)
        self.console.send(phone, message)


class HttpGatewayBackend(SmsBackend):
    """POSTs ``{"phone", "message"}`` as JSON to ``SMS_GATEWAY_URL`` with ``SMS_GATEWAY_API_KEY``.

    The key travels as ``Authorization: Bearer <key>``. Any status other than 2xx, or no answer
    within ``SMS_GATEWAY_TIMEOUT`` seconds (default 10), raises ``SmsError``. A vendor whose API
    differs gets its own small subclass overriding ``payload`` and ``headers``.
    """

    def __init__(
        self, url: str | None = None, api_key: str | None = None, timeout: float | None = None
    ) -> None:
        self.url = url or getattr(settings, "SMS_GATEWAY_URL", "") or ""
        self.api_key = api_key or getattr(settings, "SMS_GATEWAY_API_KEY", "") or ""
        self.timeout = timeout or float(getattr(settings, "SMS_GATEWAY_TIMEOUT", 10))
        if not self.url.startswith(("https://", "http://")):
            raise SmsError("SMS_GATEWAY_URL must be set to an http(s) URL for HttpGatewayBackend")

    def payload(self, phone: str, message: str) -> dict[str, Any]:
        return {"phone": phone, "message": message}

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def send(self, phone: str, message: str) -> None:
        body = json.dumps(self.payload(phone, message), ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.url, data=body, headers=self.headers(), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            raise SmsError(f"SMS gateway answered HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SmsError(f"SMS gateway unreachable: {type(exc).__name__}") from None
        if not 200 <= status < 300:
            raise SmsError(f"SMS gateway answered HTTP {status}")
        log.info("sms sent to %s through the gateway", mask_phone(phone))


@lru_cache(maxsize=4)
def _backend_class(path: str) -> type[SmsBackend]:
    cls = import_string(path)
    if not (isinstance(cls, type) and issubclass(cls, SmsBackend)):
        raise SmsError(f"SMS_BACKEND={path!r} is not an accounts.sms.SmsBackend subclass")
    return cls


def get_backend() -> SmsBackend:
    return _backend_class(settings.SMS_BACKEND)()


def send(phone: str, message: str) -> None:
    get_backend().send(phone, message)
