"""``minsheng restore FILE [--yes] [--check]``: replace the database with an archive's."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from minsheng import backup


class Command(BaseCommand):
    help = (
        "Restore the database from a `minsheng backup` archive: checks the checksum, the vendor, "
        "the migrations and the vault keys first, verifies the audit chain after. Stop the "
        "servers and workers before."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", help="an archive written by minsheng backup")
        parser.add_argument("--yes", action="store_true", help="do not ask before replacing")
        parser.add_argument(
            "--check", action="store_true", help="only check the archive; change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        archive = Path(options["file"])
        try:
            if options["check"]:
                manifest = backup.inspect(archive)
                behind = backup.check_compatible(manifest)
                self.stdout.write(
                    f"{archive}: ok ({manifest.vendor}, {manifest.created_at}, audit head seq "
                    f"{manifest.audit_seq}, {len(behind)} migrations behind this code)"
                )
                return
            if not options["yes"]:
                self._confirm(archive)
            result = backup.restore(archive, progress=self._say)
        except backup.BackupError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(result.audit_summary)
        if not result.audit_ok:
            raise CommandError(
                "the restored audit chain does not verify (see above): the archive captured a "
                "broken or different trail; keep the previous database's copy and investigate"
            )
        if result.behind:
            self.stdout.write(
                f"the archive is {len(result.behind)} migrations behind this code: run "
                "`minsheng migrate` before starting the servers"
            )
        self.stdout.write(f"restored {archive} ({result.audit_entries} audit entries verified)")

    def _confirm(self, archive: Path) -> None:
        name = connection.settings_dict["NAME"]
        if not sys.stdin.isatty():
            raise CommandError("restore replaces the whole database: pass --yes to confirm")
        answer = input(f"Replace the {connection.vendor} database {name} with {archive}? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            raise CommandError("not restored")

    def _say(self, message: str) -> None:
        self.stderr.write(message)
