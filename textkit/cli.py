"""``minsheng text …``: the text engine's command line, usable without Django.

Each subcommand lives in its own module under ``textkit.commands`` and exposes
``register(subparsers)``; adding a command means adding a module name to ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ["normalise", "clean", "segment", "dedupe", "route", "sentiment", "reply", "hot"]


class UserError(Exception):
    """Bad input a person can fix: printed as one line, exit status 2, nothing written."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minsheng text",
        description="民声 text engine: normalise, clean, segment, dedupe, route appeals, sentiment.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"textkit.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"textkit.commands.{name}":
                continue  # not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"minsheng text {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
