"""``minsheng audit verify``, ``head``, ``report`` (export a verifiable report) and
``verify-report FILE`` (prove a report matches the trail, or show where it differs)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from audit import reports
from audit.models import AuditEntry
from audit.services import head
from audit.verify import verify_chain
from minsheng.errors import ServiceError


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
        rep = sub.add_parser(
            "report", help="export the trail of an object, a person or a unit as XLSX or HTML"
        )
        who = rep.add_mutually_exclusive_group(required=True)
        who.add_argument("--object", metavar="TYPE:ID", help="e.g. appeals.appeal:12")
        who.add_argument("--actor", metavar="USERNAME", help="everything this person did")
        who.add_argument("--unit", metavar="CODE", help="what the unit's staff did, and the unit")
        rep.add_argument("--since", type=dt.date.fromisoformat, help="first day (YYYY-MM-DD)")
        rep.add_argument("--until", type=dt.date.fromisoformat, help="last day (YYYY-MM-DD)")
        rep.add_argument("--format", choices=reports.FORMATS, default="xlsx")
        rep.add_argument("--by", metavar="USERNAME", help="who exports (recorded in the trail)")
        rep.add_argument("-o", "--output", metavar="FILE", help="default: a name from the scope")
        vr = sub.add_parser(
            "verify-report", help="prove an exported report matches the trail; exit 1 if not"
        )
        vr.add_argument("file", metavar="FILE", help="an exported .xlsx or .html report")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "head":
            seq, digest = head()
            self.stdout.write(digest)
            self.stderr.write(f"seq {seq}")
            return
        if options["subcommand"] == "report":
            self._report(options)
            return
        if options["subcommand"] == "verify-report":
            self._verify_report(options["file"])
            return
        from_seq = max(1, options["from_seq"])
        show = not options["no_progress"] and sys.stderr.isatty()
        total = AuditEntry.objects.filter(seq__gte=from_seq).count() if show else None
        with tqdm(total=total, unit="entry", disable=not show, file=sys.stderr) as bar:
            result = verify_chain(from_seq=from_seq, anchor=options["anchor"], progress=bar.update)
        self.stdout.write(result.summary())
        if not result.ok:
            sys.exit(1)

    def _report(self, options: dict[str, Any]) -> None:
        kind = next(k for k in ("object", "actor", "unit") if options[k])
        actor = None
        if options["by"]:
            actor = get_user_model().objects.filter(username=options["by"]).first()
            if actor is None:
                raise CommandError(f"--by: no user {options['by']!r}")
        try:
            scope = reports.resolve_scope(kind, options[kind], options["since"], options["until"])
            report = reports.build_report(actor, scope, fmt=options["format"])
        except ServiceError as exc:
            raise CommandError(str(exc.message)) from exc
        path = Path(options["output"] or report.filename(options["format"]))
        path.write_bytes(report.render(options["format"]))
        self.stdout.write(str(path))
        self.stderr.write(
            f"{report.meta['entry_count']} entries, head seq {report.meta['head_seq']} "
            f"{report.meta['head_hash']}, export recorded at seq {report.meta['export_seq']}"
        )

    def _verify_report(self, file: str) -> None:
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file")
        try:
            result = reports.verify_report(path.read_bytes(), path.name)
        except ServiceError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(result.summary())
        if not result.ok:
            sys.exit(1)
