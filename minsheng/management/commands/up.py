from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Prepare and start the embedded default: migrate the database, load the demo city "
        "(idempotent), print the address and demo logins, then serve."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-demo", action="store_true", help="do not load the demo city")

    def handle(self, *args: Any, **opts: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        if not opts["no_demo"]:
            call_command("demo", verbosity=1, stdout=self.stdout)
        address = f"http://{opts['host']}:{opts['port']}/"
        self.stdout.write(self.style.SUCCESS(f"\n民声 minsheng is ready: {address}"))
        self.stdout.write(f"  workbench {address}workbench/   API docs {address}api/docs")
        call_command("serve", host=opts["host"], port=opts["port"])
