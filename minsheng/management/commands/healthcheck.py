from __future__ import annotations

import json
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from minsheng.health import run_checks


class Command(BaseCommand):
    help = (
        "Check the database, cache and broker; exit 1 if any is unreachable. With --worker, "
        "also send a task through the broker and wait for a Celery worker to answer it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--worker", action="store_true", help="also check that a worker consumes tasks"
        )
        parser.add_argument(
            "--timeout", type=float, default=10.0, help="seconds to wait for the worker"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        result = run_checks()
        if opts["worker"]:
            result["worker"] = self._worker(opts["timeout"])
            if not result["worker"]["ok"]:
                result["status"] = "fail"
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
        # Degraded (the cache on local memory) still serves: not a reason to restart anything.
        if result["status"] == "fail":
            raise CommandError("a dependency is unreachable")

    def _worker(self, timeout: float) -> dict[str, Any]:
        from minsheng.tasks import roundtrip

        if settings.CELERY_TASK_ALWAYS_EAGER:
            return {"ok": True, "detail": "inline (no broker configured)"}
        token = secrets.token_hex(4)
        try:
            answer = roundtrip.delay(token).get(timeout=timeout)
        except Exception as exc:  # a timeout means no worker is consuming
            return {"ok": False, "detail": f"no worker answered: {type(exc).__name__}"}
        return {"ok": answer.get("token") == token, "detail": f"answered by {answer.get('host')}"}
