"""``minsheng text clean``: extract the article from a scraped page and say what was removed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from textkit.clean import clean_page, render_text
from textkit.cli import UserError
from textkit.normalise import InputError, decode_bytes, read_text_file


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "clean",
        help="extract title, metadata and body paragraphs from a scraped page (text or HTML)",
        description=(
            "Clean one scraped page, plain text or HTML: title, date, author, source, keywords, abstract "
            "and body paragraphs in normalised simplified Chinese, plus every removed line with its reason "
            "(SEO spam, keyword and place-name lists, navigation, related links, author bio, references) "
            "and the garbled spans left in the text."
        ),
    )
    parser.add_argument(
        "file", metavar="FILE", help="the page: a .txt or .html file, or - for standard input"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print JSON with keys title, date, author, source, keywords, abstract, paragraphs, removed, garbled",
    )
    parser.add_argument(
        "--encoding", default=None, help="the file's encoding if it is not UTF-8 (e.g. gb18030)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        if args.file == "-":
            data = sys.stdin.buffer.read()
            text, warnings = decode_bytes(data, "standard input", args.encoding)
            name = None
        else:
            text, warnings = read_text_file(args.file, args.encoding)
            name = Path(args.file).name
        page = clean_page(text, filename=name)
    except InputError as exc:
        raise UserError(str(exc)) from None
    for warning in warnings:
        print(f"minsheng text clean: warning: {warning}", file=sys.stderr)
    print(page.to_json() if args.json else render_text(page))
    return 0
