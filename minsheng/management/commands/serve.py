from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


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

    def handle(self, *args: Any, **opts: Any) -> None:
        from waitress import serve

        from minsheng.wsgi import application

        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"minsheng serving on http://{opts['host']}:{opts['port']}/")
        serve(
            application,
            host=opts["host"],
            port=opts["port"],
            threads=opts["threads"],
            ident="minsheng",
        )
