"""``minsheng appeals sweep``: warnings, overdue flags and escalations, now."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from appeals.clock import sweep


class Command(BaseCommand):
    help = "Appeals: run the deadline sweep (warnings, overdue flags, escalation to leaders)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        run = sub.add_parser("sweep", help="mark warnings and overdue deadlines; idempotent")
        run.add_argument(
            "--at",
            metavar="ISO-TIME",
            help="sweep as of this aware time, e.g. 2025-10-09T17:31:00+08:00 (default: now)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = None
        if options.get("at"):
            try:
                now = dt.datetime.fromisoformat(options["at"])
            except ValueError as exc:
                raise CommandError(f"--at: {options['at']!r} is not an ISO time") from exc
            if now.tzinfo is None:
                raise CommandError("--at needs a time zone, e.g. +08:00")
        result = sweep(now)
        self.stdout.write(result.summary())
