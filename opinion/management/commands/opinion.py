"""``minsheng opinion``: public-opinion tools. ``replay`` runs a historical stream through the
engine without a server or a database (docs/opinion-engine.md).

Subcommands are a dispatch table (``SUBCOMMANDS``); the desk adds its own beside ``replay``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

REPLAY_EPILOG = """\
Input: JSON Lines (.jsonl) or CSV (.csv) with columns id, time, text and optionally source, url,
author, parent_id, reach. time is ISO 8601 or POSIX seconds; a time without a zone is Beijing
time. Bad lines (malformed JSON, missing id or time, unreadable time) are listed with their line
numbers on stderr and in the report, and skipped.

--jurisdiction: a gazetteer, JSON {"places": [...], "units": [...], "topics": [...],
"sensitive": [...]} or one term a line as place:/unit:/topic:/sensitive:. Without it every item
is relevant. --rules: grade rules as JSON (docs/opinion-engine.md). Exit status: 0 done,
2 the input, gazetteer, rules or a model cannot be used.
"""


class Command(BaseCommand):
    help = "Public-opinion monitoring: replay a historical stream through the engine."
    # replay needs no database: no system checks, no migration check.
    requires_system_checks = []  # type: ignore[assignment]  # noqa: RUF012
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        replay = sub.add_parser(
            "replay",
            help="run a JSONL/CSV stream through the engine and write a JSON report (no database)",
            description="Replay a historical stream of posts through the opinion engine.",
            epilog=REPLAY_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        replay.add_argument("file", metavar="FILE", help="items as .jsonl or .csv")
        replay.add_argument("--out", required=True, help="report file to write (JSON)")
        replay.add_argument("--jurisdiction", help="gazetteer file (JSON or kind:term lines)")
        replay.add_argument("--rules", help="grade rules (JSON)")
        replay.add_argument("--sentiment", help="a textkit sentiment model folder (optional)")
        replay.add_argument("--route", help="a textkit route model folder (optional)")
        replay.add_argument(
            "--close-after-hours",
            type=float,
            default=None,
            help="close events quiet for this many hours of stream time (default 24)",
        )
        replay.add_argument(
            "--no-items", action="store_true", help="leave item ids out of the report's events"
        )
        replay.add_argument("--quiet", action="store_true", help="no progress bar on stderr")

    def handle(self, *args: Any, **options: Any) -> None:
        handler = SUBCOMMANDS[options["subcommand"]]
        handler(self, options)


def _replay(command: BaseCommand, options: dict[str, Any]) -> None:
    from tqdm import tqdm

    from opinion.engine import Engine, EngineOptions, Gazetteer, GazetteerError, Rules, RulesError
    from opinion.engine.replay import ReplayInputError, build_report, read_items, replay

    stderr = command.stderr
    try:
        gazetteer = (
            Gazetteer.from_file(options["jurisdiction"]) if options["jurisdiction"] else None
        )
        rules = Rules.from_file(options["rules"]) if options["rules"] else None
        read = read_items(options["file"])
    except (GazetteerError, RulesError, ReplayInputError) as exc:
        raise CommandError(str(exc), returncode=2) from exc
    sentiment = route = None
    try:
        if options["sentiment"]:
            from textkit.sentiment import SentimentModel

            sentiment = SentimentModel.load(options["sentiment"])
        if options["route"]:
            from textkit.route import RouteModel

            route = RouteModel.load(options["route"])
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot load model: {exc}", returncode=2) from exc
    for bad in read.bad:
        stderr.write(f"{options['file']}:{bad.line}: skipped: {bad.reason}")
    engine_options = EngineOptions()
    if options["close_after_hours"] is not None:
        if options["close_after_hours"] <= 0:
            raise CommandError("--close-after-hours must be positive", returncode=2)
        engine_options.close_after_hours = options["close_after_hours"]
    engine = Engine(
        gazetteer=gazetteer, rules=rules, route=route, sentiment=sentiment, options=engine_options
    )
    bar = tqdm(
        total=len(read.items),
        unit="item",
        disable=options["quiet"],
        file=sys.stderr,
        desc="replay",
    )
    with bar:
        timing = replay(engine, read.items, progress=bar.update)
    report = build_report(engine, read, timing, source=str(options["file"]))
    if options["no_items"]:
        for e in report["events"]:
            e.pop("item_ids", None)
    out = Path(options["out"])
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(out)
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc}", returncode=2) from exc
    c = report["counts"]
    command.stdout.write(
        f"{c['items']} items ({c['bad_lines']} bad lines skipped), {c['events']} events, "
        f"{c['alerts']} alerts → {out}"
    )


SUBCOMMANDS = {"replay": _replay}
