"""bench/appeals_intake.py keeps working: a tiny load run and a tiny crash run, end to end.

Each run sets up its own throwaway deployment (temp folder, SQLite file or its own PostgreSQL
database, real ``minsheng serve`` processes), so these tests touch nothing of the suite's
database. No wall-clock figure is asserted: the machine running the suite may be busy. What is
asserted is that every request was answered, the JSON line has its fields, and the crash run
lost no acknowledged appeal and stored none twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "bench" / "appeals_intake.py"
pytestmark = pytest.mark.slow


def _databases() -> list[str]:
    """SQLite always; PostgreSQL too when the suite itself runs on it (CI's second run)."""
    url = os.environ.get("DATABASE_URL", "")
    return (
        ["sqlite", "postgresql"] if url.startswith(("postgres://", "postgresql://")) else ["sqlite"]
    )


def _run(shared_data: Path, *args: str) -> tuple[dict[str, object], str]:
    url = os.environ.get("DATABASE_URL", "")
    command = [
        sys.executable,
        str(SCRIPT),
        "--data",
        str(shared_data),
        "--db",
        ",".join(_databases()),
        # Redis when the suite has it (CI's second run); notices inline otherwise.
        "--broker",
        "redis" if os.environ.get("REDIS_URL") else "inline",
        "--redis-db",
        "11",
        "--pg-database",
        f"minsheng_bench_intake_test_{os.getpid()}",
        *args,
    ]
    if url.startswith(("postgres://", "postgresql://")):
        command += ["--pg-admin-url", url.rsplit("/", 1)[0] + "/postgres"]
    proc = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        # SIGTERM first: the script then stops its servers and drops its database.
        proc.terminate()
        stdout, stderr = proc.communicate(timeout=60)
        pytest.fail(f"bench/appeals_intake.py took over 10 minutes:\n{stdout}\n{stderr}")
    output = stdout + stderr
    assert proc.returncode == 0, output
    last = stdout.strip().splitlines()[-1]
    return json.loads(last), output


def test_the_intake_benchmark_serves_real_appeals_and_ends_with_its_json_line(
    shared_data: Path,
) -> None:
    summary, output = _run(
        shared_data,
        "--clients",
        "2",
        "--duration",
        "2",
        "--warmup",
        "1",
        "--baseline-duration",
        "1",
    )
    assert summary["clients"] == 2
    for db in _databases():
        assert summary[f"{db}_errors"] == 0, output
        for name in ("appeals_per_s", "baseline_appeals_per_s", "p50_ms", "p99_ms"):
            assert float(summary[f"{db}_{name}"]) > 0, (name, output)  # type: ignore[arg-type]
        assert summary[f"{db}_servers"] == (1 if db == "sqlite" else os.cpu_count() or 2)
        assert float(summary[f"{db}_server_cpu_ms"]) > 0, output  # type: ignore[arg-type]
        # PostgreSQL's share is measured from its backends; SQLite runs inside the server.
        pg_cpu = summary[f"{db}_postgres_cpu_ms"]
        assert (pg_cpu is None) if db == "sqlite" else float(pg_cpu) > 0, output  # type: ignore[arg-type]
    if "postgresql" in _databases():
        assert isinstance(summary["target_met"], bool)


def test_the_crash_run_finds_every_acknowledged_appeal_exactly_once(shared_data: Path) -> None:
    summary, output = _run(shared_data, "--kill", "--clients", "4", "--count", "60", "--kills", "2")
    assert summary["mode"] == "kill"
    for db in _databases():
        assert summary[f"{db}_kills"] == 2, output
        assert summary[f"{db}_acknowledged"] == 60, output
        assert summary[f"{db}_present"] == 60, output
        assert summary[f"{db}_lost"] == 0, output
        assert summary[f"{db}_duplicates"] == 0, output
        assert summary[f"{db}_audit_ok"] is True, output
