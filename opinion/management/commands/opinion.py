"""``minsheng opinion``: public-opinion tools. ``replay`` runs a historical stream through the
engine without a server or a database (docs/opinion-engine.md); ``backfill`` does the same for a
large stream with the per-post steps on Dask workers (docs/distributed.md).

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

        _add_backfill_parser(sub)

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


BACKFILL_EPILOG = """\
Input: JSON Lines (.jsonl), one post a line (id, time, text; optionally source, url, author,
parent_id, reach), in time order: posts are processed in file order, as the engine streams them.
The per-post steps (normalise, relevance, sentiment, route, garbled text, segmentation, MinHash
signatures) run on Dask workers over byte ranges of the file; the streaming dedupe, events,
bursts and alerts run here in file order, so the output equals a single-process run's
(docs/distributed.md). --workers 0 runs the single-process pipeline without Dask.

Output (--out): one JSON line per post: id, relevant, duplicate_of, category, sentiment, emotion,
event_id, garbled (kinds of garbled spans), words (and tokens with --tokens), alerts (grades) when
the post raised any. Written to FILE.tmp and renamed at the end. Exit status: 0 done, 2 the input,
a model or the cluster cannot be used.
"""


def _add_backfill_parser(sub: Any) -> None:
    p = sub.add_parser(
        "backfill",
        help="run a large JSONL stream through the pipeline on Dask workers (no database)",
        description="Backfill a historical stream of posts with the per-post steps on Dask.",
        epilog=BACKFILL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--input", required=True, metavar="FILE", help="posts as .jsonl")
    p.add_argument("--out", required=True, metavar="FILE", help="per-post results (.jsonl)")
    p.add_argument("--report", metavar="FILE", help="write the run's summary here (JSON)")
    p.add_argument(
        "--workers", type=int, default=2, help="Dask worker processes (default 2; 0: no Dask)"
    )
    p.add_argument("--scheduler", help="address of a running Dask scheduler instead of --workers")
    p.add_argument(
        "--chunk-mb", type=float, default=4.0, help="megabytes of the file per task (default 4)"
    )
    p.add_argument("--jurisdiction", help="gazetteer file (JSON or kind:term lines)")
    p.add_argument("--sentiment", help="a textkit sentiment model folder (optional)")
    p.add_argument("--route", help="a textkit route model folder (optional)")
    p.add_argument(
        "--forget-after-hours",
        type=float,
        default=72.0,
        help="drop closed events from memory this long after closing (default 72)",
    )
    p.add_argument("--tokens", action="store_true", help="write each post's words too")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")


def _backfill(command: BaseCommand, options: dict[str, Any]) -> None:
    import os

    from tqdm import tqdm

    from opinion.distributed import (
        BackfillConfig,
        BackfillError,
        check_input,
        run_distributed,
        run_single,
    )
    from opinion.engine import EngineOptions, Gazetteer, GazetteerError

    if options["workers"] < 0:
        raise CommandError("--workers must be 0 or more", returncode=2)
    if options["chunk_mb"] <= 0:
        raise CommandError("--chunk-mb must be positive", returncode=2)
    if options["forget_after_hours"] < 0:
        raise CommandError("--forget-after-hours must not be negative", returncode=2)
    for key in ("route", "sentiment"):
        if options[key] and not Path(options[key]).is_dir():
            raise CommandError(f"--{key} {options[key]}: no such model folder", returncode=2)
    try:
        gazetteer = (
            Gazetteer.from_file(options["jurisdiction"]) if options["jurisdiction"] else None
        )
    except GazetteerError as exc:
        raise CommandError(str(exc), returncode=2) from exc
    config = BackfillConfig(
        gazetteer=gazetteer.to_json() if gazetteer else None,
        route=str(Path(options["route"]).resolve()) if options["route"] else None,
        sentiment=str(Path(options["sentiment"]).resolve()) if options["sentiment"] else None,
        options=EngineOptions(forget_after_hours=options["forget_after_hours"]).to_json(),
        tokens=options["tokens"],
    )
    source = Path(options["input"])
    try:
        check_input(source)
    except BackfillError as exc:
        raise CommandError(str(exc), returncode=2) from exc
    total = source.stat().st_size
    out = Path(options["out"])
    tmp = out.with_name(out.name + ".tmp")
    bar = tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        disable=options["quiet"],
        file=sys.stderr,
        desc="backfill",
    )

    def progress(done: int, posts: int) -> None:
        bar.update(done - bar.n)
        bar.set_postfix_str(f"{posts:,} posts", refresh=False)

    chunk = int(options["chunk_mb"] * 1024 * 1024)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with bar, tmp.open("w", encoding="utf-8") as fh:
            if options["workers"] == 0 and not options["scheduler"]:
                summary = run_single(source, config, fh, chunk_bytes=chunk, progress=progress)
            else:
                summary = run_distributed(
                    source,
                    config,
                    fh,
                    workers=options["workers"],
                    scheduler=options["scheduler"],
                    chunk_bytes=chunk,
                    progress=progress,
                )
        tmp.replace(out)
    except BackfillError as exc:
        tmp.unlink(missing_ok=True)
        raise CommandError(str(exc), returncode=2) from exc
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CommandError(f"backfill failed: {exc}", returncode=2) from exc
    for line, reason in summary.bad_lines:
        command.stderr.write(f"{source}:{line}: skipped: {reason}")
    report = summary.to_json()
    report["input"] = os.fspath(source)
    report["bad_line_list"] = [{"line": n, "reason": r} for n, r in summary.bad_lines[:1000]]
    if options["report"]:
        try:
            Path(options["report"]).write_text(
                json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8"
            )
        except OSError as exc:
            raise CommandError(f"cannot write {options['report']}: {exc}", returncode=2) from exc
    command.stdout.write(
        f"{report['posts']} posts ({report['bad_lines']} bad lines skipped), "
        f"{report['duplicates']} duplicates, {report['events_started']} events, "
        f"{report['alerts']} alerts in {report['wall_seconds']} s "
        f"({report['posts_per_second']} posts/s) → {out}"
    )


SUBCOMMANDS = {"replay": _replay, "backfill": _backfill}
