"""``minsheng backup [--out FILE]``: an archive of the database with a checked manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from minsheng import backup


class Command(BaseCommand):
    help = (
        "Back up the database (SQLite online backup or pg_dump) into one archive with a manifest. "
        "The vault keys are not included: back them up separately (docs/reliability.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out",
            metavar="FILE",
            help="archive to write (default: minsheng-<vendor>-<time>.tar.gz here)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"] or backup.default_name())
        try:
            manifest = backup.backup(out, progress=self._say)
        except backup.BackupError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"{out}: {manifest.vendor}, {len(manifest.migrations)} migrations, audit head seq "
            f"{manifest.audit_seq} {manifest.audit_hash}, sha256 {manifest.sha256}"
        )

    def _say(self, message: str) -> None:
        self.stderr.write(message)
