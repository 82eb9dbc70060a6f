"""``minsheng text segment``: cut Chinese text into words, one input line to one output line."""

from __future__ import annotations

import argparse
import sys

from textkit.cli import UserError
from textkit.normalise import InputError, read_text_file
from textkit.segment import DEFAULT_USERDICT, Segmenter, UserDictError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "segment",
        help="cut Chinese text into words (jieba-compatible, with our user dictionary)",
        description=(
            "Segment Chinese text into words the way jieba's default precise mode does, with the "
            "project's user dictionary of unit names and policy terms (城管执法局, 接诉即办, "
            "12345热线 …). Each input line becomes one output line of words joined by --sep; "
            "whitespace tokens are dropped."
        ),
    )
    parser.add_argument(
        "file",
        nargs="?",
        default="-",
        metavar="FILE",
        help="UTF-8 (or GB18030) text file to read, or - for standard input (default)",
    )
    parser.add_argument(
        "--userdict",
        action="append",
        default=[],
        metavar="F",
        help="extra user dictionary in jieba format ('word [freq] [tag]' per line); repeatable",
    )
    parser.add_argument(
        "--no-default-dict",
        action="store_true",
        help="do not load the shipped user dictionary (plain jieba behaviour)",
    )
    parser.add_argument(
        "--sep", default=" ", help="string placed between words (default: one space)"
    )
    parser.add_argument(
        "--no-hmm",
        action="store_true",
        help="do not guess unknown words with the HMM (jieba's HMM=False)",
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
        print(f"minsheng text segment: warning: {warning}", file=sys.stderr)
    try:
        segmenter = Segmenter(
            userdict=None if args.no_default_dict else DEFAULT_USERDICT, hmm=not args.no_hmm
        )
        for path in args.userdict:
            segmenter.load_userdict(path)
    except UserDictError as exc:
        raise UserError(str(exc)) from None
    lines = text.splitlines()
    out = sys.stdout
    for words in segmenter.cut_many(lines):
        out.write(args.sep.join(w for w in words if not w.isspace()))
        out.write("\n")
    return 0
