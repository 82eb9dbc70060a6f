"""``minsheng text hot``: group a table of messages into issues and rank them by heat."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from textkit.cli import UserError
from textkit.hot import HotIssue, Message, find_hot_issues
from textkit.tabular import atomic_open, load_table

_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
)
# The 附件3 layout of the 2020 泰迪杯 C data, the commonest export of a message board.
DEFAULT_TEXT = ["留言主题", "留言详情"]
DEFAULT_TIME = "留言时间"
DEFAULT_ID = "留言编号"
DEFAULT_LIKES = "点赞数"
DEFAULT_DISLIKES = "反对数"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "hot",
        help="find hot issues: group messages by problem and place, rank by heat",
        description=(
            "Read a CSV or XLSX table of appeals or messages, group them into issues (the same "
            "problem at the same place) and rank the issues by a heat index from message count, "
            "growth in the last quarter of the period and supports (likes − dislikes). Column "
            "names default to the 附件3 layout (留言编号, 留言主题, 留言时间, 留言详情, 点赞数, "
            "反对数). Prints the top issues; --out writes a Markdown report, --json a JSON file."
        ),
    )
    parser.add_argument("--input", required=True, metavar="FILE", help="CSV (UTF-8 or GBK) or XLSX")
    parser.add_argument(
        "--text",
        action="append",
        default=None,
        metavar="COL",
        help="text column; repeat for more. The first is the subject line, the rest are joined "
        "as the body (default: 留言主题 and 留言详情)",
    )
    parser.add_argument(
        "--time", default=DEFAULT_TIME, metavar="COL", help="time column (留言时间); '' for none"
    )
    parser.add_argument(
        "--id", default=DEFAULT_ID, metavar="COL", help="id column (留言编号); '' for row numbers"
    )
    parser.add_argument(
        "--likes", default=DEFAULT_LIKES, metavar="COL", help="likes column (点赞数); '' for none"
    )
    parser.add_argument(
        "--dislikes",
        default=DEFAULT_DISLIKES,
        metavar="COL",
        help="dislikes column (反对数); '' for none",
    )
    parser.add_argument(
        "--top", type=int, default=5, help="how many issues to print and report (5)"
    )
    parser.add_argument(
        "--similarity",
        type=float,
        default=0.25,
        help="smallest average problem similarity inside an issue, 0–1 (0.25)",
    )
    parser.add_argument(
        "--strong-similarity",
        type=float,
        default=0.6,
        help="smallest similarity that links a message naming no place (0.6)",
    )
    parser.add_argument("--out", default=None, metavar="REPORT.md", help="Markdown report to write")
    parser.add_argument("--json", default=None, metavar="OUT.json", help="JSON of the top issues")
    parser.add_argument(
        "--encoding", default=None, help="encoding hint for a CSV file (detected if wrong)"
    )
    parser.set_defaults(func=run)


def _parse_time(value: str, where: str) -> datetime:
    value = value.strip()
    for fmt in _TIME_FORMATS:
        try:
            # Exports carry the board's local wall-clock time with no zone; naive is honest.
            return datetime.strptime(value, fmt)  # noqa: DTZ007
        except ValueError:
            continue
    raise UserError(f"{where}: cannot read time {value!r} (expected YYYY-MM-DD HH:MM:SS)")


def _parse_count(value: str, where: str) -> int:
    value = value.strip()
    if not value:
        return 0
    try:
        number = float(value)
    except ValueError:
        raise UserError(f"{where}: {value!r} is not a number") from None
    if number < 0 or not number.is_integer():
        raise UserError(f"{where}: {value!r} is not a whole number ≥ 0")
    return int(number)


def read_messages(args: argparse.Namespace) -> list[Message]:
    """The table's rows as messages; every bad cell is a UserError naming file, row and column."""
    texts = args.text or DEFAULT_TEXT
    optional = [c for c in (args.time, args.id, args.likes, args.dislikes) if c]
    table = load_table(args.input, [*texts, *optional], encoding=args.encoding)
    numbers = table.row_numbers or list(range(2, len(table.rows) + 2))
    messages: list[Message] = []
    seen: dict[str, int] = {}
    for row, number in zip(table.rows, numbers, strict=True):
        at = f"{args.input}: row {number}"
        key = row[args.id].strip() if args.id else str(number)
        if not key:
            raise UserError(f"{at}, column {args.id!r}: the id is empty")
        if key in seen:
            raise UserError(f"{at}, column {args.id!r}: id {key!r} repeats row {seen[key]}")
        seen[key] = number
        messages.append(
            Message(
                id=key,
                title=row[texts[0]],
                body="\n".join(row[c] for c in texts[1:]),
                time=_parse_time(row[args.time], f"{at}, column {args.time!r}")
                if args.time
                else None,
                likes=_parse_count(row[args.likes], f"{at}, column {args.likes!r}")
                if args.likes
                else 0,
                dislikes=(
                    _parse_count(row[args.dislikes], f"{at}, column {args.dislikes!r}")
                    if args.dislikes
                    else 0
                ),
            )
        )
    return messages


def _when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S") if t else "—"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_markdown(issues: list[HotIssue], *, source: str, total: int, groups: int) -> str:
    """A Markdown report of ``issues`` (already cut to the top N)."""
    lines = [
        "# 热点问题 hot issues",
        "",
        f"Source: `{source}` — {total} messages grouped into {groups} issues; "
        f"the {len(issues)} hottest are listed. Heat = count + supports + growth "
        "(formula in docs/hot-issues.md).",
        "",
        "| rank | heat | count | supports (likes − dislikes) | growth | time span | place | issue |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for h in issues:
        lines.append(
            f"| {h.rank} | {h.heat:.2f} | {h.count} ({h.parts.count:.2f}) | "
            f"{h.supports} = {h.likes} − {h.dislikes} ({h.parts.supports:.2f}) | "
            f"{h.parts.recent} recent / {h.parts.earlier} earlier ({h.parts.growth:.2f}) | "
            f"{_when(h.first)} → {_when(h.last)} | {_cell(h.admin + h.place) or '—'} | "
            f"{_cell(h.subject)} |"
        )
    for h in issues:
        lines += [
            "",
            f"## {h.rank}. {_cell(h.admin + h.place) or '(no place)'}：{_cell(h.subject)}",
            "",
            f"- id `{h.id}`; heat **{h.heat:.2f}** = count {h.parts.count:.2f} + supports "
            f"{h.parts.supports:.2f} + growth {h.parts.growth:.2f}",
            f"- {h.count} messages, {_when(h.first)} → {_when(h.last)}; likes {h.likes}, "
            f"dislikes {h.dislikes}",
            f"- key terms: {'、'.join(h.key_terms) or '—'}",
            "",
            "| id | time | likes | dislikes | subject |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {m.id} | {_when(m.time)} | {m.likes} | {m.dislikes} | {_cell(m.title)} |"
            for m in h.messages
        ]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise UserError(f"--top must be at least 1, got {args.top}")
    for name in ("similarity", "strong_similarity"):
        value = getattr(args, name)
        if not 0.0 < value <= 1.0:
            raise UserError(f"--{name.replace('_', '-')} must be in (0, 1], got {value}")
    messages = read_messages(args)
    if not messages:
        raise UserError(f"{args.input}: the table has no rows")
    issues = find_hot_issues(
        messages, similarity=args.similarity, strong_similarity=args.strong_similarity
    )
    top = issues[: args.top]
    if args.out:
        report = render_markdown(
            top, source=str(args.input), total=len(messages), groups=len(issues)
        )
        with atomic_open(args.out, "w") as fh:
            fh.write(report)
    if args.json:
        with atomic_open(args.json, "w") as fh:
            json.dump(
                {
                    "messages": len(messages),
                    "issues": len(issues),
                    "top": [h.to_dict() for h in top],
                },
                fh,
                ensure_ascii=False,
                indent=1,
            )
            fh.write("\n")
    for h in top:
        print(
            f"{h.rank}\t{h.heat:.2f}\t{h.count}\t{_when(h.first)}→{_when(h.last)}\t{h.description}"
        )
    print(f"minsheng text hot: {len(messages)} messages, {len(issues)} issues", file=sys.stderr)
    return 0
