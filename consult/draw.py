"""The hearing lottery: a transparent, reproducible, stratified random draw. Plain Python.

Method (version ``hmac-sha256-v1``), published on every hearing's verification page:

1. The seed is fixed before registration opens: either the organiser publishes
   ``SHA-256(secret)`` and reveals ``secret`` at the draw, or names a future public value (for
   example a lottery result) that nobody knows when registration closes.
2. In each category, every applicant gets the score
   ``HMAC-SHA256(key=seed as UTF-8, message="<hearing id>:<registration id>")`` in hex.
3. Applicants are ranked by score (ascending; ties, which need a hash collision, by id); the
   first ``seats[category]`` are selected, the rest are reserves in rank order.

Anyone holding the published seed and the list of (registration id, category) reproduces the
names with :func:`draw` — about ten lines, standard library only (see :data:`RERUN_SNIPPET`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

METHOD = "hmac-sha256-v1"


@dataclass(frozen=True)
class Ticket:
    registration_id: int
    category: str
    score: str
    rank: int  # 1-based within its category
    selected: bool


def score(seed: str, hearing_id: int, registration_id: int) -> str:
    message = f"{hearing_id}:{registration_id}".encode()
    return hmac.new(seed.encode("utf-8"), message, hashlib.sha256).hexdigest()


def commitment(secret: str) -> str:
    """What the organiser publishes before registration opens when the seed is a secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def draw(
    seed: str,
    hearing_id: int,
    applicants: Iterable[tuple[int, str]],
    seats: Mapping[str, int],
) -> list[Ticket]:
    """Rank ``applicants`` ((registration id, category) pairs) in each category; categories
    in sorted order, tickets in rank order. A category without seats selects nobody."""
    by_category: dict[str, list[int]] = {}
    for registration_id, category in sorted(applicants):
        by_category.setdefault(category, []).append(registration_id)
    tickets: list[Ticket] = []
    for category in sorted(by_category):
        ranked = sorted(by_category[category], key=lambda rid: (score(seed, hearing_id, rid), rid))
        quota = max(0, int(seats.get(category, 0)))
        for rank, rid in enumerate(ranked, start=1):
            tickets.append(Ticket(rid, category, score(seed, hearing_id, rid), rank, rank <= quota))
    return tickets


def digest(tickets: Iterable[Ticket]) -> str:
    """SHA-256 over the outcome, published with it, so a later edit of the list shows."""
    lines = [f"{t.category}:{t.rank}:{t.registration_id}:{int(t.selected)}" for t in tickets]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


RERUN_SNIPPET = """import hashlib, hmac, json
data = json.load(open("draw.json"))  # downloaded from this page
seed, hearing = data["seed"], data["hearing"]
def score(rid):
    return hmac.new(seed.encode(), f"{hearing}:{rid}".encode(), hashlib.sha256).hexdigest()
for category, seats in sorted(data["seats"].items()):
    ids = sorted(a["id"] for a in data["applicants"] if a["category"] == category)
    ranked = sorted(ids, key=lambda rid: (score(rid), rid))
    print(category, "selected:", ranked[:seats], "reserves:", ranked[seats:])
"""
