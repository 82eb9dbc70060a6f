"""``minsheng exemplars …``: run the anti-刷票 detector; set up and replay benchmark voting.

    minsheng exemplars detect [--campaign ID]      flag suspicious votes (all voting campaigns)
    minsheng exemplars bench-setup --voters N --out FILE
    minsheng exemplars attack-replay [--seed 7] [--honest 3000] [--scale 1.0]

The last two write test data into the configured database: bench/votes.py runs them against a
throwaway one, and they refuse production mode.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from exemplars.models import Campaign, Phase


class Command(BaseCommand):
    help = "Exemplar campaigns: anti-刷票 detection and benchmark voting."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        detect = sub.add_parser("detect", help="flag suspicious votes; idempotent")
        detect.add_argument(
            "--campaign", type=int, help="one campaign (default: all in voting or counting)"
        )
        setup = sub.add_parser(
            "bench-setup", help="a voting campaign, N voters with sessions (JSON)"
        )
        setup.add_argument("--voters", type=int, default=1000)
        setup.add_argument("--out", type=Path, required=True)
        replay = sub.add_parser(
            "attack-replay", help="honest voting with stuffing mixed in, scored"
        )
        replay.add_argument("--seed", type=int, default=7)
        replay.add_argument("--honest", type=int, default=3000)
        replay.add_argument("--scale", type=float, default=1.0)

    def handle(self, *args: Any, **opts: Any) -> None:
        command = opts["subcommand"]
        if command == "detect":
            self._detect(opts.get("campaign"))
            return
        if getattr(settings, "ENVIRONMENT", "") == "production":
            raise CommandError("refusing to write benchmark data in production mode")
        from exemplars import simulate

        if command == "bench-setup":
            data = simulate.bench_setup(opts["voters"])
            opts["out"].write_text(json.dumps(data), encoding="utf-8")
            self.stdout.write(f"campaign {data['campaign']}: {len(data['sessions'])} voters")
        else:
            result = simulate.attack_replay(opts["seed"], opts["honest"], opts["scale"])
            self.stdout.write(json.dumps(result, ensure_ascii=False))

    def _detect(self, campaign_id: int | None) -> None:
        from exemplars.detect import run_detection

        campaigns = Campaign.objects.filter(phase__in=(Phase.VOTING, Phase.COUNTING))
        if campaign_id is not None:
            campaigns = Campaign.objects.filter(pk=campaign_id)
            if not campaigns.exists():
                raise CommandError(f"no campaign {campaign_id}")
        for campaign in campaigns:
            summary = run_detection(campaign)
            self.stdout.write(
                f"{campaign.pk} {campaign.title}: {summary.votes_scanned} votes, "
                f"{summary.flags_new} new flags, {summary.votes_flagged} votes flagged"
            )
