"""``minsheng token create|list|revoke``: API tokens for integrations."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken, User
from minsheng.errors import ServiceError


class Command(BaseCommand):
    help = "API tokens: create (the secret is printed once), list, revoke."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token and print its secret once")
        create.add_argument("--user", required=True, help="username of the staff member")
        create.add_argument("--name", required=True, help="what the token is for")
        create.add_argument("--days", type=int, default=None, help="expires after N days")
        listing = sub.add_parser("list", help="list tokens (never their secrets)")
        listing.add_argument("--user", default=None, help="only this user's tokens")
        revoke = sub.add_parser("revoke", help="revoke the token with this prefix")
        revoke.add_argument("prefix", help="the 8 characters after msk_")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        {"create": self._create, "list": self._list, "revoke": self._revoke}[action](options)

    def _create(self, options: dict[str, Any]) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"no user named {options['user']!r}")
        try:
            token, secret = services.create_token(user, options["name"], days=options["days"])
        except ServiceError as exc:
            raise CommandError(str(exc.message)) from None
        expires = timezone.localtime(token.expires_at).isoformat() if token.expires_at else "never"
        self.stdout.write(
            f"token {token.prefix} for {user.username} ({token.name}), expires {expires}"
        )
        self.stdout.write("secret (shown once, store it now):")
        self.stdout.write(secret)

    def _list(self, options: dict[str, Any]) -> None:
        tokens = ApiToken.objects.select_related("user").order_by("created_at")
        if options["user"]:
            tokens = tokens.filter(user__username=options["user"])
        self.stdout.write(f"{'prefix':<10} {'user':<20} {'status':<8} {'expires':<25} name")
        for t in tokens:
            status = "revoked" if t.revoked_at else ("active" if t.is_active else "expired")
            expires = timezone.localtime(t.expires_at).isoformat() if t.expires_at else "never"
            self.stdout.write(
                f"{t.prefix:<10} {t.user.username:<20} {status:<8} {expires:<25} {t.name}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        prefix = options["prefix"].removeprefix(services.TOKEN_PREFIX).split("_")[0]
        token = ApiToken.objects.filter(prefix=prefix).first()
        if token is None:
            raise CommandError(f"no token with prefix {prefix!r}")
        if services.revoke_token(token):
            self.stdout.write(f"revoked {token.prefix} ({token.name})")
        else:
            self.stdout.write(f"{token.prefix} was already revoked")
