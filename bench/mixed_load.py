"""A mixed load on a production-style deployment: citizens, dispatchers, handlers and leaders at once.

    .venv/bin/python bench/mixed_load.py [--db postgresql|sqlite] [--appeals 100000]
        [--workers 2 --threads 4] [--duration 60]
        [--citizens 8 --dispatchers 2 --handlers 3 --leaders 3]

**The deployment** is ``bench/_server.py``'s: a throw-away database (PostgreSQL ``--pg-database``,
created and dropped; or a SQLite file), fresh keys, the demo city, hashed static files, then one
``minsheng serve --workers N --threads T`` (gunicorn) in production mode and, with ``--broker
redis`` (the default), Redis database ``--redis-db`` (14) as cache and broker with a Celery worker
beside it — the layout of deploy/Procfile. Before the load ``--appeals`` older appeals are put in
(``bench/appeals_scale.py``'s generator: real tipdm2020_c messages over two years, COPY, the
search index, then a full KPI rollup), so queues, search and dashboards work over real volume.

**Personas**, each a client thread in a closed loop (no think time) on its own keep-alive
connection, with what the TLS proxy on 127.0.0.1 would add (``X-Forwarded-Proto``, a per-client
``X-Forwarded-For``):

- *citizen*: submits an appeal (one in three turns; a real message) and otherwise tracks one of
  the appeals it submitted by code and secret, and opens the portal's home page now and then;
- *dispatcher* (the demo's 12345 agents, signed in): the received queue page, the received
  queue (API), then registers and dispatches the oldest received appeal to one of the handlers'
  units; two dispatchers taking the same appeal get a 409, counted as a conflict, not an error;
- *handler* (demo handlers of three units, signed in): their queue page, the dispatched queue of
  their unit (API), opens an appeal's workbench page, and signs, handles and replies to it;
- *leader* (city and unit leaders, signed in): the KPI dashboard, the workbench search page and
  the API search, with a word from a list of everyday complaint words.

**Baseline in the same run**: the same load again, on the same database, against the embedded
server — one waitress process with as many threads as the gunicorn workers had together
(``--no-baseline`` skips it). It runs second, on a database grown by the first run's appeals.

Staff sign in through the real form (argon2, CSRF) before the clock starts; unsafe API calls carry
the session and ``X-CSRFToken``. **Reported** per endpoint (paths with ids as ``{id}``): requests,
throughput, p50/p95/p99, errors (5xx, connection failures, unexpected 4xx) and 409 conflicts; then
the total, the load average before and after, and the machine's CPU count. The last line is one
JSON object. The client threads run on the same machine as the servers: on a small machine they
take a share of the CPU the servers would otherwise have.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parent
if __name__ == "__main__":
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
    sys.path.insert(0, str(_REPO))

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from http.cookies import SimpleCookie  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import quote, urlencode  # noqa: E402

from bench._server import (  # noqa: E402
    DEFAULT_DATA,
    PG_ADMIN_URL,
    PROXY_HEADERS,
    BenchError,
    Deployment,
    load_messages,
    phone_for,
)

DEMO_PASSWORD = "minsheng-demo-2026"  # noqa: S105 - the published demo password (org/demo.py)
DISPATCHERS = ("dispatcher", "agent2")
# (username, unit code): handlers of the units the dispatchers send to.
HANDLERS = (
    ("handler", "sfs-cgj"),
    ("other_handler", "sfs-zjj"),
    ("handler_jt", "sfs-jtysj"),
    ("handler_cg2", "sfs-cgj"),
    ("handler_sthj", "sfs-sthjj"),
)
LEADERS = ("leader", "leader_cg", "leader_zj", "hotline_lead")
SEARCH_WORDS = (
    "路灯",
    "噪音",
    "停车",
    "物业",
    "垃圾",
    "拆迁",
    "学校",
    "公交",
    "油烟",
    "漏水",
    "占道",
    "施工",
    "供暖",
    "违建",
    "扰民",
    "绿化",
)
REPLIES = ("已安排人员现场核查并处理完毕。", "经核实，问题已整改，后续将加强巡查。")


# --- measuring ---------------------------------------------------------------------------------
@dataclass
class Endpoint:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    conflicts: int = 0


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_endpoint: dict[str, Endpoint] = defaultdict(Endpoint)
        self.error_samples: list[str] = []

    def add(
        self, name: str, seconds: float, status: int, expected: tuple[int, ...], body: bytes
    ) -> None:
        with self.lock:
            e = self.by_endpoint[name]
            e.latencies.append(seconds)
            e.statuses[status] += 1
            if status == 409:
                e.conflicts += 1
            elif status not in expected:
                e.errors += 1
                if len(self.error_samples) < 10:
                    self.error_samples.append(f"{name} → {status}: {body[:200]!r}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


# --- one person's HTTP client --------------------------------------------------------------------
class Session:
    """A keep-alive connection with cookies, recording every request into ``stats``."""

    def __init__(self, port: int, client: int, stats: Stats, recording: threading.Event) -> None:
        self.port = port
        self.stats = stats
        self.recording = recording
        self.cookies: dict[str, str] = {}
        self.headers = {
            **PROXY_HEADERS,
            "X-Forwarded-For": f"10.7.{client // 250}.{client % 250 + 1}",
        }
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return self.conn

    def call(
        self,
        name: str,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        expected: tuple[int, ...] = (200,),
    ) -> tuple[int, bytes]:
        headers = dict(self.headers)
        body: bytes | None = None
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if method != "GET":
            # What a browser sends through the proxy at https://127.0.0.1 (X-Forwarded-Host).
            headers["Origin"] = "https://127.0.0.1"
            if "csrftoken" in self.cookies:
                headers["X-CSRFToken"] = self.cookies["csrftoken"]
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        try:
            conn = self._connection()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            status = response.status
            for value in response.headers.get_all("Set-Cookie") or []:
                cookie: SimpleCookie = SimpleCookie()
                cookie.load(value)
                for key, morsel in cookie.items():
                    self.cookies[key] = morsel.value
            if response.getheader("Connection", "").lower() == "close":
                self.close()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            status, data = 0, repr(exc).encode()
        if self.recording.is_set():
            self.stats.add(name, time.perf_counter() - started, status, expected, data)
        return status, data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def sign_in(self, username: str) -> None:
        status, page = self.call("sign-in page", "GET", "/accounts/login/")
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or match is None:
            raise BenchError(f"sign-in page for {username}: {status}")
        status, answer = self.call(
            "sign in",
            "POST",
            "/accounts/login/",
            form={
                "username": username,
                "password": DEMO_PASSWORD,
                "csrfmiddlewaretoken": match.group(1).decode(),
            },
            expected=(302,),
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise BenchError(f"{username} could not sign in ({status}): {answer[:300]!r}")


# --- the personas --------------------------------------------------------------------------------
@dataclass
class Shared:
    messages: list[Any]
    stop: threading.Event
    submitted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def citizen(s: Session, shared: Shared, rng: random.Random, index: int) -> None:
    mine: list[tuple[str, str]] = []
    while not shared.stop.is_set():
        turn = rng.random()
        if turn < 0.34 or not mine:
            with shared.lock:
                shared.submitted += 1
                n = shared.submitted
            message = shared.messages[(index * 7919 + n) % len(shared.messages)]
            status, body = s.call(
                "POST /api/appeals/",
                "POST",
                "/api/appeals/",
                json_body={
                    "title": message.title,
                    "text": message.text,
                    "contact_phone": phone_for(n),
                },
                expected=(201, 200),
            )
            if status in (200, 201):
                out = json.loads(body)
                mine.append((out["code"], out["secret"]))
        elif turn < 0.9:
            code, secret = rng.choice(mine)
            s.call(
                "GET /api/appeals/track/{code}",
                "GET",
                f"/api/appeals/track/{code}?secret={quote(secret)}",
            )
        else:
            s.call("GET / (portal)", "GET", "/")


def _first_id(body: bytes) -> list[int]:
    try:
        return [row["id"] for row in json.loads(body)["items"]]
    except (ValueError, KeyError):
        return []


def dispatcher(s: Session, shared: Shared, rng: random.Random, index: int) -> None:
    units = sorted({unit for _, unit in HANDLERS})
    while not shared.stop.is_set():
        s.call(
            "GET /workbench/appeals/?state=received", "GET", "/workbench/appeals/?state=received"
        )
        status, body = s.call(
            "GET /api/appeals/?state=received", "GET", "/api/appeals/?state=received&limit=20"
        )
        ids = _first_id(body)
        if not ids:
            time.sleep(0.2)
            continue
        appeal = rng.choice(ids[:5])
        status, _ = s.call(
            "POST /api/appeals/{id}/register",
            "POST",
            f"/api/appeals/{appeal}/register",
            json_body={},
        )
        if status == 200:
            s.call(
                "POST /api/appeals/{id}/dispatch",
                "POST",
                f"/api/appeals/{appeal}/dispatch",
                json_body={"unit": rng.choice(units)},
            )


def handler(s: Session, shared: Shared, rng: random.Random, index: int) -> None:
    unit = HANDLERS[index % len(HANDLERS)][1]
    while not shared.stop.is_set():
        s.call("GET /workbench/appeals/", "GET", "/workbench/appeals/")
        status, body = s.call(
            "GET /api/appeals/?state=dispatched&unit={unit}",
            "GET",
            f"/api/appeals/?state=dispatched&unit={unit}&limit=20",
        )
        ids = _first_id(body)
        if not ids:
            time.sleep(0.2)
            continue
        appeal = rng.choice(ids[:5])
        s.call("GET /workbench/appeals/{id}/", "GET", f"/workbench/appeals/{appeal}/")
        for step, payload in (
            ("sign", {}),
            ("handle", {}),
            ("reply", {"text": rng.choice(REPLIES)}),
        ):
            status, _ = s.call(
                f"POST /api/appeals/{{id}}/{step}",
                "POST",
                f"/api/appeals/{appeal}/{step}",
                json_body=payload,
            )
            if status != 200:
                break


def leader(s: Session, shared: Shared, rng: random.Random, index: int) -> None:
    while not shared.stop.is_set():
        s.call("GET /workbench/kpi/", "GET", "/workbench/kpi/")
        word = quote(rng.choice(SEARCH_WORDS))
        s.call("GET /workbench/appeals/?q=", "GET", f"/workbench/appeals/?q={word}")
        s.call("GET /api/appeals/?q=", "GET", f"/api/appeals/?q={word}&limit=20")


PERSONAS: dict[
    str, tuple[Callable[[Session, Shared, random.Random, int], None], tuple[str, ...]]
] = {
    "citizen": (citizen, ()),
    "dispatcher": (dispatcher, DISPATCHERS),
    "handler": (handler, tuple(u for u, _ in HANDLERS)),
    "leader": (leader, LEADERS),
}


# --- the run -------------------------------------------------------------------------------------
def seed_appeals(deployment: Deployment, count: int, data: Path) -> float:
    """``count`` generated appeals, their search index and the KPI counters (a child process)."""
    if count <= 0:
        return 0.0
    started = time.monotonic()
    env = dict(deployment.env, MINSHENG_ENV="development")
    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--seed-only",
            str(count),
            "--data",
            str(data),
        ],
        cwd=_REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if done.returncode != 0:
        raise BenchError(
            f"seeding {count} appeals failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    deployment._run(["kpi", "rollup", "--full"], production=False, timeout=3600)
    return time.monotonic() - started


def _seed_only(count: int, data: Path) -> None:
    """In the child: Django on the deployment's database, appeals_scale's generator."""
    from bench import appeals_scale

    appeals_scale._setup_django()
    city = appeals_scale.City()
    messages = appeals_scale.load_messages(data)
    base, message_of = appeals_scale.bulk_load(count, messages, city, seed=20261127)
    appeals_scale.build_index(messages, base, message_of)


@dataclass
class Phase:
    label: str
    stats: Stats
    elapsed: float
    load_before: str
    load_after: str


def measure(label: str, port: int, messages: list[Any], args: argparse.Namespace) -> Phase:
    """Sign the staff in, run every persona for warm-up plus ``--duration`` seconds."""
    stats = Stats()
    recording = threading.Event()
    shared = Shared(messages=messages, stop=threading.Event())
    counts = {
        "citizen": args.citizens,
        "dispatcher": args.dispatchers,
        "handler": args.handlers,
        "leader": args.leaders,
    }
    threads: list[threading.Thread] = []
    client = 0
    for persona, count in counts.items():
        work, users = PERSONAS[persona]
        for i in range(count):
            client += 1
            session = Session(port, client, stats, recording)
            if users:
                session.sign_in(users[i % len(users)])
            threads.append(
                threading.Thread(
                    target=work,
                    args=(session, shared, random.Random(client), i),
                    name=f"{persona}-{i}",
                    daemon=True,
                )
            )
    load_before = loadavg()
    print(
        f"[{label}] signed in; load average {load_before}; {args.duration:.0f} s of load "
        f"({', '.join(f'{n} {p}s' for p, n in counts.items())})",
        flush=True,
    )
    for t in threads:
        t.start()
    time.sleep(args.warmup)
    recording.set()
    started = time.monotonic()
    time.sleep(args.duration)
    recording.clear()
    elapsed = time.monotonic() - started
    shared.stop.set()
    for t in threads:
        t.join(timeout=60)
    return Phase(label, stats, elapsed, load_before, loadavg())


def run(args: argparse.Namespace) -> dict[str, Any]:
    data = Path(args.data)
    messages = load_messages(data)
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}" if args.broker == "redis" else None
    deployment = Deployment(
        db=args.db,
        servers=1,
        workers=args.workers,
        threads=args.threads,
        redis_url=redis_url,
        pg_database=args.pg_database,
        pg_admin_url=args.pg_admin_url,
        keep=args.keep,
    )
    phases: list[Phase] = []
    with deployment:
        print(
            f"preparing {args.db} (migrate, demo city, static files) in {deployment.root}",
            flush=True,
        )
        deployment.prepare()
        seconds = seed_appeals(deployment, args.appeals, data)
        print(
            f"{args.appeals:,} older appeals, search index and KPI counters in {seconds:.0f} s",
            flush=True,
        )
        deployment.start()
        label = f"gunicorn {args.workers}x{args.threads}"
        phases.append(measure(label, deployment.ports[0], messages, args))
        if args.baseline:
            # The embedded server on the same database: one waitress process with as many
            # threads as the gunicorn workers had together.
            deployment.stop()
            deployment.workers, deployment.threads = 0, max(1, args.workers) * args.threads
            deployment.start()
            label = f"waitress 1x{deployment.threads}"
            phases.append(measure(label, deployment.ports[0], messages, args))
        appeals_total = deployment.query("SELECT COUNT(*) FROM appeals_appeal")[0][0]
    result = report(phases[0], args)
    if len(phases) > 1:
        baseline = report(phases[1], args)
        result["baseline"] = {
            "server": phases[1].label,
            "total": baseline["total"],
            "endpoints": baseline["endpoints"],
            "loadavg_before": phases[1].load_before,
            "loadavg_after": phases[1].load_after,
        }
        ratio = result["total"]["per_s"] / max(baseline["total"]["per_s"], 0.01)
        result["throughput_vs_baseline"] = round(ratio, 2)
        print(
            f"\n{phases[0].label} against {phases[1].label} on the same database: "
            f"{ratio:.2f}x the requests per second"
        )
    result["appeals_at_end"] = appeals_total
    return result


def report(phase: Phase, args: argparse.Namespace) -> dict[str, Any]:
    stats, elapsed = phase.stats, phase.elapsed
    load_before, load_after = phase.load_before, phase.load_after
    rows = []
    everything: list[float] = []
    errors = conflicts = 0
    print(
        f"\n[{phase.label}]\n{'endpoint':48} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'errors':>6} {'409':>5}"
    )
    for name, e in sorted(stats.by_endpoint.items(), key=lambda kv: -len(kv[1].latencies)):
        ms = [x * 1000 for x in e.latencies]
        everything += ms
        errors += e.errors
        conflicts += e.conflicts
        row = {
            "endpoint": name,
            "requests": len(ms),
            "per_s": round(len(ms) / elapsed, 1),
            "p50_ms": round(percentile(ms, 0.5), 1),
            "p95_ms": round(percentile(ms, 0.95), 1),
            "p99_ms": round(percentile(ms, 0.99), 1),
            "errors": e.errors,
            "conflicts": e.conflicts,
        }
        rows.append(row)
        print(
            f"{name:48} {row['requests']:>8} {row['per_s']:>7} {row['p50_ms']:>8} "
            f"{row['p95_ms']:>8} {row['p99_ms']:>8} {e.errors:>6} {e.conflicts:>5}"
        )
    total = {
        "requests": len(everything),
        "per_s": round(len(everything) / elapsed, 1),
        "p50_ms": round(percentile(everything, 0.5), 1),
        "p95_ms": round(percentile(everything, 0.95), 1),
        "p99_ms": round(percentile(everything, 0.99), 1),
        "errors": errors,
        "conflicts": conflicts,
    }
    print(
        f"{'total':48} {total['requests']:>8} {total['per_s']:>7} {total['p50_ms']:>8} "
        f"{total['p95_ms']:>8} {total['p99_ms']:>8} {errors:>6} {conflicts:>5}"
    )
    for sample in stats.error_samples:
        print("  error:", sample)
    print(
        f"[{phase.label}] {elapsed:.0f} s measured; "
        f"load average {load_before} before, {load_after} after; {os.cpu_count()} CPUs "
        f"({platform.processor() or platform.machine()}), shared with the load clients"
    )
    return {
        "bench": "mixed_load",
        "db": args.db,
        "broker": args.broker,
        "workers": args.workers,
        "threads": args.threads,
        "seeded_appeals": args.appeals,
        "duration_s": round(elapsed, 1),
        "clients": {
            "citizen": args.citizens,
            "dispatcher": args.dispatchers,
            "handler": args.handlers,
            "leader": args.leaders,
        },
        "total": total,
        "endpoints": rows,
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="the shared data folder")
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--broker", choices=("redis", "inline"), default="redis")
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--pg-database", default="minsheng_bench_mixed")
    parser.add_argument(
        "--pg-admin-url", default=PG_ADMIN_URL, help="a PostgreSQL database to create ours from"
    )
    parser.add_argument("--appeals", type=int, default=100_000, help="older appeals put in first")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load not measured")
    parser.add_argument("--citizens", type=int, default=8)
    parser.add_argument("--dispatchers", type=int, default=2)
    parser.add_argument("--handlers", type=int, default=3)
    parser.add_argument("--leaders", type=int, default=3)
    parser.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="skip the second run on one waitress process (the embedded server)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the folder")
    parser.add_argument("--seed-only", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed_only is not None:
        _seed_only(args.seed_only, Path(args.data))
        return 0
    result = run(args)
    print(json.dumps(result, ensure_ascii=False))
    errors = result["total"]["errors"] + result.get("baseline", {}).get("total", {}).get(
        "errors", 0
    )
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
