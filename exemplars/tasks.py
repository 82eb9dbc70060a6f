"""Background work: the anti-刷票 detector over every campaign that is voting or counting.

Registered as ``exemplars.detect``; the periodic-jobs table (minsheng/periodic.py) is where it
is scheduled (every few minutes), so the vote request itself never analyses anything.
"""

from __future__ import annotations

from celery import shared_task


@shared_task(name="exemplars.detect")
def detect_all() -> int:
    """Run the detector over open campaigns; returns how many votes are flagged in all."""
    from exemplars.detect import run_detection
    from exemplars.models import Campaign, Phase

    flagged = 0
    for campaign in Campaign.objects.filter(phase__in=(Phase.VOTING, Phase.COUNTING)):
        flagged += run_detection(campaign).votes_flagged
    return flagged
