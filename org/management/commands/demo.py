from __future__ import annotations

import unicodedata
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from org import demo


def _width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = (
        "Load or refresh the demo city 示范市 (units, grids, categories and deadlines, staff in "
        "every role, demo citizens) and print the demo logins. Idempotent. Demo data only: "
        "the shared demo password must never reach production."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="set every demo staff password back to the shared demo password",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        from django.conf import settings

        if getattr(settings, "PRODUCTION", False):
            raise CommandError(
                "the demo city is for demonstrations: refusing to load it in production"
            )
        result = demo.load(reset_passwords=opts["reset_passwords"])
        verbosity = int(opts.get("verbosity", 1))
        if verbosity == 0:
            return
        self.stdout.write(
            self.style.SUCCESS(f"demo city 示范市 loaded ({result.written} rows written)")
        )
        header = ("username", "password", "role", "unit")
        rows = [header] + [(x.username, x.password, x.role, x.unit) for x in result.logins]
        widths = [max(_width(row[i]) for row in rows) for i in range(4)]
        self.stdout.write("\ndemo logins (demo only — change or remove before any real use):")
        for index, row in enumerate(rows):
            self.stdout.write(
                "  " + "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True))
            )
            if index == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths))
