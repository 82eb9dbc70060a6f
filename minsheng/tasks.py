"""Project-level tasks: a round trip through the broker to prove a worker is consuming."""

from __future__ import annotations

import os
import socket

from celery import shared_task


@shared_task(name="minsheng.roundtrip")
def roundtrip(token: str) -> dict[str, object]:
    return {"token": token, "host": socket.gethostname(), "pid": os.getpid()}
