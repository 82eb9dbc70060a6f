"""Exemplar votes through the HTTP API, served as production serves it; then a ballot-stuffing replay.

    .venv/bin/python bench/votes.py [--db postgresql,sqlite] [--duration 20] [--clients 16]
    .venv/bin/python bench/votes.py --tiny          # seconds, for the test suite

**Serving.** For each database a throwaway deployment (bench/_server.py): its own PostgreSQL
database ``minsheng_bench_votes`` (created, then dropped) or SQLite file, fresh keys, migrate and
the demo city, then ``--servers`` ``minsheng serve`` processes in production mode (waitress,
or gunicorn with ``--workers``; DEBUG off) and, with ``--broker redis`` (the default), Redis as the cache that holds the vote
rate counters.

**Voters.** ``minsheng exemplars bench-setup`` creates a campaign in its voting phase (2
categories × 5 candidates, every voter may pick all five: the limits are not what is measured
here) and ``--voters`` verified citizens, each with a signed-in session, as a phone that signed in
by SMS code holds. A client authenticates exactly as the page's script would: session cookie,
CSRF cookie and header, and the Origin a browser sends.

**Load.** ``--clients`` (16) client threads spread over 4 processes, each with one keep-alive
connection held to one server, POST ``/api/exemplars/campaigns/{id}/votes`` back to back; each
request is a (voter, candidate) pair not sent before, from its own address (X-Forwarded-For), and
every 50th request deliberately repeats an earlier pair, which must get 409. Throughput counts the
201s inside the measured window (``--duration`` s after ``--warmup`` s); latency is per request in
the client, from sending to the last byte.

**Exactness.** Afterwards plain SQL: the campaign's stored votes must equal the 201s received
(none lost, none extra), per candidate as well, and no (voter, candidate, day) twice.

**Stuffing replay.** ``minsheng exemplars attack-replay`` builds one simulated voting day (honest
crowd with its look-alikes — offices, carrier NAT, families on one phone, new accounts, an organic
surge — plus four attacks: a scripted burst from a few addresses, a phone farm, a swarm over
proxies, a slow drip), casts every vote through the same service as the API on simulated time
(rate limits included), runs the detector, and reports the share of stuffed votes flagged
(recall) and of honest votes flagged (false-positive rate), per group. The replay does not go
through HTTP: its timeline spans a day, compressed it would trip the per-minute limits.

Each run prints the machine's load average (it is shared); the last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if __name__ == "__main__":
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
    sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import secrets  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from multiprocessing import get_context  # noqa: E402
from typing import Any  # noqa: E402

from bench._server import (  # noqa: E402
    PG_ADMIN_URL,
    PROXY_HEADERS,
    BenchError,
    Deployment,
    RawClient,
)

TARGET_PER_S = 2000
PROCESSES = 4
DUPLICATE_EVERY = 50


@dataclass
class Job:
    process: int
    threads: int
    clients: int
    ports: list[int]
    campaign: int
    candidates: list[int]
    sessions: list[str]
    begin: float
    end: float
    max_requests: int | None = None
    duplicate_every: int = DUPLICATE_EVERY


@dataclass
class ThreadResult:
    # (wall-clock start, latency s, status)
    requests: list[tuple[float, float, int]] = field(default_factory=list)
    accepted: Counter[int] = field(default_factory=Counter)  # candidate → 201s
    duplicates_sent: int = 0
    duplicates_refused: int = 0
    other: Counter[str] = field(default_factory=Counter)
    exhausted: bool = False


def _client(job: Job, index: int, out: ThreadResult) -> None:
    """One client: its own voters (every clients-th session), each voting for every candidate."""
    port = job.ports[index % len(job.ports)]
    conn = RawClient(port)
    csrf = secrets.token_hex(16)
    path = f"/api/exemplars/campaigns/{job.campaign}/votes"
    mine = job.sessions[index :: job.clients]
    number = {s: i for i, s in enumerate(job.sessions)}
    pairs = [(s, c) for s in mine for c in job.candidates]
    while time.time() < job.begin:
        time.sleep(0.002)
    sent_pairs: list[tuple[str, int]] = []
    n = 0
    k = 0
    while time.time() < job.end and (job.max_requests is None or n < job.max_requests):
        n += 1
        duplicate = n % job.duplicate_every == 0 and bool(sent_pairs)
        if duplicate:
            session, candidate = sent_pairs[(n * 7919) % len(sent_pairs)]
        else:
            if k >= len(pairs):
                out.exhausted = True
                break
            session, candidate = pairs[k]
            k += 1
        voter_no = number[session]
        body = b'{"candidate": %d}' % candidate
        headers = {
            **PROXY_HEADERS,
            "X-Forwarded-For": f"10.{voter_no // 250 % 250}.{voter_no % 250}.{index + 1}",
            "Content-Type": "application/json",
            "Cookie": f"sessionid={session}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
            "Origin": "https://127.0.0.1",  # the host the proxy forwards (X-Forwarded-Host)
            "User-Agent": "Mozilla/5.0 (bench) MicroMessenger/8.0",
        }
        start = time.time()
        t0 = time.perf_counter()
        status = 0
        try:
            status, data = conn.post(path, headers, body)
        except OSError as exc:
            out.other[type(exc).__name__] += 1
            data = b""
        out.requests.append((start, time.perf_counter() - t0, status))
        if duplicate:
            out.duplicates_sent += 1
            if status == 409:
                out.duplicates_refused += 1
            elif status == 201:
                out.accepted[candidate] += 1
                out.other["duplicate accepted"] += 1
            else:
                out.other[str(status)] += 1
        elif status == 201:
            out.accepted[candidate] += 1
            sent_pairs.append((session, candidate))
        else:
            out.other[f"{status} {data[:120]!r}"] += 1
    conn.close()


def run_process(job: Job) -> tuple[list[ThreadResult], float]:
    """The threads' results and the CPU seconds this client process spent."""
    cpu0 = time.process_time()
    results = [ThreadResult() for _ in range(job.threads)]
    threads = [
        threading.Thread(
            target=_client, args=(job, job.process * job.threads + i, results[i]), daemon=True
        )
        for i in range(job.threads)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.process_time() - cpu0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def proc_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy so far (all processes, anyone's)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def pg_backends(dep: Deployment) -> list[int]:
    if dep.db != "postgresql":
        return []
    rows = dep.query("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    return [int(r[0]) for r in rows]


def loadavg() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def load_run(dep: Deployment, setup: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    clients = args.clients
    processes = min(PROCESSES, clients)
    per = clients // processes
    begin = time.time() + 1.0
    end = begin + args.warmup + args.duration
    jobs = [
        Job(
            process=p,
            threads=per,
            clients=per * processes,
            ports=dep.ports,
            campaign=setup["campaign"],
            candidates=setup["candidates"],
            sessions=setup["sessions"],
            begin=begin,
            end=end,
            max_requests=args.max_requests,
            duplicate_every=args.duplicate_every,
        )
        for p in range(processes)
    ]
    load_before = loadavg()
    window_start = begin + args.warmup
    marks: dict[str, tuple[float, float, float]] = {}

    def mark(name: str, at: float) -> None:
        # The servers' and the database's CPU inside the measured window: what a vote costs,
        # whatever else the shared machine is doing.
        time.sleep(max(0.0, at - time.time()))
        servers = sum(proc_cpu_s(p) for p in dep.pids())
        database = sum(proc_cpu_s(p) for p in pg_backends(dep))
        marks[name] = (servers, database, machine_busy_s())

    def both() -> None:
        mark("start", window_start)
        mark("end", end)

    marker = threading.Thread(target=both, daemon=True)
    marker.start()
    with ProcessPoolExecutor(processes, mp_context=get_context("fork")) as pool:
        batches = list(pool.map(run_process, jobs))
    marker.join(timeout=5)
    results = [r for batch, _cpu in batches for r in batch]
    client_cpu_s = sum(cpu for _batch, cpu in batches)
    in_window = [
        (s, lat, st) for r in results for (s, lat, st) in r.requests if window_start <= s < end
    ]
    ok_window = [lat for (_s, lat, st) in in_window if st == 201]
    accepted: Counter[int] = Counter()
    other: Counter[str] = Counter()
    for r in results:
        accepted.update(r.accepted)
        other.update(r.other)
    all_requests = sum(len(r.requests) for r in results)
    duration = (
        args.duration
        if args.max_requests is None
        else max(
            1e-9,
            max((s + lat for r in results for (s, lat, _st) in r.requests), default=begin) - begin,
        )
    )
    ok_in_window = max(1, len(ok_window))
    cpu: dict[str, Any] = {}
    if "start" in marks and "end" in marks:
        servers, database, machine = (
            b - a for a, b in zip(marks["start"], marks["end"], strict=True)
        )
        span = end - window_start
        per_vote = (servers + database) / ok_in_window
        cpu = {
            "server_ms_per_vote": round(1000 * servers / ok_in_window, 3),
            "postgres_ms_per_vote": round(1000 * database / ok_in_window, 3),
            "client_ms_per_request": round(1000 * client_cpu_s / max(1, all_requests), 3),
            "machine_busy_cores": round(machine / span, 2),
            "ours_busy_cores": round((servers + database) / span, 2),
            # What the two cores could serve if the servers and PostgreSQL had them to themselves
            # (clients elsewhere): an estimate, not a measurement.
            "capacity_estimate_per_s": round((os.cpu_count() or 1) / per_vote)
            if per_vote
            else None,
        }
    return {
        "cpu": cpu,
        "requests": all_requests,
        "accepted_total": sum(accepted.values()),
        "accepted_by_candidate": dict(accepted),
        "votes_per_s": round(len(ok_window) / duration, 1),
        "p50_ms": round(1000 * percentile(ok_window, 0.50), 2),
        "p99_ms": round(1000 * percentile(ok_window, 0.99), 2),
        "duplicates_sent": sum(r.duplicates_sent for r in results),
        "duplicates_refused_409": sum(r.duplicates_refused for r in results),
        "unexpected": dict(other.most_common(8)),
        "ran_out_of_pairs": any(r.exhausted for r in results),
        "load_before": load_before,
        "load_after": loadavg(),
    }


def check_tallies(dep: Deployment, campaign: int, accepted: dict[int, int]) -> dict[str, Any]:
    rows = dep.query(
        "SELECT candidate_id, COUNT(*) FROM exemplars_vote WHERE campaign_id = ? "
        "AND voided_at IS NULL GROUP BY candidate_id",
        (campaign,),
    )
    stored = {int(c): int(n) for c, n in rows}
    doubled = dep.query(
        "SELECT COUNT(*) FROM (SELECT voter_id, candidate_id, day FROM exemplars_vote "
        "WHERE campaign_id = ? GROUP BY voter_id, candidate_id, day HAVING COUNT(*) > 1) AS d",
        (campaign,),
    )[0][0]
    wanted = {int(k): int(v) for k, v in accepted.items() if v}
    return {
        "stored_votes": sum(stored.values()),
        "tallies_equal_accepted": stored == wanted,
        "per_candidate_mismatch": {
            c: (stored.get(c, 0), wanted.get(c, 0))
            for c in set(stored) | set(wanted)
            if stored.get(c, 0) != wanted.get(c, 0)
        },
        "doubled_pairs": int(doubled),
    }


def prepare(dep: Deployment) -> None:
    """Database, migrations and static files; not the demo city (the votes need none of it,
    and its loaders belong to other areas)."""
    if dep.db == "postgresql":
        dep._check_pg_name()
        dep._pg_admin(f'DROP DATABASE IF EXISTS "{dep.pg_database}" WITH (FORCE)')
        dep._pg_admin(f'CREATE DATABASE "{dep.pg_database}"')
    dep._run(["migrate", "--no-input", "-v", "0"], production=False)
    dep._run(["collectstatic", "--no-input", "-v", "0"], production=True)


def one_database(db: str, args: argparse.Namespace) -> dict[str, Any]:
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}" if args.broker == "redis" else None
    dep = Deployment(
        db=db,
        servers=args.servers,
        threads=args.threads,
        workers=args.workers,
        redis_url=redis_url,
        pg_database=args.pg_database,
        pg_admin_url=args.pg_admin_url,
        worker=False,
    )
    with dep:
        t0 = time.monotonic()
        prepare(dep)
        setup_file = dep.root / "voters.json"
        dep._run(
            ["exemplars", "bench-setup", "--voters", str(args.voters), "--out", str(setup_file)],
            production=False,
            timeout=1800,
        )
        setup = json.loads(setup_file.read_text(encoding="utf-8"))
        print(f"[{db}] prepared in {time.monotonic() - t0:.0f} s: {args.voters} voters", flush=True)
        baseline: dict[str, Any] | None = None
        accepted: Counter[int] = Counter()
        sessions = setup["sessions"]
        if args.baseline:
            # The same deployment with the vote's fast path and group commit switched off (the
            # full Django stack, one statement per vote), on its own half of the voters.
            half = len(sessions) // 2
            dep.env.update({"MINSHENG_FAST_VOTES": "0", "MINSHENG_VOTE_BATCH": "0"})
            dep.start()
            baseline = load_run(dep, dict(setup, sessions=sessions[half:]), args)
            dep.stop()
            accepted.update(baseline.pop("accepted_by_candidate"))
            print(f"[{db}] baseline (full stack): {_line(baseline)}", flush=True)
            for name in ("MINSHENG_FAST_VOTES", "MINSHENG_VOTE_BATCH"):
                dep.env.pop(name)
            sessions = sessions[:half]
        dep.start()
        load = load_run(dep, dict(setup, sessions=sessions), args)
        dep.stop()
        accepted.update(load["accepted_by_candidate"])
        exact = check_tallies(dep, setup["campaign"], dict(accepted))
        print(
            f"[{db}] {_line(load)}; stored {exact['stored_votes']} = accepted "
            f"{sum(accepted.values())}: {exact['tallies_equal_accepted']}; duplicates refused "
            f"{load['duplicates_refused_409']}/{load['duplicates_sent']}; load {load['load_after']}",
            flush=True,
        )
        attack: dict[str, Any] | None = None
        if not args.no_attack:
            out = dep._run(
                [
                    "exemplars",
                    "attack-replay",
                    "--seed",
                    str(args.seed),
                    "--honest",
                    str(args.attack_honest),
                    "--scale",
                    str(args.attack_scale),
                ],
                production=False,
                timeout=1800,
            )
            attack = json.loads(out.strip().splitlines()[-1])
            print(
                f"[{db}] stuffing replay: recall {attack['recall']} "
                f"({attack['stuffed_flagged']}/{attack['stuffed_accepted']}), false positives "
                f"{attack['false_positive_rate']} ({attack['honest_flagged']}/"
                f"{attack['honest_accepted']})",
                flush=True,
            )
    load.pop("accepted_by_candidate")
    return {"load": load, "baseline": baseline, "exact": exact, "attack": attack}


def _line(load: dict[str, Any]) -> str:
    cpu = load.get("cpu") or {}
    return (
        f"{load['votes_per_s']} votes/s, p50 {load['p50_ms']} ms, p99 {load['p99_ms']} ms, CPU "
        f"per vote: server {cpu.get('server_ms_per_vote')} ms, PostgreSQL "
        f"{cpu.get('postgres_ms_per_vote')} ms, client {cpu.get('client_ms_per_request')} ms"
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="postgresql")
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn workers per server (0: waitress)"
    )
    parser.add_argument("--voters", type=int, default=12000)
    parser.add_argument("--max-requests", type=int, default=None, help="per client (tiny mode)")
    parser.add_argument("--duplicate-every", type=int, default=DUPLICATE_EVERY)
    parser.add_argument("--broker", choices=("redis", "inline"), default="redis")
    parser.add_argument("--redis-db", type=int, default=12)
    parser.add_argument("--pg-database", default="minsheng_bench_votes")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--attack-honest", type=int, default=3000)
    parser.add_argument("--attack-scale", type=float, default=1.0)
    parser.add_argument("--no-attack", action="store_true")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="first the same load with the fast path and group commit off (half the voters each)",
    )
    parser.add_argument("--tiny", action="store_true", help="a few seconds: for the test suite")
    args = parser.parse_args(argv)
    if args.tiny:
        args.duration, args.warmup, args.voters, args.servers = 1.0, 0.0, 40, 1
        args.clients, args.max_requests, args.duplicate_every = 4, 30, 7
        args.attack_honest, args.attack_scale = 150, 0.1
    print(
        f"machine {platform.node()} {os.cpu_count()} cores; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} "
        f"UTC; load average {loadavg()} (shared with other work)",
        flush=True,
    )
    results: dict[str, Any] = {}
    for db in [d.strip() for d in args.db.split(",") if d.strip()]:
        try:
            results[db] = one_database(db, args)
        except BenchError as exc:
            print(f"[{db}] {exc}", file=sys.stderr)
            results[db] = {"error": str(exc)[:500]}
    pg = results.get("postgresql", {})
    first: dict[str, Any] = pg or next(iter(results.values()), {})
    attack = first.get("attack") or {}
    summary = {
        "bench": "votes",
        "clients": args.clients,
        "servers": args.servers,
        "target_votes_per_s": TARGET_PER_S,
        **{f"{db}_votes_per_s": r.get("load", {}).get("votes_per_s") for db, r in results.items()},
        **{f"{db}_p99_ms": r.get("load", {}).get("p99_ms") for db, r in results.items()},
        **{
            f"{db}_tallies_exact": r.get("exact", {}).get("tallies_equal_accepted")
            and r.get("exact", {}).get("doubled_pairs") == 0
            for db, r in results.items()
        },
        "target_met": bool(pg.get("load", {}).get("votes_per_s", 0) >= TARGET_PER_S),
        "stuffing_recall": attack.get("recall"),
        "honest_false_positive_rate": attack.get("false_positive_rate"),
        "load_average": loadavg(),
        "detail": results,
    }
    print(json.dumps(summary, ensure_ascii=False, default=str))
    return summary


if __name__ == "__main__":
    main()
