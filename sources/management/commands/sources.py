"""``minsheng sources list``, ``minsheng sources poll [--source NAME] [--all]`` and
``minsheng sources import FILE --source NAME``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from sources.models import FetchLog, Source


def _describe(fetch_log: FetchLog) -> str:
    text = (
        f"{fetch_log.source.name}: {fetch_log.status}, {fetch_log.items_found} item(s), "
        f"{fetch_log.items_new} new"
    )
    if fetch_log.error_reason:
        text += f" — {fetch_log.error_reason}: {fetch_log.error_message}"
    return text


class Command(BaseCommand):
    help = "舆情 sources: list them, poll them now, import an exported JSONL/CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("list", help="every source with its kind, next poll and last error")
        poll = sub.add_parser("poll", help="poll the sources that are due (or the ones named)")
        which = poll.add_mutually_exclusive_group()
        which.add_argument("--source", metavar="NAME", action="append", help="poll this source now")
        which.add_argument("--all", action="store_true", help="poll every enabled source now")
        imp = sub.add_parser("import", help="take in a JSONL or CSV export for an import source")
        imp.add_argument("file", metavar="FILE")
        imp.add_argument("--source", metavar="NAME", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        {"list": self._list, "poll": self._poll, "import": self._import}[options["subcommand"]](
            options
        )

    def _list(self, options: dict[str, Any]) -> None:
        for source in Source.objects.order_by("name"):
            state = "on" if source.enabled else "off"
            nxt = f"{source.next_poll_at:%Y-%m-%d %H:%M}" if source.next_poll_at else "now"
            line = f"{source.name:<24} {source.kind:<8} {state:<4} next {nxt}"
            if source.failures:
                line += f"  failures {source.failures}: {source.last_error[:80]}"
            self.stdout.write(line)

    def _poll(self, options: dict[str, Any]) -> None:
        from sources import services

        if options.get("source"):
            names = options["source"]
            sources = list(Source.objects.filter(name__in=names))
            missing = sorted(set(names) - {s.name for s in sources})
            if missing:
                raise CommandError(f"no source named {', '.join(missing)}")
        elif options.get("all"):
            sources = list(Source.objects.enabled().polled().order_by("name"))
        else:
            sources = services.due_sources(timezone.now())
        if not sources:
            self.stdout.write("no source to poll")
            return
        failed = 0
        for number, source in enumerate(sources, 1):
            self.stderr.write(f"[{number}/{len(sources)}] {source.name} ({source.kind}) …")
            logs = services.poll_now(None, [source])
            if not logs:
                self.stdout.write(f"{source.name}: not polled (push source, no file, or busy)")
                continue
            failed += logs[0].status == FetchLog.Status.ERROR
            self.stdout.write(_describe(logs[0]))
        ingested = services.ingest_pending()
        if ingested:
            self.stdout.write(f"{ingested} stored item(s) handed to the 舆情 pipeline")
        if failed:
            raise CommandError(f"{failed} of {len(sources)} source(s) failed")

    def _import(self, options: dict[str, Any]) -> None:
        from minsheng.errors import ServiceError
        from sources import services
        from sources.plugins.imports import MAX_FILE_BYTES

        source = Source.objects.filter(name=options["source"]).first()
        if source is None:
            raise CommandError(f"no source named {options['source']}")
        path = Path(options["file"])
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise CommandError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path} cannot be read: {exc.strerror or exc}") from exc

        def progress(done: int, total: int | None) -> None:
            if total is None:
                self.stderr.write(f"\r{done} records read …", ending="")
            else:
                self.stderr.write(f"\r{done} records read.")

        try:
            fetch_log = services.import_data(None, source, data, name=path.name, progress=progress)
        except ServiceError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(_describe(fetch_log))
        for problem in fetch_log.problems:
            where = f"line {problem['line']}: " if problem.get("line") else ""
            self.stdout.write(f"  skipped {where}{problem['message']}")
