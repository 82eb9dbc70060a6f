from __future__ import annotations

import fcntl
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

# What a TLS-terminating proxy tells us: without X-Forwarded-Proto a production server (which
# redirects plain HTTP) would send every proxied request back to https forever, and without
# X-Forwarded-For the audit trail would record the proxy's address instead of the citizen's.
PROXY_HEADERS = {"x-forwarded-proto", "x-forwarded-for", "x-forwarded-host", "x-forwarded-port"}


def collect_static() -> None:
    """collectstatic under a file lock: several servers started together share STATIC_ROOT, and
    two hashed-manifest runs at once delete and rewrite each other's files half-way."""
    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    with (settings.DATA_DIR / "collectstatic.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        call_command("collectstatic", interactive=False, verbosity=0)


class Command(BaseCommand):
    help = (
        "Serve minsheng with waitress (a production WSGI server) and WhiteNoise for static files."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"
        )
        parser.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
        parser.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
        parser.add_argument(
            "--trusted-proxy",
            default=None,
            metavar="ADDRESS",
            help=(
                "address of the reverse proxy in front (e.g. 127.0.0.1): its X-Forwarded-Proto, "
                "-For, -Host and -Port headers are believed; from anyone else they are dropped"
            ),
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        from waitress import serve

        from minsheng.wsgi import application

        collect_static()
        from minsheng import periodic
        from sources import scheduler as sources_scheduler

        if periodic.start() is not None:
            self.stdout.write(
                "periodic jobs (deadline sweep, KPI rollup, 舆情 tasks, vote checks) run in this process"
            )
        if sources_scheduler.start() is not None:
            self.stdout.write("舆情 sources are polled in this process (MINSHENG_SOURCES_POLL)")
        self.stdout.write(f"minsheng serving on http://{opts['host']}:{opts['port']}/")
        proxy: dict[str, Any] = {}
        if opts["trusted_proxy"]:
            proxy = {
                "trusted_proxy": opts["trusted_proxy"],
                "trusted_proxy_headers": PROXY_HEADERS,
            }
        serve(
            application,
            host=opts["host"],
            port=opts["port"],
            threads=opts["threads"],
            ident="minsheng",
            **proxy,
        )
