"""``minsheng text normalise``: print a text in canonical form, with its garbled spans on request."""

from __future__ import annotations

import argparse
import json
import sys

from textkit.cli import UserError
from textkit.normalise import InputError, analyse, read_text_file


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "normalise",
        help="normalise Chinese text (NFKC, traditional→simplified, pinyin, entities, whitespace)",
        description=(
            "Normalise scraped Chinese text: HTML entities, NFKC and full-width forms, traditional to "
            "simplified (OpenCC), inline pinyin annotations removed, whitespace folded. Garbled spans "
            "(private-use characters, lost characters, mojibake, scrambled runs) are reported, never repaired."
        ),
    )
    parser.add_argument(
        "file",
        nargs="?",
        default="-",
        metavar="FILE",
        help="text file to read, or - for standard input (default)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print JSON with the text and its garbled spans (start, end, kind, sample)",
    )
    parser.add_argument(
        "--encoding", default=None, help="the file's encoding if it is not UTF-8 (e.g. gb18030)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        text, warnings = read_text_file(args.file, args.encoding)
    except InputError as exc:
        raise UserError(str(exc)) from None
    for warning in warnings:
        print(f"minsheng text normalise: warning: {warning}", file=sys.stderr)
    result = analyse(text)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(result.text)
        if result.garbled:
            print(
                f"minsheng text normalise: {len(result.garbled)} garbled span(s); use --json to list them",
                file=sys.stderr,
            )
    return 0
