"""``minsheng vault rotate-key`` and ``minsheng vault status``."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from audit.services import record
from vault import crypto, rotation


class Command(BaseCommand):
    help = (
        "Personal-data vault: rotate the encryption key, or show which key holds how many values."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        rotate = sub.add_parser(
            "rotate-key",
            help="re-encrypt every vault value under a new key (or under the current first key)",
        )
        which = rotate.add_mutually_exclusive_group()
        which.add_argument("--new-key", metavar="BASE64", help="base64 of 32 random bytes")
        which.add_argument("--generate", action="store_true", help="generate the new key")
        rotate.add_argument(
            "--drop-old", action="store_true", help="after a complete pass, forget the old keys"
        )
        rotate.add_argument("--batch-size", type=int, default=500)
        rotate.add_argument("--no-progress", action="store_true", help="no progress bar")
        sub.add_parser("status", help="how many stored values are under each key")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["subcommand"] == "status":
                self._status()
            else:
                self._rotate(options)
        except crypto.VaultError as exc:
            raise CommandError(str(exc)) from exc

    def _status(self) -> None:
        keys = crypto.keyring()
        names = {k.key_id: ("current" if i == 0 else "old") for i, k in enumerate(keys)}
        source = "key file" if crypto.keys_from_file() else "MINSHENG_VAULT_KEYS"
        self.stdout.write(f"keys ({source}): " + ", ".join(f"{k} ({v})" for k, v in names.items()))
        for label, counter in rotation.key_usage().items():
            if not counter:
                self.stdout.write(f"{label}: no values")
                continue
            parts = []
            for kid, n in sorted(counter.items()):
                state = names.get(kid, "NOT ENCRYPTED" if not kid else "MISSING KEY")
                parts.append(f"{kid or '-'} ({state}) {n}")
            self.stdout.write(f"{label}: " + ", ".join(parts))

    def _rotate(self, options: dict[str, Any]) -> None:
        new_text = options["new_key"] or (crypto.new_key_text() if options["generate"] else None)
        if new_text:
            crypto.parse_keys(new_text)  # refuse a malformed key before touching anything
        if not crypto.keys_from_file() and new_text:
            value = rotation.plan_env_rotation(new_text)
            self.stdout.write(
                "Keys come from MINSHENG_VAULT_KEYS, which this command cannot change. Set it on "
                "every process to the value below (new key first, the old ones after, so nothing "
                "becomes unreadable), restart them, then run `minsheng vault rotate-key` again to "
                f"re-encrypt:\n\nMINSHENG_VAULT_KEYS={value}"
            )
            return
        show = not options["no_progress"] and sys.stderr.isatty()
        total = sum(rotation.count_stale().values()) if show and not new_text else None
        with tqdm(total=total, unit="value", disable=not show, file=sys.stderr) as bar:
            if crypto.keys_from_file():
                report = rotation.rotate_file_keys(
                    new_text,
                    drop_old=options["drop_old"],
                    batch_size=options["batch_size"],
                    progress=bar.update,
                )
            else:
                counts = rotation.reencrypt_all(options["batch_size"], bar.update)
                report = rotation.RotationReport(crypto.keyring()[0].key_id, counts)
        record(
            None,
            "vault.rotate",
            after={
                "key_id": report.key_id,
                "reencrypted": report.reencrypted,
                "dropped_old": report.dropped_old,
            },
            reason="minsheng vault rotate-key",
        )
        for label, n in report.reencrypted.items():
            self.stdout.write(f"{label}: {n} re-encrypted")
        self.stdout.write(f"OK: {report.total} values now under key {report.key_id}")
        if options["drop_old"] and not crypto.keys_from_file():
            self.stdout.write(
                "Every value is under the current key; you may now set "
                f"MINSHENG_VAULT_KEYS to the current key alone ({report.key_id})."
            )
        elif report.dropped_old:
            self.stdout.write("Old keys removed from the key file.")
