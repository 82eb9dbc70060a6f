"""``minsheng consult draw-verify HEARING_ID``: re-run a hearing's draw from its published seed.

Prints the seed, the method and the selected names per category, and whether they match the
published list; exits 1 on a mismatch (or when the commitment does not match the seed).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from consult import draw as lottery
from consult import hearings
from consult.models import Category, Hearing


class Command(BaseCommand):
    help = "consultation: draw-verify HEARING_ID re-runs a hearing's draw from its seed"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("draw-verify", help="re-run a hearing's draw and compare")
        verify.add_argument("hearing_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        from consult.views import mask_name

        hearing = Hearing.objects.filter(pk=options["hearing_id"]).first()
        if hearing is None:
            raise CommandError(f"no hearing {options['hearing_id']}")
        if hearing.drawn_at is None:
            raise CommandError(f"hearing {hearing.pk} has not been drawn yet")
        same, tickets = hearings.verify(hearing)
        names = {r.pk: mask_name(r.name) for r in hearing.registrations.all()}
        out = self.stdout
        out.write(f"hearing {hearing.pk}: {hearing.title}")
        out.write(f"method {lottery.METHOD}; seed {hearing.seed!r}")
        committed = True
        if hearing.seed_commitment:
            committed = lottery.commitment(hearing.seed) == hearing.seed_commitment
            out.write(
                f"commitment {hearing.seed_commitment}: {'matches' if committed else 'DOES NOT MATCH'}"
            )
        for category in sorted(hearing.seats):
            picked = [t for t in tickets if t.category == category and t.selected]
            label = str(Category(category).label)
            out.write(
                f"{label} ({hearing.seats[category]} seats): "
                + "、".join(f"#{t.registration_id} {names[t.registration_id]}" for t in picked)
            )
        out.write(f"digest {lottery.digest(tickets)} (published {hearing.draw_digest})")
        if not (same and committed):
            out.write("re-run DIFFERS from the published list")
            raise SystemExit(1)
        out.write("re-run matches the published list")
