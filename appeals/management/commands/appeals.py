"""``minsheng appeals``: the deadline sweep, bulk import of historical appeals, hot issues.

* ``sweep``: warnings, overdue flags and escalations, now;
* ``import FILE``: all-or-nothing import of an XLSX/CSV export (docs/appeals-import.md);
* ``train-router``: retrain the dispatch router from the dispatch history (appeals/train_router.py);
* ``hot``: hot issues of an export file or of a period in the database (docs/appeals-hot-report.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from appeals import hot, importer, train_router
from appeals.clock import sweep
from minsheng.errors import ServiceError
from textkit.cli import UserError
from textkit.commands.hot import render_markdown
from textkit.hot import HotIssue
from textkit.tabular import atomic_open, write_csv_atomic

IMPORT_EPILOG = """\
Columns are found by header name (aliases in docs/appeals-import.md), in any order:
  留言编号 (id, required)   留言主题 (subject)   留言时间 (time, required)   留言详情 (text, required)
  留言用户 (pseudonymous user label)   一级标签 (category by name)   点赞数/反对数 (likes/dislikes)
  答复意见 + 答复时间 (official reply and its time: the appeal is imported as replied)
Layouts: attachment2 needs 一级标签, attachment3 needs 点赞数, attachment4 needs 答复意见 and 答复时间;
auto needs only the required columns and takes whichever others are present.

Every row is checked before anything is written; if any row fails, nothing is imported, every
error is listed as  第 N 行 <column> <message>  (N = the spreadsheet row, header = row 1) and the
exit status is 1. The messages (Chinese) mean:
  留言编号不能为空 / 超过 64 个字符          id empty / longer than 64 characters
  留言编号“X”与第 N 行重复                   id X repeats the one in row N
  留言编号“X”已导入为 MS-…，但…不同          id X was imported before with other content
  留言详情不能为空 / 超过 5000 字            text empty / longer than 5000 characters
  留言主题超过 120 字                        subject longer than 120 characters
  时间不能为空 / 无法识别的时间 / 晚于现在   time empty / unreadable / in the future
  答复时间早于留言时间                       reply time before the message time
  有答复时间但答复意见为空 (and reverse)      a reply time without a reply, or a reply without a time
  “X”不是非负整数                            a like/dislike count that is not a whole number ≥ 0
Warnings (the import still happens): a 一级标签 matching no category (imported without one; map it
with --category LABEL=CODE); a reply longer than 5000 characters (kept whole).

Running the same file again imports nothing new: rows whose 留言编号 is already imported with the
same subject, text and time are skipped and counted. Exit status: 0 imported (or nothing new),
1 rows rejected, 2 the file cannot be used.
"""

HOT_EPILOG = """\
With --input, reads an export in the same layouts as `appeals import` (附件2/3/4; 点赞数 − 反对数
are the supports) and touches no database. With --from/--to, ranks the appeals taken in on those
days (both included, Beijing time), optionally only those of --unit and the units below it.
The grouping and the heat index are textkit.hot's (docs/hot-issues.md); the appeals side adds the
address to the subject and splits issues whose map points are more than 500 m apart.
"""


class Command(BaseCommand):
    help = (
        "Appeals: the deadline sweep, bulk import of historical appeals from XLSX/CSV, "
        "hot issues of an export or a period."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        run = sub.add_parser("sweep", help="mark warnings and overdue deadlines; idempotent")
        run.add_argument(
            "--at",
            metavar="ISO-TIME",
            help="sweep as of this aware time, e.g. 2025-10-09T17:31:00+08:00 (default: now)",
        )

        imp = sub.add_parser(
            "import",
            help="import historical appeals from an XLSX/CSV export, all or nothing",
            description="Import historical appeals (channel 导入) from an agency's XLSX or CSV "
            "export. All rows or none: any bad row stops the import and is reported.",
            epilog=IMPORT_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        imp.add_argument("file", metavar="FILE", help=".xlsx or .csv (UTF-8, UTF-8-BOM, GB18030)")
        imp.add_argument(
            "--layout",
            choices=sorted(importer.LAYOUTS),
            default="auto",
            help="which export layout to require (default: auto, detected from the header)",
        )
        imp.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
        imp.add_argument(
            "--unit",
            metavar="CODE",
            help="the unit whose export this is: intake unit of every appeal, and the handling "
            "unit of answered ones (default: the hotline centre; answered ones then have none)",
        )
        imp.add_argument(
            "--category",
            action="append",
            default=[],
            metavar="LABEL=CODE",
            help="import 一级标签 LABEL as the category with code CODE; repeat as needed",
        )
        imp.add_argument("--encoding", help="encoding hint for a CSV (detected if wrong)")
        imp.add_argument(
            "--report", metavar="ERRORS.csv", help="also write the error list as CSV (行, 列, 问题)"
        )
        imp.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

        hot_p = sub.add_parser(
            "hot",
            help="hot issues (热点问题) of an export file or of a period in the database",
            description="Group appeals into issues (the same problem at the same place) and rank "
            "them by a heat index from count, growth and supports.",
            epilog=HOT_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        hot_p.add_argument("--input", metavar="FILE", help="an export (.xlsx/.csv); no database")
        hot_p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="first day")
        hot_p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="last day")
        hot_p.add_argument("--unit", metavar="CODE", help="with --from/--to: only this unit")
        hot_p.add_argument(
            "--layout",
            choices=sorted(importer.LAYOUTS),
            default="auto",
            help="with --input: the export layout (default: auto)",
        )
        hot_p.add_argument("--encoding", help="with --input: encoding hint for a CSV")
        hot_p.add_argument("--top", type=int, default=10, help="how many issues (10)")
        hot_p.add_argument("--format", choices=("md", "json"), default="md", help="md (default)")
        hot_p.add_argument("--out", metavar="FILE", help="write here (atomically), not stdout")
        train_router.add_arguments(sub)

    def handle(self, *args: Any, **options: Any) -> None:
        command = options["subcommand"]
        if command == "sweep":
            self._sweep(options)
        elif command == "import":
            self._import(options)
        elif command == "train-router":
            train_router.run(self, options)
        else:
            self._hot(options)

    # --- sweep ---------------------------------------------------------------------------------
    def _sweep(self, options: dict[str, Any]) -> None:
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

    # --- import --------------------------------------------------------------------------------
    def _import(self, options: dict[str, Any]) -> None:
        mapping: dict[str, str] = {}
        for item in options["category"]:
            label, sep, code = item.partition("=")
            if not sep or not label.strip() or not code.strip():
                raise CommandError(f"--category {item!r}: expected LABEL=CODE", returncode=2)
            mapping[label.strip()] = code.strip()
        try:
            result = importer.import_file(
                options["file"],
                layout=options["layout"],
                unit=options["unit"],
                dry_run=options["dry_run"],
                encoding=options["encoding"],
                category_map=mapping,
                progress=not options["no_progress"],
                command=_command_line("import", options),
            )
        except importer.ImportFileError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        except importer.ImportRejected as exc:
            rejected = exc.result
            for line in rejected.warnings:
                self.stderr.write(line)
            for error in rejected.errors:
                self.stderr.write(error.line())
            if options["report"]:
                self._write_report(options["report"], rejected.errors)
            raise CommandError(rejected.summary(), returncode=1) from exc
        for line in result.warnings:
            self.stderr.write(line)
        self.stdout.write(result.summary())

    def _write_report(self, path: str, errors: list[importer.RowError]) -> None:
        try:
            write_csv_atomic(
                path,
                ({"行": e.row, "列": e.column, "问题": e.message} for e in errors),
                ["行", "列", "问题"],
                bom=True,  # so that Excel opens it as UTF-8
            )
        except UserError as exc:
            raise CommandError(str(exc), returncode=2) from exc

    # --- hot -----------------------------------------------------------------------------------
    def _hot(self, options: dict[str, Any]) -> None:
        if options["top"] < 1:
            raise CommandError("--top must be at least 1", returncode=2)
        from_db = options["date_from"] or options["date_to"]
        if bool(options["input"]) == bool(from_db):
            raise CommandError("give either --input FILE or --from DATE --to DATE", returncode=2)
        if options["input"]:
            issues, total, groups, source = self._hot_file(options)
        else:
            issues, total, groups, source = self._hot_db(options)
        if options["format"] == "json":
            text = json.dumps(
                {
                    "source": source,
                    "messages": total,
                    "issues": groups,
                    "top": [h.to_dict() for h in issues],
                },
                ensure_ascii=False,
                indent=1,
            )
        else:
            text = _markdown(
                issues,
                source=source,
                total=total,
                groups=groups,
                command=_command_line("hot", options),
            )
        if options["out"]:
            with atomic_open(options["out"], "w") as fh:
                fh.write(text if text.endswith("\n") else text + "\n")
        else:
            self.stdout.write(text)

    def _hot_file(self, options: dict[str, Any]) -> tuple[list[HotIssue], int, int | None, str]:
        try:
            parsed = importer.read_file(
                options["input"],
                layout=options["layout"],
                encoding=options["encoding"],
                limits=False,
            )
        except importer.ImportFileError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if parsed.errors:
            for error in parsed.errors:
                self.stderr.write(error.line())
            raise CommandError(
                f"{parsed.path.name}: {len(parsed.errors)} cell(s) cannot be read", returncode=1
            )
        messages = hot.messages_from_file(parsed)
        if not messages:
            raise CommandError(f"{parsed.path.name}: the table has no rows", returncode=2)
        issues = hot.rank(messages)
        return issues[: options["top"]], len(messages), len(issues), str(options["input"])

    def _hot_db(self, options: dict[str, Any]) -> tuple[list[HotIssue], int, int | None, str]:
        days = []
        for name in ("date_from", "date_to"):
            value = options[name]
            if not value:
                raise CommandError("--from and --to go together", returncode=2)
            try:
                days.append(dt.date.fromisoformat(value))
            except ValueError as exc:
                raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)", returncode=2) from exc
        try:
            unit = importer.resolve_unit(options["unit"])
        except importer.ImportFileError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        total = hot.period_appeals(days[0], days[1], unit).count()
        try:
            issues = hot.hot_issues(days[0], days[1], unit=unit, limit=options["top"])
        except ServiceError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        where = f" · {unit.code}" if unit else ""
        return issues, total, None, f"appeals {days[0]} → {days[1]}{where}"


_FLAGS = {
    "import": (
        ("layout", "--layout"),
        ("dry_run", "--dry-run"),
        ("unit", "--unit"),
        ("category", "--category"),
        ("encoding", "--encoding"),
    ),
    "hot": (
        ("input", "--input"),
        ("date_from", "--from"),
        ("date_to", "--to"),
        ("unit", "--unit"),
        ("layout", "--layout"),
        ("encoding", "--encoding"),
        ("top", "--top"),
        ("format", "--format"),
        ("out", "--out"),
    ),
}
_DEFAULTS = {"layout": "auto", "format": "md"}


def _command_line(sub: str, options: dict[str, Any]) -> str:
    """The command as it was given (defaults left out), for the audit trail and the report."""
    words = ["minsheng", "appeals", sub]
    if sub == "import":
        words.append(Path(options["file"]).as_posix())
    for name, flag in _FLAGS[sub]:
        value = options.get(name)
        if value in (None, False, "", []) or _DEFAULTS.get(name) == value:
            continue
        if value is True:
            words.append(flag)
        elif isinstance(value, list):
            words += [f"{flag} {v}" for v in value]
        else:
            words.append(f"{flag} {value}")
    return " ".join(words)


def _markdown(
    issues: list[HotIssue], *, source: str, total: int, groups: int | None, command: str
) -> str:
    """textkit's report layout, headed with the command that made it."""
    body = render_markdown(issues, source=source, total=total, groups=groups or 0)
    lines = body.splitlines()
    lines[0] = "# 热点问题 hot issues (minsheng appeals hot)"
    if groups is None:
        # From the database only the top issues are kept, so the number of groups is unknown.
        lines[2] = lines[2].replace(" grouped into 0 issues", "")
    lines[2:2] = [f"Command: `{command}`", ""]
    return "\n".join(lines) + "\n"
