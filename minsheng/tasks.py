"""Project-level tasks: a round trip through the broker to prove a worker is consuming."""

from __future__ import annotations

import os
import socket

from celery import shared_task


@shared_task(name="minsheng.roundtrip")
def roundtrip(token: str) -> dict[str, object]:
    return {"token": token, "host": socket.gethostname(), "pid": os.getpid()}


@shared_task(name="minsheng.relay_outbox", ignore_result=True)
def relay_outbox() -> int:
    """Publish the task messages that waited in the outbox while the broker was away."""
    from minsheng import outbox

    return outbox.relay()
