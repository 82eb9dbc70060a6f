"""bench/surveys.py keeps working: a tiny run end to end (real servers, own database).

No wall-clock figure is asserted (the machine running the suite may be busy); what is asserted
is that every acknowledged response is stored exactly once, retries were replayed, and the
tallies equal a direct count, on SQLite and, when the suite runs on it, PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_the_survey_benchmark_runs_in_tiny_mode_and_loses_nothing() -> None:
    url = os.environ.get("DATABASE_URL", "")
    on_pg = url.startswith(("postgres://", "postgresql://"))
    command = [
        sys.executable,
        str(REPO / "bench" / "surveys.py"),
        "--tiny",
        "--db",
        "sqlite,postgresql" if on_pg else "sqlite",
        "--cache",
        "redis" if os.environ.get("REDIS_URL") else "local",
        "--pg-database",
        f"minsheng_bench_surveys_test_{os.getpid()}",
    ]
    if on_pg:
        command += ["--pg-admin-url", url.rsplit("/", 1)[0] + "/postgres"]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True
    for run in summary["runs"]:
        check = run["check"]
        assert check["acknowledged"] > 0
        assert check["lost"] == check["duplicates"] == check["wrong_id"] == 0
        assert check["tallies_equal_direct_count"] is True
        assert run["results"]["responses"] >= 2000
        assert run["results"]["tallies_equal_direct_count"] is True
