from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from minsheng.health import run_checks


class Command(BaseCommand):
    help = "Check the database, cache and broker; exit 1 if any is unreachable."

    def handle(self, *args: Any, **opts: Any) -> None:
        result = run_checks()
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
        if result["status"] != "ok":
            raise CommandError("a dependency is unreachable")
