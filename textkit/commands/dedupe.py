"""``minsheng text dedupe``: mark exact and near-duplicate rows of a table."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from tqdm import tqdm

from textkit.cli import UserError
from textkit.dedupe import DedupeIndex
from textkit.tabular import load_table, write_csv_atomic

_ADDED = ("duplicate_of", "similarity")
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dedupe",
        help="find exact and near-duplicate rows (MinHash LSH over character shingles)",
        description=(
            "Read a CSV or XLSX table and add two columns: duplicate_of (the key of the earlier row "
            "this row best matches: its first exact copy, else the most similar near copy; empty if "
            "none) and similarity (1 for an exact copy after folding width, case and whitespace; "
            "otherwise the estimated Jaccard similarity of character 3-grams). Rows are taken in "
            "file order, or in time order with --time."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="CSV (UTF-8 or GBK) or XLSX table to read")
    parser.add_argument("--text", required=True, metavar="COL", help="column holding the text")
    parser.add_argument(
        "--key",
        default=None,
        metavar="COL",
        help="column identifying a row in duplicate_of (default: the spreadsheet row number)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.8,
        help="smallest similarity (0–1] counted as a near duplicate (default 0.8)",
    )
    parser.add_argument(
        "--time",
        default=None,
        metavar="COL",
        help="column with each row's time (YYYY-MM-DD[ HH:MM[:SS]]); rows are taken in time order",
    )
    parser.add_argument(
        "--window-days",
        type=float,
        default=None,
        metavar="DAYS",
        help="with --time, only rows within this many days before a row can be its original",
    )
    parser.add_argument(
        "--num-perm", type=int, default=64, help="MinHash permutations (default 64)"
    )
    parser.add_argument("--shingle", type=int, default=3, help="characters per shingle (default 3)")
    parser.add_argument("--out", required=True, metavar="OUT.csv", help="CSV file to write")
    parser.add_argument(
        "--encoding", default=None, help="encoding hint for a CSV file (detected if wrong)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _parse_time(value: str, where: str) -> float:
    value = value.strip()
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise UserError(f"{where}: cannot read time {value!r} (expected YYYY-MM-DD HH:MM:SS)")


def run(args: argparse.Namespace) -> int:
    if not 0.0 < args.threshold <= 1.0:
        raise UserError(f"--threshold must be in (0, 1], got {args.threshold}")
    if args.window_days is not None and args.time is None:
        raise UserError("--window-days needs --time COL")
    if args.num_perm < 2 or args.shingle < 1:
        raise UserError("--num-perm must be at least 2 and --shingle at least 1")
    table = load_table(
        args.file, [c for c in (args.text, args.key, args.time) if c], encoding=args.encoding
    )
    clash = [c for c in _ADDED if c in table.fieldnames]
    if clash:
        raise UserError(f"{args.file}: already has column {clash[0]!r}; rename it first")
    rows = table.rows
    numbers = table.row_numbers or list(range(2, len(rows) + 2))
    keys = [r[args.key] if args.key else str(n) for r, n in zip(rows, numbers, strict=True)]
    if args.key:
        seen: dict[str, int] = {}
        for key, number in zip(keys, numbers, strict=True):
            if key in seen:
                raise UserError(
                    f"{args.file}: row {number}, column {args.key!r}: key {key!r} repeats row {seen[key]}"
                )
            seen[key] = number
    order = list(range(len(rows)))
    times: list[float] | None = None
    if args.time:
        times = [
            _parse_time(r[args.time], f"{args.file}: row {n}, column {args.time!r}")
            for r, n in zip(rows, numbers, strict=True)
        ]
        order.sort(key=lambda i: times[i])  # type: ignore[index]

    index = DedupeIndex(threshold=args.threshold, num_perm=args.num_perm, shingle=args.shingle)
    duplicate_of = [""] * len(rows)
    similarity = [""] * len(rows)
    exact = [False] * len(rows)
    batch = 1000
    show = not args.quiet and sys.stderr.isatty()
    window = args.window_days * 86400.0 if args.window_days is not None else None
    row_of = {key: i for i, key in enumerate(keys)}
    with tqdm(total=len(rows), disable=not show, unit="row", desc="dedupe") as bar:
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            if times is not None and window is not None:
                # expiry keeps the index small; the exact window is checked per match below
                index.expire(times[chunk[0]] - window)
            found = index.add_many(
                [keys[i] for i in chunk],
                [rows[i][args.text] for i in chunk],
                [times[i] for i in chunk] if times is not None else None,
            )
            for i, matches in zip(chunk, found, strict=True):
                if times is not None and window is not None:
                    matches = [m for m in matches if times[i] - times[row_of[str(m.key)]] <= window]
                if matches:
                    duplicate_of[i] = str(matches[0].key)
                    similarity[i] = f"{matches[0].similarity:.3f}"
                    exact[i] = matches[0].exact
            bar.update(len(chunk))

    out_rows = (
        {**row, "duplicate_of": d, "similarity": s}
        for row, d, s in zip(rows, duplicate_of, similarity, strict=True)
    )
    write_csv_atomic(args.out, out_rows, [*table.fieldnames, *_ADDED])
    copies = sum(exact)
    near = sum(1 for d in duplicate_of if d) - copies
    print(
        f"minsheng text dedupe: {len(rows)} rows, {copies} exact and {near} near duplicates → {args.out}",
        file=sys.stderr,
    )
    return 0
