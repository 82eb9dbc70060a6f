from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

# What a TLS-terminating proxy tells us: without X-Forwarded-Proto a production server (which
# redirects plain HTTP) would send every proxied request back to https forever, and without
# X-Forwarded-For the audit trail would record the proxy's address instead of the citizen's.
PROXY_HEADERS = {"x-forwarded-proto", "x-forwarded-for", "x-forwarded-host", "x-forwarded-port"}


class Command(BaseCommand):
    help = (
        "Serve minsheng with a production WSGI server and WhiteNoise for static files: waitress "
        "(one process) by default, gunicorn with --workers N (N processes, POSIX only)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"
        )
        parser.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
        parser.add_argument(
            "--threads", type=int, default=8, help="threads per process (default 8)"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=0,
            help=(
                "run gunicorn with this many worker processes (POSIX); 0, the default, serves "
                "from this one process with waitress"
            ),
        )
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
        if opts["workers"] < 0 or opts["threads"] < 1:
            raise CommandError("--workers must be 0 or more and --threads 1 or more")
        from minsheng.serving import collect_static

        collect_static()
        if opts["workers"] and os.name == "posix":
            from minsheng.serving import run_gunicorn

            self.stdout.write(
                f"minsheng serving on http://{opts['host']}:{opts['port']}/ with gunicorn: "
                f"{opts['workers']} workers × {opts['threads']} threads"
            )
            self.stdout.flush()
            run_gunicorn(
                host=opts["host"],
                port=opts["port"],
                workers=opts["workers"],
                threads=opts["threads"],
                trusted_proxy=opts["trusted_proxy"],
            )
            return
        if opts["workers"]:
            self.stderr.write("gunicorn needs a POSIX system: serving with waitress instead")
        from waitress import serve

        from minsheng.serving import load_application, start_background_jobs, start_vote_batcher

        application = load_application()

        start_vote_batcher()

        for what in start_background_jobs():
            self.stdout.write(f"{what} run in this process")
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
