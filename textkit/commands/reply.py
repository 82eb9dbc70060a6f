"""``minsheng text reply``: score official replies against the messages they answer."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textkit.cli import UserError

_COLUMN_OPTIONS = (
    ("--id-col", "id", "留言编号", "column with the message id"),
    ("--subject-col", "subject", "留言主题", "column with the message subject ('' if none)"),
    ("--message-col", "message", "留言详情", "column with the message text"),
    ("--message-time-col", "message_time", "留言时间", "column with the message time ('' if none)"),
    ("--reply-col", "reply", "答复意见", "column with the reply text"),
    ("--reply-time-col", "reply_time", "答复时间", "column with the reply time ('' if none)"),
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "reply",
        help="score official replies for relevance, completeness and timeliness",
        description=(
            "Score each official reply (答复意见) against its message: relevance (the message's key "
            "terms found in the reply), completeness (handling result, legal or policy basis, next "
            "step or contact, found by cue patterns) and timeliness (working days, Monday–Friday), "
            "combined into a 0–100 score with the parts shown."
        ),
    )
    sub = parser.add_subparsers(dest="reply_command", metavar="ACTION", required=True)

    report = sub.add_parser(
        "report",
        help="write a Markdown (and JSON) report: distribution and the weakest replies",
        description=(
            "Score every row of a CSV/XLSX of messages with replies and write a Markdown report "
            "with the score distribution, the parts, and the weakest replies with their reasons; "
            "optionally check the scores against 0/1 human judgements."
        ),
    )
    _add_common(report)
    report.add_argument("--out", required=True, help="Markdown report to write (e.g. R.md)")
    report.add_argument(
        "--json",
        default=None,
        help="JSON twin of the report (default: the --out path with .json)",
    )
    report.add_argument(
        "--weakest", type=int, default=10, help="how many of the weakest replies to list (10)"
    )
    report.add_argument(
        "--annotations",
        default=None,
        help="CSV/XLSX of human 0/1 judgements to check the scores against, joined on the id",
    )
    report.add_argument(
        "--annotation-id-col",
        default=None,
        help="id column in the annotations file (default: the same as --id-col)",
    )
    report.add_argument(
        "--annotation-cols",
        default=None,
        help="comma-separated judgement columns (default: every column holding only 0/1/blank)",
    )
    report.set_defaults(func=run_report)

    score = sub.add_parser(
        "score",
        help="write one scored row per reply to a CSV",
        description="Score every row and write id, score, parts, cues and reasons to a CSV.",
    )
    _add_common(score)
    score.add_argument("--out", required=True, help="CSV file to write")
    score.set_defaults(func=run_score)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input", required=True, help="CSV or XLSX with messages and replies")
    for flag, _attr, default, text in _COLUMN_OPTIONS:
        p.add_argument(flag, default=default, help=f"{text} (default {default})")
    p.add_argument(
        "--full-days", type=int, default=5, help="working days that still count as prompt (5)"
    )
    p.add_argument(
        "--zero-days", type=int, default=60, help="working days at which timeliness is 0 (60)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _columns(args: argparse.Namespace) -> Any:
    from textkit.reply import ReplyColumns

    values = {
        attr: getattr(args, flag[2:].replace("-", "_")) for flag, attr, _d, _t in _COLUMN_OPTIONS
    }
    if not values["message"] or not values["reply"]:
        raise UserError("--message-col and --reply-col must name columns")
    return ReplyColumns(**values)


def _options(args: argparse.Namespace) -> Any:
    from textkit.reply import ReplyOptions

    if args.full_days < 0 or args.zero_days <= args.full_days:
        raise UserError("--zero-days must be greater than --full-days, and both not negative")
    return ReplyOptions(full_days=args.full_days, zero_days=args.zero_days)


def _progress(quiet: bool) -> Any:
    def wrap(it: Iterable[int]) -> Iterable[int]:
        from tqdm import tqdm

        items = list(it)
        return tqdm(
            items, desc="scoring replies", unit="reply", disable=quiet or not sys.stderr.isatty()
        )

    return wrap


def _score(args: argparse.Namespace) -> tuple[Any, list[Any], Any]:
    from textkit.reply import score_rows
    from textkit.tabular import load_table

    columns = _columns(args)
    options = _options(args)
    table = load_table(args.input, columns.required())
    if not table.rows:
        raise UserError(f"{args.input}: no data rows")
    if not any(r.get(columns.reply, "").strip() for r in table.rows):
        raise UserError(f"{args.input}: column {columns.reply!r} is empty in every row")
    try:
        scored = score_rows(
            table.rows,
            columns,
            row_numbers=table.row_numbers,
            source=str(args.input),
            options=options,
            progress=_progress(args.quiet),
        )
    except ValueError as exc:
        raise UserError(
            f"{exc} (column {columns.message_time!r} or {columns.reply_time!r})"
        ) from None
    return table, scored, options


def _annotations(
    args: argparse.Namespace, id_col: str
) -> tuple[dict[str, dict[str, str]], list[str]]:
    from textkit.tabular import load_table

    key = args.annotation_id_col or id_col
    if not key:
        raise UserError("--annotations needs an id column (--id-col or --annotation-id-col)")
    table = load_table(args.annotations, [key])
    if args.annotation_cols:
        cols = [c.strip() for c in args.annotation_cols.split(",") if c.strip()]
        table.require(cols)
    else:
        cols = [
            c
            for c in table.fieldnames
            if c != key
            and any(r[c].strip() for r in table.rows)
            and all(r[c].strip() in ("", "0", "1") for r in table.rows)
        ]
        if not cols:
            raise UserError(f"{args.annotations}: no column holds 0/1 judgements")
    for c in cols:
        for number, r in zip(table.row_numbers, table.rows, strict=True):
            if r[c].strip() not in ("", "0", "1"):
                raise UserError(
                    f"{args.annotations}: row {number}, column {c!r}: expected 0, 1 or blank, "
                    f"got {r[c]!r}"
                )
    return {r[key].strip(): r for r in table.rows}, cols


def run_report(args: argparse.Namespace) -> int:
    from textkit.reply import agreement, build_report
    from textkit.tabular import atomic_open

    out = Path(args.out)
    json_path = Path(args.json) if args.json else out.with_suffix(".json")
    if args.weakest < 1:
        raise UserError("--weakest must be at least 1")
    for p in (out, json_path):
        if not p.parent.is_dir():
            raise UserError(f"{p}: the folder {p.parent} does not exist")
    ann: dict[str, dict[str, str]] = {}
    ann_cols: list[str] = []
    if args.annotations:
        ann, ann_cols = _annotations(args, args.id_col)
    _table, scored, options = _score(args)
    agree = agreement(scored, ann, ann_cols) if args.annotations else None
    markdown, data = build_report(
        scored,
        source_name=Path(args.input).name,
        options=options,
        agreement_result=agree,
        annotations_name=Path(args.annotations).name if args.annotations else None,
        weakest=args.weakest,
    )
    # JSON first, Markdown last: a reader who finds the report also finds its figures.
    with atomic_open(json_path, "w") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    with atomic_open(out, "w") as fh:
        fh.write(markdown)
    s = data["score"]
    print(
        f"scored {data['rows']} replies: mean {s['mean']:.1f}, median {s['median']:.1f}; "
        f"report {out}",
        file=sys.stderr,
    )
    return 0


def run_score(args: argparse.Namespace) -> int:
    from textkit.tabular import write_csv_atomic

    out = Path(args.out)
    if not out.parent.is_dir():
        raise UserError(f"{out}: the folder {out.parent} does not exist")
    scored = _score(args)[1]
    fields = [
        "row",
        "id",
        "score",
        "relevance",
        "completeness",
        "timeliness",
        "working_days",
        "handling",
        "basis",
        "next_step",
        "matched_terms",
        "key_terms",
        "reasons",
    ]

    def rows() -> Iterable[dict[str, Any]]:
        for s in scored:
            r = s.result
            yield {
                "row": s.row_number,
                "id": s.id,
                "score": f"{r.score:.1f}",
                "relevance": "" if r.relevance is None else f"{r.relevance:.4f}",
                "completeness": f"{r.completeness:.4f}",
                "timeliness": "" if r.timeliness is None else f"{r.timeliness:.4f}",
                "working_days": "" if r.working_days is None else r.working_days,
                "handling": int(r.handling),
                "basis": int(r.basis),
                "next_step": int(r.next_step),
                "matched_terms": "、".join(r.matched_terms),
                "key_terms": "、".join(r.key_terms),
                "reasons": "；".join(r.reasons),
            }

    n = write_csv_atomic(out, rows(), fields, bom=True)
    print(f"scored {n} replies into {out}", file=sys.stderr)
    return 0
