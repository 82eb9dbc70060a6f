"""bench/mixed_load.py keeps working: a tiny run of every persona on PostgreSQL, Redis and gunicorn.

No latency or throughput is asserted (the machine running the suite may be busy); what is asserted
is that every persona's endpoints were reached, nothing failed, and the JSON line has its fields.
Runs in CI's PostgreSQL + Redis pass only, like tests/deploy/test_deployment.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "mixed_load.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (
            os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
            and os.environ.get("REDIS_URL")
        ),
        reason="needs DATABASE_URL on PostgreSQL and REDIS_URL (CI's second pass): the bench runs "
        "gunicorn workers and a Celery worker on PostgreSQL and Redis",
    ),
]


def test_a_tiny_mixed_load_reaches_every_persona_without_an_error(shared_data: Path) -> None:
    admin = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--data",
            str(shared_data),
            "--pg-admin-url",
            admin,
            "--pg-database",
            f"minsheng_bench_mixed_test_{os.getpid()}",
            "--redis-db",
            "15",
            "--appeals",
            "300",
            "--duration",
            "8",
            "--warmup",
            "2",
            "--citizens",
            "2",
            "--dispatchers",
            "1",
            "--handlers",
            "1",
            "--leaders",
            "1",
            "--no-baseline",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["bench"] == "mixed_load" and result["seeded_appeals"] == 300
    assert result["total"]["errors"] == 0 and result["total"]["requests"] > 0
    reached = {row["endpoint"] for row in result["endpoints"]}
    for endpoint in (
        "POST /api/appeals/",
        "GET /workbench/appeals/?state=received",
        "GET /workbench/appeals/",
        "GET /workbench/kpi/",
        "GET /api/appeals/?q=",
    ):
        assert endpoint in reached
    for row in result["endpoints"]:
        assert row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"]
