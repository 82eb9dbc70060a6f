"""bench/votes.py keeps working: a tiny run end to end (its own deployment and database).

No wall-clock figure is asserted: the machine running the suite may be busy. What is asserted is
that the votes were answered, the stored tallies equal the accepted votes exactly, the repeated
votes were refused, and the stuffing replay produced its scores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "votes.py"
pytestmark = pytest.mark.slow


def test_the_tiny_vote_benchmark_counts_every_accepted_vote_exactly_once() -> None:
    url = os.environ.get("DATABASE_URL", "")
    on_pg = url.startswith(("postgres://", "postgresql://"))
    command = [
        sys.executable,
        str(SCRIPT),
        "--tiny",
        "--db",
        "postgresql" if on_pg else "sqlite",
        "--broker",
        "redis" if os.environ.get("REDIS_URL") else "inline",
        "--redis-db",
        "11",
        "--pg-database",
        f"minsheng_bench_votes_test_{os.getpid()}",
    ]
    if on_pg:
        command += ["--pg-admin-url", url.rsplit("/", 1)[0] + "/postgres"]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    db = "postgresql" if on_pg else "sqlite"
    detail = summary["detail"][db]
    assert "error" not in detail, detail
    load = detail["load"]
    assert load["accepted_total"] > 0
    assert load["unexpected"] == {}
    assert load["duplicates_sent"] > 0
    assert load["duplicates_refused_409"] == load["duplicates_sent"]
    assert detail["exact"]["tallies_equal_accepted"] is True
    assert detail["exact"]["doubled_pairs"] == 0
    assert summary[f"{db}_tallies_exact"] is True
    attack = detail["attack"]
    assert attack["stuffed_accepted"] > 0 and attack["honest_accepted"] > 0
    assert 0.0 <= attack["recall"] <= 1.0
    assert 0.0 <= attack["false_positive_rate"] <= 1.0
