"""``minsheng search reindex``: (re)build the appeal search index in batches, with a progress bar."""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from search.index import reindex, to_index


class Command(BaseCommand):
    help = "Search: rebuild the appeal keyword index (after a bulk import or a restore)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        run = sub.add_parser("reindex", help="index every appeal's title and text again")
        run.add_argument(
            "--batch", type=int, default=2000, metavar="N", help="appeals per transaction"
        )
        run.add_argument(
            "--missing", action="store_true", help="only appeals that have no index entry yet"
        )
        run.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        batch = options["batch"]
        if batch < 1:
            raise CommandError(f"--batch must be at least 1, not {batch}")
        missing = bool(options["missing"])
        total = to_index(missing_only=missing)
        show = not options["no_progress"] and sys.stderr.isatty()
        started = time.perf_counter()
        with tqdm(total=total, unit="appeal", disable=not show, file=sys.stderr) as bar:
            done = reindex(batch=batch, missing_only=missing, progress=bar.update)
        seconds = time.perf_counter() - started
        rate = done / seconds if seconds > 0 else 0.0
        self.stdout.write(f"indexed {done} appeals in {seconds:.1f} s ({rate:.0f}/s)")
