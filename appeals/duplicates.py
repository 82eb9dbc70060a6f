"""Possible duplicates: a new appeal about the same problem at the same place as an open one.

Texts are compared with ``textkit.dedupe`` (MinHash over character pairs, so two citizens who
describe one problem in their own words still meet); the candidates it finds are scored with the
exact Jaccard similarity of their character pairs, and kept from
``settings.APPEAL_DUPLICATE_THRESHOLD`` up. When both appeals carry a map point they must also lie
within ``settings.APPEAL_DUPLICATE_DISTANCE_M`` of each other (haversine distance): the same
words about two different streets are two problems; and when they do, half the text threshold is
enough (``NEARBY_FACTOR``), since the place already matches.

Only open appeals taken in during the last ``settings.APPEAL_DUPLICATE_DAYS`` days are compared,
at most ``POOL_LIMIT`` of them (the most recent; of the same top-level category or none; with a
point only those near enough), so the check stays in tens of milliseconds as the table grows. ``check`` runs after intake commits (a task; inline
without a broker) and flags the new appeal; the dispatcher decides and merges (``do_merge``).
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from appeals.models import Appeal, AppealEvent
from audit.services import record
from textkit.dedupe import DedupeIndex, canonical

POOL_LIMIT = 1000
# When both appeals have map points within the distance, the text bar is this share of the
# threshold: two citizens describing one spot in their own words share few character pairs.
NEARBY_FACTOR = 0.5
SHINGLE = 2
EARTH_RADIUS_M = 6_371_008.8
# Degrees of latitude per metre; longitude degrees shrink with cos(latitude).
_DEG_PER_M = 1 / 111_320


def threshold() -> float:
    return float(getattr(settings, "APPEAL_DUPLICATE_THRESHOLD", 0.3))


def window_days() -> int:
    return int(getattr(settings, "APPEAL_DUPLICATE_DAYS", 30))


def max_distance_m() -> float:
    return float(getattr(settings, "APPEAL_DUPLICATE_DISTANCE_M", 500))


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def distance_m(a: Appeal, b: Appeal) -> float | None:
    if a.lat is None or a.lng is None or b.lat is None or b.lng is None:
        return None
    return haversine_m(float(a.lat), float(a.lng), float(b.lat), float(b.lng))


def text_of(appeal: Appeal) -> str:
    """What is compared: the text, with the title in front when it is not just the text's start."""
    title, text = appeal.title.strip(), appeal.text.strip()
    return text if text.startswith(title) else f"{title}\n{text}"


def _pairs(text: str) -> set[str]:
    c = canonical(text)
    return {c[i : i + SHINGLE] for i in range(max(0, len(c) - SHINGLE + 1))}


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' character pairs (after canonical folding)."""
    x, y = _pairs(a), _pairs(b)
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


def _pool(appeal: Appeal) -> Any:
    since = appeal.created - dt.timedelta(days=window_days())
    pool = (
        Appeal.objects.open()
        .filter(created__gte=since, created__lte=appeal.created + dt.timedelta(days=1))
        .exclude(pk=appeal.pk)
        .exclude(merged_into=appeal)
    )
    if appeal.category_id is not None:
        # The same kind of problem: the same top-level category, or none chosen (citizens often
        # leave it open). Categories are two levels deep (org.Category limits a parent to the top).
        top = appeal.category.parent_id or appeal.category_id  # type: ignore[union-attr]
        pool = pool.filter(
            Q(category__isnull=True) | Q(category_id=top) | Q(category__parent_id=top)
        )
    if appeal.lat is not None and appeal.lng is not None:
        # Appeals with a point far away cannot qualify: leave them out in the database.
        lat, lng = float(appeal.lat), float(appeal.lng)
        dlat = max_distance_m() * _DEG_PER_M
        dlng = dlat / max(math.cos(math.radians(lat)), 0.01)
        near = Q(
            lat__gte=Decimal(str(round(lat - dlat, 6))),
            lat__lte=Decimal(str(round(lat + dlat, 6))),
            lng__gte=Decimal(str(round(lng - dlng, 6))),
            lng__lte=Decimal(str(round(lng + dlng, 6))),
        )
        pool = pool.filter(Q(lat__isnull=True) | near)
    return pool.order_by("-created", "-pk")[:POOL_LIMIT]


def candidates(appeal: Appeal) -> list[tuple[Appeal, float, float | None]]:
    """Open appeals that may be the same problem: ``(appeal, score, distance_m)``, best first.

    ``distance_m`` is None unless both have a map point.
    """
    pool = list(_pool(appeal).select_related("category", "current_unit"))
    if not pool:
        return []
    mine = text_of(appeal)
    index = DedupeIndex(
        # Low enough for the relaxed bar of nearby appeals, with a margin for MinHash's estimate;
        # every candidate is scored exactly below.
        threshold=max(0.05, threshold() * NEARBY_FACTOR * 0.8),
        num_perm=128,
        shingle=SHINGLE,
        limit=None,
        bucket_cap=256,
    )
    by_pk = {a.pk: a for a in pool}
    index.add_many(list(by_pk), [text_of(a) for a in pool], match=False)
    found: list[tuple[Appeal, float, float | None]] = []
    for match in index.query(mine):
        other = by_pk[int(match.key)]  # type: ignore[call-overload]
        score = 1.0 if match.exact else similarity(mine, text_of(other))
        distance = distance_m(appeal, other)
        if distance is not None and distance > max_distance_m():
            continue
        # The same place already speaks for the same problem: a lower bar for the words.
        bar = threshold() * (NEARBY_FACTOR if distance is not None else 1.0)
        if score < bar:
            continue
        found.append((other, round(score, 4), None if distance is None else round(distance, 1)))
    # Best text match first; among equals the nearer, then the older (the likely original).
    found.sort(key=lambda f: (-f[1], f[2] if f[2] is not None else math.inf, f[0].created))
    return found


def check(appeal_id: int) -> Appeal | None:
    """Flag a newly submitted appeal as a possible duplicate of its best candidate, once.

    Returns the appeal it was flagged against, or None.
    """
    appeal = Appeal.objects.filter(pk=appeal_id).first()
    if appeal is None or appeal.duplicate_of_id is not None:
        return None
    # The original, not another copy: a candidate already flagged points to what it duplicates.
    found = candidates(appeal)
    if not found:
        return None
    ranked = sorted(found, key=lambda f: f[0].duplicate_of_id is not None)
    target, score, distance = ranked[0]
    now = timezone.now()
    with transaction.atomic():
        claimed = Appeal.objects.filter(pk=appeal.pk, duplicate_of__isnull=True).update(
            duplicate_of=target, duplicate_score=score
        )
        if not claimed:
            return None
        data = {
            "target": target.pk,
            "target_code": target.code,
            "score": score,
            "distance_m": distance,
        }
        AppealEvent.objects.create(
            appeal=appeal,
            action="flag_duplicate",
            from_state=appeal.state,
            to_state=appeal.state,
            unit=appeal.intake_unit,
            data=data,
            at=now,
        )
        record(
            None,
            "appeals.flag_duplicate",
            appeal,
            after={"duplicate_of": target.pk, "duplicate_score": score, "distance_m": distance},
        )
    return target
