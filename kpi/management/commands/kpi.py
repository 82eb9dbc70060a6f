"""``minsheng kpi rollup [--since DATE | --full]`` and ``minsheng kpi check``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{text!r} is not a date like 2025-11-01") from exc


class Command(BaseCommand):
    help = "KPIs: roll up the daily counters; check them against the definitions."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        run = sub.add_parser(
            "rollup",
            help="recompute the days of appeals changed since the last run "
            "(the first run rebuilds everything)",
        )
        mode = run.add_mutually_exclusive_group()
        mode.add_argument("--since", metavar="DATE", help="recompute every day from DATE (Beijing)")
        mode.add_argument("--full", action="store_true", help="drop and rebuild every counter")
        check = sub.add_parser(
            "check",
            help="compare the counters with the definitions evaluated appeal by appeal (slow)",
        )
        check.add_argument("--start", metavar="DATE", required=True)
        check.add_argument("--end", metavar="DATE", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "rollup":
            self._rollup(options)
        else:
            self._check(_date(options["start"]), _date(options["end"]))

    def _rollup(self, options: dict[str, Any]) -> None:
        from kpi import rollup

        since = _date(options["since"]) if options.get("since") else None
        result = rollup.run(
            since=since,
            full=bool(options.get("full")),
            progress=lambda message: self.stderr.write(message),
        )
        if result.busy:
            raise CommandError(result.summary())
        self.stdout.write(result.summary())

    def _check(self, start: dt.date, end: dt.date) -> None:
        from kpi import direct, metrics

        expected = direct.table(by="day", start=start, end=end)
        got = metrics.table(by="day", start=start, end=end)
        wrong = [
            row.key
            for row in got.rows
            if row.counts != expected.get(row.key, dict.fromkeys(row.counts, 0))
        ]
        if wrong:
            raise CommandError(f"counters differ from the definitions on: {', '.join(wrong)}")
        self.stdout.write(f"counters equal the definitions for {len(got.rows)} day(s)")
