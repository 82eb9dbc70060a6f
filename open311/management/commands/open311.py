"""``minsheng open311 client add|list|revoke``: the API keys of Open311 (GeoReport v2) clients."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from minsheng.errors import ServiceError
from open311 import services
from open311.models import Open311Client


class Command(BaseCommand):
    help = "Open311 clients: add (the api_key is printed once), list, revoke."

    def add_arguments(self, parser: ArgumentParser) -> None:
        areas = parser.add_subparsers(dest="area", required=True)
        client = areas.add_parser("client", help="API keys of 311 apps")
        sub = client.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add a client and print its new api_key once")
        add.add_argument("name", help="who the key is for, e.g. the app's name")
        add.add_argument(
            "--jurisdiction",
            default="",
            help="restrict the key to this jurisdiction_id (default: this deployment's)",
        )
        add.add_argument(
            "--key",
            default=None,
            help=f"use this key ({services.KEY_MIN}-{services.KEY_MAX} characters) "
            "instead of a random one",
        )
        sub.add_parser("list", help="list clients (never their keys)")
        revoke = sub.add_parser("revoke", help="revoke a client's key")
        revoke.add_argument("name", help="the client's name")

    def handle(self, *args: Any, **options: Any) -> None:
        {"add": self._add, "list": self._list, "revoke": self._revoke}[options["action"]](options)

    def _add(self, options: dict[str, Any]) -> None:
        try:
            client, key = services.do_create_client(
                options["name"], key=options["key"], jurisdiction=options["jurisdiction"]
            )
        except ServiceError as exc:
            raise CommandError(str(exc.message)) from None
        self.stdout.write(
            f"client {client.name!r} for jurisdiction "
            f"{client.jurisdiction or services.jurisdiction_id()!r}"
        )
        self.stdout.write("api_key (shown once, store it now):")
        self.stdout.write(key)

    def _list(self, options: dict[str, Any]) -> None:
        self.stdout.write(
            f"{'status':<8} {'created':<26} {'last used':<26} {'jurisdiction':<16} name"
        )
        for c in Open311Client.objects.order_by("created", "pk"):
            used = timezone.localtime(c.last_used).isoformat() if c.last_used else "never"
            created = timezone.localtime(c.created).isoformat()
            status = "active" if c.active else "revoked"
            self.stdout.write(
                f"{status:<8} {created:<26} {used:<26} {c.jurisdiction or '-':<16} {c.name}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        client = Open311Client.objects.filter(name=options["name"]).first()
        if client is None:
            raise CommandError(
                f"no Open311 client named {options['name']!r} (see: open311 client list)"
            )
        if services.do_revoke_client(client):
            self.stdout.write(f"revoked {client.name!r}")
        else:
            self.stdout.write(f"{client.name!r} was already revoked")
