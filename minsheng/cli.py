"""The ``minsheng`` console command: one entry point for every operation.

``minsheng text …`` runs the text engine without loading Django; everything else is a Django
management command (``minsheng up``, ``minsheng serve``, ``minsheng migrate``,
``minsheng demo``, ``minsheng audit verify`` …), so a user never needs manage.py.
"""

from __future__ import annotations

import os
import sys

OUR_COMMANDS = {
    "up": "migrate, load the demo city and serve on 127.0.0.1:8000 (the README's first command)",
    "serve": "serve the web application with a production WSGI server",
    "demo": "load (or refresh) the demo city: units, grids, categories, staff and demo logins",
    "audit": "audit trail: verify the hash chain (audit verify)",
    "appeals": "appeals: deadline sweep, import of exports, hot issues, router training",
    "open311": "Open311 GeoReport v2 clients: add, list, revoke API keys",
    "search": "full-text search index of appeals: rebuild it (search reindex)",
    "kpi": "appeal KPIs: rebuild the rollup tables (kpi rollup)",
    "consult": "consultation: re-run a hearing's published draw (consult draw-verify ID)",
    "opinion": "舆情: replay a stream into a report; backfill a large one on Dask workers",
    "sources": "舆情 sources: list, poll now, import a JSONL/CSV export of posts",
    "vault": "personal-data vault: rotate the encryption key (vault rotate-key)",
    "text": "the Chinese text engine: normalise, clean, segment, dedupe, route, sentiment …",
    "healthcheck": "check the database, cache and broker from the command line",
    "backup": "back up the database into one checked archive (backup --out FILE)",
    "restore": "restore the database from a backup archive (restore FILE --yes)",
}


def _usage() -> str:
    lines = ["usage: minsheng <command> [options]", "", "minsheng commands:"]
    lines += [f"  {name:<12} {text}" for name, text in OUR_COMMANDS.items()]
    lines += [
        "",
        "Django commands (migrate, createsuperuser, check, shell, …) work too;",
        "`minsheng help --all` lists them. `minsheng <command> --help` explains one.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "text":
        from textkit.cli import main as text_main

        raise SystemExit(text_main(args[1:]))
    if not args or args[0] in {"-h", "--help"} or args == ["help"]:
        print(_usage())
        return
    if args[:2] == ["help", "--all"]:
        args = ["help"]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minsheng.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["minsheng", *args])


if __name__ == "__main__":
    main()
