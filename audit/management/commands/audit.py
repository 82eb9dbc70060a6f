"""``minsheng audit verify`` and ``minsheng audit head``."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from audit.models import AuditEntry
from audit.services import head
from audit.verify import verify_chain


class Command(BaseCommand):
    help = "Audit trail: verify the hash chain, or print the head hash for publishing."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        check = sub.add_parser("verify", help="check every link; exit 1 at the first broken one")
        check.add_argument("--from-seq", type=int, default=1, help="start at this sequence number")
        check.add_argument(
            "--anchor",
            metavar="HASH",
            help="a head hash published earlier; it must be in the chain",
        )
        check.add_argument("--no-progress", action="store_true", help="no progress bar")
        sub.add_parser("head", help="print the current head hash (publish it to anchor the chain)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "head":
            seq, digest = head()
            self.stdout.write(digest)
            self.stderr.write(f"seq {seq}")
            return
        from_seq = max(1, options["from_seq"])
        show = not options["no_progress"] and sys.stderr.isatty()
        total = AuditEntry.objects.filter(seq__gte=from_seq).count() if show else None
        with tqdm(total=total, unit="entry", disable=not show, file=sys.stderr) as bar:
            result = verify_chain(from_seq=from_seq, anchor=options["anchor"], progress=bar.update)
        self.stdout.write(result.summary())
        if not result.ok:
            sys.exit(1)
