"""Structured logging that never carries personal data.

Mainland mobile numbers and resident ID numbers are masked in every record before it is written,
whatever code produced the record: a log file is read by more people than the vault is.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter

from minsheng.middleware import request_id_var

_ID_CARD = re.compile(r"(?<![0-9])([1-9][0-9]{5})(?:19|20)[0-9]{2}[0-9]{7}[0-9Xx](?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])")


def redact(text: str) -> str:
    text = _ID_CARD.sub(lambda m: m.group(1) + "********" + "****", text)
    return _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(2), text)


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks may quote request data; keep the type and a redacted message only.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": request_id_var.get(),
            # Several web and worker processes write to one journal: which one logged this.
            "pid": record.process,
        }
        for key in ("event", "status_code", "duration_ms", "path", "method"):
            if hasattr(record, key):
                payload[key] = getattr(record, key)
        if record.exc_text:
            payload["exception"] = redact(record.exc_text)
        elif record.exc_info:
            payload["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False, default=str)


class RedactingExceptionReporter(ExceptionReporter):
    """Error reports (the admins' error e-mail, the technical 500 page) with phone and ID numbers
    masked: a report quotes the request's GET and POST data, its headers and the local variables
    of every frame, any of which may hold a citizen's number. ``DEFAULT_EXCEPTION_REPORTER``."""

    # Masking only turns digits of Django's already-escaped report into asterisks.
    def get_traceback_text(self) -> SafeString:
        return mark_safe(redact(super().get_traceback_text()))  # noqa: S308

    def get_traceback_html(self) -> SafeString:
        return mark_safe(redact(super().get_traceback_html()))  # noqa: S308
