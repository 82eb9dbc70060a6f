"""Appeal intake through the HTTP API, served as production serves it; and the same under SIGKILL.

    .venv/bin/python bench/appeals_intake.py [--db sqlite,postgresql] [--duration 20]
    .venv/bin/python bench/appeals_intake.py --kill [--db sqlite,postgresql] [--count 1500]

**Serving.** For each database a throwaway deployment (bench/_server.py): its own SQLite file in
WAL mode or its own PostgreSQL database ``minsheng_bench_intake`` (created, then dropped), fresh
keys, ``minsheng migrate`` and ``minsheng demo``, then ``--servers`` (default: one per core)
``minsheng serve`` processes in production mode — waitress with ``--threads`` threads, DEBUG off,
secret and vault keys from the environment — plus, with ``--broker redis`` (the default), Redis
as cache and Celery broker and one Celery worker sending the citizens' text messages, as README
"Running at scale" lays it out. Clients talk to the servers the way a TLS-terminating proxy on
127.0.0.1 would (``X-Forwarded-Proto: https``, ``X-Forwarded-For``), each client held to one
server as a proxy's keep-alive upstream connection would be.

**Load.** ``--clients`` (8) client processes on 127.0.0.1, each with one keep-alive
``http.client`` connection, POST anonymous appeals to ``/api/appeals/`` back to back, each with
its own ``Idempotency-Key``, a different real message (title and body from tipdm2020_c; the
pool holds about 16,000 distinct bodies, a run longer than that reuses them and says so) and a
well-formed mobile number. Latency is measured in the client, per request, from sending to the
last byte of the answer. Throughput counts the 201s completed inside the measured window
(``--duration`` seconds after ``--warmup`` seconds). The baseline, in the same run and on the
same deployment, is one client (``--baseline-clients``): the latency of a request on an otherwise
idle server and what one caller at a time can push, so the main figure shows what concurrency
adds and what the serialisation points (SQLite's single writer, the audit chain's lock) cost.

**Crash test** (``--kill``): the same clients send ``--count`` appeals; ``--kills`` times, at
random moments, a random server process gets SIGKILL and is started again. A client whose
request fails (reset, refused, 5xx) retries it with the same Idempotency-Key and body — on the
next server, as a proxy would — until it is acknowledged (a 201 or the 200 replay, with the
appeal's code). Afterwards the database is read with plain SQL: every acknowledged appeal must be
present exactly once (by its code, its Idempotency-Key row and its text, each request's text
being distinct), no text may have two appeals, and ``minsheng audit verify`` must pass.

Each run prints the machine's load average; the last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if __name__ == "__main__":
    # Run as a script, bench/ is sys.path[0]; the helpers are imported as bench._server.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
    sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from multiprocessing import get_context  # noqa: E402
from typing import Any  # noqa: E402

from bench._server import (  # noqa: E402
    DEFAULT_DATA,
    PG_ADMIN_URL,
    PROXY_HEADERS,
    BenchError,
    Deployment,
    Message,
    load_messages,
    phone_for,
)

TARGET_PER_S = 300
TARGET_P99_MS = 250
# Set before the client processes are forked; they read their texts from it.
_MESSAGES: list[Message] = []
# Crash test: appeals acknowledged so far, in memory shared with the forked clients, so that
# the kills fall at random points of the run's progress whatever the machine's speed.
_PROGRESS = get_context("fork").Value("i", 0)


# --- one client ----------------------------------------------------------------------------------
@dataclass
class ClientJob:
    client: int
    clients: int
    ports: list[int]
    run_id: str
    offset: int = 0  # first request index: each run takes texts the previous one did not
    # Load mode: send from ``begin`` until ``end`` (wall clock). Crash mode: ``count`` requests.
    begin: float = 0.0
    end: float = 0.0
    count: int | None = None
    retry_until_acknowledged: bool = False
    give_up_after_s: float = 120.0


@dataclass
class ClientResult:
    # (wall-clock start, wall-clock end, latency in s, HTTP status or 0 for a connection error)
    requests: list[tuple[float, float, float, int]] = field(default_factory=list)
    # crash mode: index → (key, code, status) of the acknowledged answer
    acknowledged: dict[int, tuple[str, str, int]] = field(default_factory=dict)
    given_up: list[int] = field(default_factory=list)
    retries: int = 0
    errors: Counter[str] = field(default_factory=Counter)


def payload(index: int) -> bytes:
    message = _MESSAGES[index % len(_MESSAGES)]
    body = {"text": message.text, "title": message.title, "contact_phone": phone_for(index)}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _headers(job: ClientJob, key: str, length: int) -> dict[str, str]:
    return {
        **PROXY_HEADERS,
        # The citizen's address as the proxy reports it: one per client, from a private range.
        "X-Forwarded-For": f"10.8.{job.client // 250}.{job.client % 250 + 1}",
        "Content-Type": "application/json",
        "Content-Length": str(length),
        "Idempotency-Key": key,
    }


def _post(
    conn: http.client.HTTPConnection, body: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    conn.request("POST", "/api/appeals/", body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def run_client(job: ClientJob) -> ClientResult:
    result = ClientResult()
    server = job.client % len(job.ports)
    conn: http.client.HTTPConnection | None = None
    timeout = 10.0 if job.retry_until_acknowledged else 60.0
    while time.time() < job.begin:
        time.sleep(min(0.01, max(0.0, job.begin - time.time())))
    sent = 0
    while True:
        if job.count is not None:
            if sent >= job.count:
                break
        elif time.time() >= job.end:
            break
        index = job.offset + job.client + sent * job.clients
        sent += 1
        key = f"{job.run_id}-{index}"
        body = payload(index)
        headers = _headers(job, key, len(body))
        first_try = time.time()
        attempt = 0
        while True:
            start = time.time()
            t0 = time.perf_counter()
            status, data, error = 0, b"", ""
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(
                        "127.0.0.1", job.ports[server], timeout=timeout
                    )
                status, data = _post(conn, body, headers)
            except (OSError, http.client.HTTPException) as exc:
                error = type(exc).__name__
            latency = time.perf_counter() - t0
            result.requests.append((start, time.time(), latency, status))
            if error or status >= 500:
                result.errors[error or str(status)] += 1
                if conn is not None:
                    conn.close()
                conn = None
            elif status not in (200, 201):
                result.errors[str(status)] += 1
            if not job.retry_until_acknowledged:
                break
            if status in (200, 201):
                result.acknowledged[index] = (key, json.loads(data)["code"], status)
                with _PROGRESS.get_lock():
                    _PROGRESS.value += 1
                break
            if 400 <= status < 500 or time.time() - first_try > job.give_up_after_s:
                result.given_up.append(index)
                break
            # The server is gone or failing: try the next one, as a proxy fails over.
            result.retries += 1
            attempt += 1
            server = (server + 1) % len(job.ports)
            time.sleep(min(0.5, 0.01 * 2**attempt))
    if conn is not None:
        conn.close()
    return result


def run_clients(jobs: list[ClientJob]) -> list[ClientResult]:
    with ProcessPoolExecutor(len(jobs), mp_context=get_context("fork")) as pool:
        return list(pool.map(run_client, jobs))


# --- measuring -----------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _proc_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


def _pg_cpu(dep: Deployment) -> dict[int, float] | None:
    """CPU seconds so far of each PostgreSQL backend connected to the deployment's database (the
    servers' connections; not the shared WAL writer and checkpointer, which serve every
    database of the machine's PostgreSQL). None on SQLite."""
    if dep.db != "postgresql":
        return None
    rows = dep.query(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()"
    )
    return {int(pid): _proc_cpu_s(int(pid)) for (pid,) in rows}


def loadavg() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


@dataclass
class LoadFigures:
    clients: int
    window_s: float
    ok: int
    per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_kinds: dict[str, int]
    server_cpu_ms: float  # CPU of the web servers (and worker) per appeal
    postgres_cpu_ms: float | None  # CPU of the deployment's PostgreSQL backends per appeal
    machine_busy: float  # share of all cores busy during the window
    load_before: str
    load_after: str
    next_offset: int  # the first request index no client of this run used


def load_run(
    dep: Deployment, clients: int, duration: float, warmup: float, run_id: str, offset: int
) -> LoadFigures:
    pids = dep.pids()
    load_before = loadavg()
    begin = time.time() + 0.5
    window_start, window_end = begin + warmup, begin + warmup + duration
    jobs = [
        ClientJob(
            client=c,
            clients=clients,
            ports=dep.ports,
            run_id=run_id,
            offset=offset,
            begin=begin,
            end=window_end,
        )
        for c in range(clients)
    ]
    marks: dict[str, Any] = {}

    def mark() -> None:
        # CPU counters at the window's edges, read from a thread while the clients run.
        time.sleep(max(0.0, window_start - time.time()))
        marks["start"] = (sum(_proc_cpu_s(p) for p in pids), _machine_cpu(), _pg_cpu(dep))
        time.sleep(max(0.0, window_end - time.time()))
        marks["end"] = (sum(_proc_cpu_s(p) for p in pids), _machine_cpu(), _pg_cpu(dep))

    marker = threading.Thread(target=mark)
    marker.start()
    results = run_clients(jobs)
    marker.join()
    in_window = [r for res in results for r in res.requests if window_start <= r[1] < window_end]
    ok = [r for r in in_window if r[3] == 201]
    latencies = [r[2] * 1000 for r in ok]
    kinds: Counter[str] = Counter()
    for res in results:
        kinds.update(res.errors)
    cpu0, (busy0, total0), pg0 = marks["start"]
    cpu1, (busy1, total1), pg1 = marks["end"]
    return LoadFigures(
        clients=clients,
        window_s=duration,
        ok=len(ok),
        per_s=len(ok) / duration,
        p50_ms=percentile(latencies, 50),
        p90_ms=percentile(latencies, 90),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies, default=float("nan")),
        errors=sum(1 for r in in_window if r[3] != 201),
        error_kinds=dict(kinds),
        server_cpu_ms=(cpu1 - cpu0) * 1000 / max(1, len(ok)),
        postgres_cpu_ms=None
        if pg0 is None or pg1 is None
        else sum(pg1[p] - pg0.get(p, 0.0) for p in pg1) * 1000 / max(1, len(ok)),
        machine_busy=(busy1 - busy0) / max(1.0, total1 - total0),
        load_before=load_before,
        load_after=loadavg(),
        next_offset=offset + clients * max(len(res.requests) for res in results),
    )


def describe(f: LoadFigures, label: str) -> str:
    errors = f"{f.errors} errors" + (f" {f.error_kinds}" if f.error_kinds else "")
    return (
        f"  {label}: {f.ok:,} appeals in {f.window_s:.0f} s = {f.per_s:,.0f} appeals/s; "
        f"latency p50 {f.p50_ms:.1f} ms, p90 {f.p90_ms:.1f} ms, p99 {f.p99_ms:.1f} ms, "
        f"max {f.max_ms:.0f} ms; {errors}\n"
        f"      server CPU {f.server_cpu_ms:.1f} ms/appeal"
        + (
            f", PostgreSQL backends {f.postgres_cpu_ms:.1f} ms/appeal"
            if f.postgres_cpu_ms is not None
            else ""
        )
        + f", machine {f.machine_busy:.0%} busy; "
        f"load average {f.load_before} → {f.load_after}"
    )


# --- the crash test ------------------------------------------------------------------------------
@dataclass
class CrashFigures:
    sent: int
    acknowledged: int
    replayed: int  # acknowledged by the 200 replay: the first answer was lost, the appeal was not
    present: int
    lost: int
    duplicates: int
    without_key: int
    unacknowledged_present: int
    given_up: int
    kills: int
    retries: int
    audit_ok: bool
    audit_entries: int
    seconds: float
    load_before: str
    load_after: str


def crash_run(
    dep: Deployment, clients: int, count: int, kills: int, run_id: str, seed: int
) -> CrashFigures:
    if count > len(_MESSAGES):
        raise BenchError(f"--count {count} exceeds the {len(_MESSAGES):,} distinct texts")
    base_id = dep.query("SELECT COALESCE(MAX(id), 0) FROM appeals_appeal")[0][0]
    base_seq = dep.query("SELECT COALESCE(MAX(seq), 0) FROM audit_auditentry")[0][0]
    per_client = [count // clients + (1 if c < count % clients else 0) for c in range(clients)]
    jobs = [
        ClientJob(
            client=c,
            clients=clients,
            ports=dep.ports,
            run_id=run_id,
            begin=time.time() + 0.3,
            count=per_client[c],
            retry_until_acknowledged=True,
        )
        for c in range(clients)
    ]
    rng = random.Random(seed)
    done = threading.Event()
    killed: list[float] = []
    load_before = loadavg()
    start = time.time()

    # Each kill at a random point between 10 % and 90 % of the appeals acknowledged, plus a
    # random few milliseconds, so it lands anywhere in a request: parsing, inside the
    # transaction, between the commit and the answer.
    marks = sorted(rng.uniform(0.1, 0.9) * count for _ in range(kills))
    _PROGRESS.value = 0

    def killer() -> None:
        for mark in marks:
            while _PROGRESS.value < mark:
                if done.wait(0.005):
                    return
            if done.wait(rng.uniform(0, 0.02)):
                return
            # A server still starting after an earlier kill is not serving: kill one that is.
            # The restart is not awaited, so the clients fail over and the next mark comes.
            ready = [i for i in range(len(dep.ports)) if dep.is_ready(i)]
            while not ready:
                if done.wait(0.05):
                    return
                ready = [i for i in range(len(dep.ports)) if dep.is_ready(i)]
            index = rng.choice(ready)
            dep.kill_server(index)
            killed.append(time.time() - start)
            dep.start_server(index, wait=False)

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        results = run_clients(jobs)
    finally:
        done.set()
        thread.join()
    seconds = time.time() - start

    acknowledged: dict[int, tuple[str, str, int]] = {}
    for res in results:
        acknowledged.update(res.acknowledged)
    rows = dep.query(
        "SELECT a.id, a.code, a.text, k.key FROM appeals_appeal a "
        "LEFT JOIN appeals_idempotencykey k ON k.appeal_id = a.id AND k.scope = 'anonymous' "
        "WHERE a.id > ?",
        [base_id],
    )
    by_code = {code: (text, key) for _, code, text, key in rows}
    texts = Counter(text for _, _, text, _ in rows)
    present = 0
    for index, (key, code, _status) in acknowledged.items():
        found = by_code.get(code)
        if found is not None and found[1] == key and found[0] == _MESSAGES[index].text:
            present += 1
    acked_keys = {key for key, _, _ in acknowledged.values()}
    verify = dep.audit_verify()
    audit_entries = dep.query(
        "SELECT COUNT(*) FROM audit_auditentry WHERE seq > ? AND action = 'appeals.submit'",
        [base_seq],
    )[0][0]
    return CrashFigures(
        sent=count,
        acknowledged=len(acknowledged),
        replayed=sum(1 for _, _, status in acknowledged.values() if status == 200),
        present=present,
        lost=len(acknowledged) - present,
        duplicates=sum(n - 1 for n in texts.values() if n > 1),
        without_key=sum(1 for row in rows if row[3] is None),
        unacknowledged_present=sum(1 for row in rows if row[3] not in acked_keys),
        given_up=sum(len(res.given_up) for res in results),
        kills=len(killed),
        retries=sum(res.retries for res in results),
        audit_ok=verify,
        audit_entries=int(audit_entries),
        seconds=seconds,
        load_before=load_before,
        load_after=loadavg(),
    )


# --- main ----------------------------------------------------------------------------------------
def servers_for(db: str, wanted: int | None) -> int:
    """The embedded default (SQLite) is one ``minsheng up``; scale-out (README "Running at
    scale") is several servers on PostgreSQL. Several processes on one SQLite file would only
    queue on its single write lock, through SQLite's sleeping busy handler."""
    if wanted is not None:
        return wanted
    return 1 if db == "sqlite" else os.cpu_count() or 2


def _deployment(db: str, args: argparse.Namespace) -> Deployment:
    redis_url = None
    if args.broker == "redis":
        redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    return Deployment(
        db=db,
        servers=servers_for(db, args.servers),
        threads=args.threads,
        workers=args.workers,
        redis_url=redis_url,
        pg_admin_url=args.pg_admin_url,
        pg_database=args.pg_database,
        keep=args.keep,
        worker=not args.no_worker,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder")
    parser.add_argument("--db", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--servers",
        type=int,
        default=None,
        help="`minsheng serve` processes (default: 1 on SQLite, one per core on PostgreSQL)",
    )
    parser.add_argument("--threads", type=int, default=8, help="threads per server process")
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn workers per server (0: waitress)"
    )
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument("--baseline-clients", type=int, default=1)
    parser.add_argument("--baseline-duration", type=float, default=10.0)
    parser.add_argument("--broker", choices=("redis", "inline"), default="redis")
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="with --broker redis: no Celery worker, tasks stay queued (intake measured alone)",
    )
    parser.add_argument("--redis-db", type=int, default=9, help="Redis database index to use")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument("--pg-database", default="minsheng_bench_intake")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder and database")
    parser.add_argument("--kill", action="store_true", help="the crash test instead of the load")
    parser.add_argument("--count", type=int, default=1500, help="crash test: appeals to send")
    parser.add_argument("--kills", type=int, default=3, help="crash test: SIGKILLs")
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args(argv)

    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    _MESSAGES[:] = load_messages(args.data)
    run_id = uuid.uuid4().hex[:12]
    print(
        f"machine: {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}; {len(_MESSAGES):,} distinct real messages; "
        f"`minsheng serve` ("
        + (f"gunicorn, {args.workers} workers × " if args.workers else "waitress, ")
        + f"{args.threads} threads, production), "
        f"broker {args.broker}{' without a worker' if args.no_worker else ''}; "
        f"load average {loadavg()}",
        flush=True,
    )
    summary: dict[str, Any] = {}
    if args.kill:
        summary["mode"] = "kill"
        for db in dbs:
            with _deployment(db, args) as dep:
                dep.prepare()
                dep.start()
                c = crash_run(dep, args.clients, args.count, args.kills, f"{run_id}{db}", args.seed)
            print(
                f"{db}: {c.sent:,} appeals sent by {args.clients} clients in {c.seconds:.1f} s "
                f"with {c.kills} SIGKILLs, {c.retries:,} retries, {c.given_up} given up\n"
                f"  acknowledged {c.acknowledged:,} ({c.replayed} by the replay of a key whose "
                f"first answer was lost), present {c.present:,}, lost {c.lost}, "
                f"duplicates {c.duplicates}, appeals without their key {c.without_key}, "
                f"present but never acknowledged {c.unacknowledged_present}\n"
                f"  audit chain {'verified' if c.audit_ok else 'BROKEN'}, "
                f"{c.audit_entries:,} submit entries; load average "
                f"{c.load_before} → {c.load_after}",
                flush=True,
            )
            for name in ("acknowledged", "replayed", "present", "lost", "duplicates", "kills"):
                summary[f"{db}_{name}"] = getattr(c, name)
            summary[f"{db}_audit_ok"] = c.audit_ok
        print(json.dumps(summary))
        return 0 if all(summary[f"{db}_lost"] == 0 for db in dbs) else 1

    summary.update(
        {
            "clients": args.clients,
            "worker": args.broker == "inline" or not args.no_worker,
            "baseline": f"same deployment, {args.baseline_clients} client",
        }
    )
    for db in dbs:
        with _deployment(db, args) as dep:
            dep.prepare()
            dep.start()
            print(f"{db}: {dep.servers} server(s) on ports {dep.ports}", flush=True)
            base = load_run(
                dep, args.baseline_clients, args.baseline_duration, args.warmup, f"{run_id}b", 0
            )
            print(describe(base, f"baseline, {args.baseline_clients} client"), flush=True)
            main_run = load_run(
                dep, args.clients, args.duration, args.warmup, f"{run_id}m", base.next_offset
            )
            print(describe(main_run, f"{args.clients} clients"), flush=True)
            if main_run.next_offset > len(_MESSAGES):
                print(
                    f"  ({main_run.next_offset:,} appeals sent in all: texts past the "
                    f"{len(_MESSAGES):,} distinct ones were reused from the start of the pool)"
                )
            queued = dep.queued_tasks()
            if queued:
                print(
                    f"  {queued:,} tasks (text messages, duplicate checks) still queued for the worker at the end"
                )
        summary.update(
            {
                f"{db}_servers": dep.servers,
                f"{db}_appeals_per_s": round(main_run.per_s, 1),
                f"{db}_p50_ms": round(main_run.p50_ms, 1),
                f"{db}_p99_ms": round(main_run.p99_ms, 1),
                f"{db}_errors": main_run.errors,
                f"{db}_server_cpu_ms": round(main_run.server_cpu_ms, 2),
                f"{db}_postgres_cpu_ms": None
                if main_run.postgres_cpu_ms is None
                else round(main_run.postgres_cpu_ms, 2),
                f"{db}_baseline_appeals_per_s": round(base.per_s, 1),
                f"{db}_baseline_p50_ms": round(base.p50_ms, 1),
                f"{db}_load_avg": main_run.load_after,
            }
        )
    if "postgresql" in dbs:
        summary["target_met"] = bool(
            summary["postgresql_appeals_per_s"] >= TARGET_PER_S
            and summary["postgresql_p99_ms"] < TARGET_P99_MS
            and summary["postgresql_errors"] == 0
        )
    print(json.dumps(summary))
    return 0


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM (a timeout, a CI cancel) unwinds like Ctrl-C, so every ``with Deployment`` stops
    # its servers and worker and drops its database instead of leaving them behind.
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench/appeals_intake.py: {exc}", file=sys.stderr)
        sys.exit(2)
