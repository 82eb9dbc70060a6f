"""Questionnaire responses through the HTTP API, and results of a questionnaire with a million.

    .venv/bin/python bench/surveys.py [--db sqlite,postgresql] [--duration 20] [--responses 1000000]
    .venv/bin/python bench/surveys.py --tiny      # seconds: the shape of everything, no figures

**Intake.** For each database a throwaway deployment (bench/_server.py): its own SQLite file or
PostgreSQL database ``minsheng_bench_surveys`` (created, then dropped), ``minsheng migrate`` and
``minsheng demo`` (which publishes the demo questionnaire 柳岸社区老旧小区加装电梯意愿调查,
audience anyone), then ``--servers`` ``minsheng serve`` processes (waitress, or gunicorn with
``--workers``; production mode) and, with ``--cache redis``, Redis as the shared cache that holds the anonymous rate limits. The
clients read the questionnaire's structure from ``GET /api/surveys/{id}`` and build valid random
answers that follow its skip logic (a third of them with a free-text suggestion).

``--clients`` (8) client processes, each with a keep-alive connection to one server, POST
anonymous responses to ``/api/surveys/{id}/responses`` back to back, each with its own
``Idempotency-Key`` and its own ``X-Forwarded-For`` (every request is another phone behind the
proxy, and each run another browser, so the per-network limit does not trip). Every 50th
response is sent a second time with the same key and body, as a client that lost the answer
would; that retry must get the 200 replay with the same id. Throughput counts the 201s completed in the ``--duration`` window after
``--warmup``; latency is per request in the client. Baselines in the same run: one client, and
(unless ``--no-full-stack``) the same ``--clients`` load once more with the servers restarted
with ``MINSHENG_FAST_SURVEYS=0``, so every response goes through Django's full stack
(``minsheng/fastpath_surveys.py`` is what the first runs measure).

Afterwards the database is read with plain SQL: every acknowledged key must be present exactly
once, with the id the server acknowledged; no response without an acknowledgement belongs to the
run (a request that timed out in flight may still have landed — it is counted separately); and
the running tallies must equal a direct count of all responses' answers.

**Results at scale** (``--responses``, default 1,000,000, PostgreSQL and SQLite): that many valid
responses are written straight into the database (COPY on PostgreSQL, executemany on SQLite),
with their tally rows, into the same questionnaire. Then ``GET /api/surveys/{id}/results`` and
the public results page ``/surveys/{id}/results/`` are timed through the running servers (first
call and median of five). Baselines in the same run, on the same rows: a naive aggregation in
Python over every response's answers (what a results page without counters would do), and SQL
``GROUP BY`` over the JSON answers per question. The tallies are checked against the naive count.

Each run prints the machine's load average (the machine may be shared); the last line is one
JSON object. ``--append-results`` adds a section to bench/RESULTS.md.
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
import http.client  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from multiprocessing import get_context  # noqa: E402
from typing import Any  # noqa: E402

from bench._server import PG_ADMIN_URL, PROXY_HEADERS, BenchError, Deployment, get  # noqa: E402

TARGET_PER_S = 500
TARGET_RESULTS_S = 2.0
DEMO_TITLE = "柳岸社区老旧小区加装电梯意愿调查"  # surveys/demo_data.py TITLE
SUGGESTIONS = (
    "希望尽快加装电梯，老人上下楼太难了",
    "费用分摊方案要公开透明，按楼层讲清楚",
    "担心挡住一楼采光，电梯井请用玻璃外墙",
    "施工期间注意安全，晚上不要施工",
    "建成后的维护保养费用怎么出要先定好",
    "不要占用楼下绿地和停车位",
)
RESULTS_FILE = _HERE / "RESULTS.md"


# --- answers that follow the questionnaire -------------------------------------------------------
def _holds(condition: dict[str, Any], answers: dict[str, Any]) -> bool:
    if not condition:
        return True
    given = answers.get(str(condition["question"]))
    if given is None:
        return False
    if condition.get("op") == "contains":
        return str(condition["value"]) in (given if isinstance(given, list) else str(given))
    return str(given) == str(condition["value"])


def make_answers(structure: dict[str, Any], rng: random.Random, index: int) -> dict[str, Any]:
    """Valid random answers for the structure the API returned, skip logic followed."""
    answers: dict[str, Any] = {}
    for section in structure["sections"]:
        if not _holds(section["condition"], answers):
            continue
        for q in section["questions"]:
            if not _holds(q["condition"], answers):
                continue
            key, kind = str(q["id"]), q["kind"]
            if not q["required"] and rng.random() < 0.2 and kind != "text":
                continue
            values = [o["value"] for o in q["options"]]
            if kind == "single":
                answers[key] = rng.choice(values)
            elif kind == "multiple":
                low = q["min_choices"] or 1
                high = q["max_choices"] or len(values)
                picked = set(rng.sample(values, rng.randint(low, high)))
                answers[key] = [v for v in values if v in picked]
            elif kind == "rating":
                answers[key] = rng.randint(0 if q["scale"] == 10 else 1, q["scale"])
            elif kind == "matrix":
                answers[key] = {r["value"]: rng.choice(values) for r in q["rows"]}
            elif q["required"] or rng.random() < 0.33:
                text = f"{rng.choice(SUGGESTIONS)}（{index}）"
                answers[key] = text[: q["max_length"] or 500]
    return answers


def tally_keys(structure: dict[str, Any], answers: dict[str, Any]) -> list[tuple[int, str]]:
    """The counters one response adds to (mirrors surveys.services.tally_keys)."""
    keys: list[tuple[int, str]] = [(0, "#")]
    for section in structure["sections"]:
        for q in section["questions"]:
            value = answers.get(str(q["id"]))
            if value is None:
                continue
            keys.append((q["id"], "#"))
            if q["kind"] in ("single", "rating"):
                keys.append((q["id"], str(value)))
            elif q["kind"] == "multiple":
                keys.extend((q["id"], str(v)) for v in value)
            elif q["kind"] == "matrix":
                keys.extend((q["id"], f"{r}|{c}") for r, c in value.items())
    return keys


# --- the clients ---------------------------------------------------------------------------------
@dataclass
class Job:
    client: int
    clients: int
    ports: list[int]
    survey: int
    structure: dict[str, Any]
    run_id: str
    begin: float
    end: float
    retry_every: int = 50


@dataclass
class Outcome:
    # (wall-clock end, latency s, status)
    requests: list[tuple[float, float, int]] = field(default_factory=list)
    acknowledged: dict[str, int] = field(default_factory=dict)  # key → response id
    replays: int = 0
    bad_replays: int = 0
    unanswered: list[str] = field(default_factory=list)  # keys whose request failed in flight
    errors: Counter[str] = field(default_factory=Counter)


def run_client(job: Job) -> Outcome:
    out = Outcome()
    rng = random.Random(job.client * 7919 + 1)
    conn = http.client.HTTPConnection(
        "127.0.0.1", job.ports[job.client % len(job.ports)], timeout=60
    )
    path = f"/api/surveys/{job.survey}/responses"
    while time.time() < job.begin:
        time.sleep(0.005)
    n = 0
    while time.time() < job.end:
        index = job.client + n * job.clients
        n += 1
        key = f"{job.run_id}-{index}"
        body = json.dumps(
            {"answers": make_answers(job.structure, rng, index)}, ensure_ascii=False
        ).encode()
        headers = {
            **PROXY_HEADERS,
            "X-Forwarded-For": f"10.{index // 65025 % 250}.{index // 255 % 255}.{index % 255 + 1}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            # The network budget's key is address and browser: a browser of its own per run, so
            # runs within one hour (the budget's window, kept in Redis) do not add up.
            "User-Agent": f"bench-surveys/{job.run_id}",
        }
        for attempt in range(2 if n % job.retry_every == 0 else 1):
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                reply = conn.getresponse()
                status, data = reply.status, reply.read()
            except (OSError, http.client.HTTPException) as exc:
                out.errors[type(exc).__name__] += 1
                out.unanswered.append(key)
                conn.close()
                conn = http.client.HTTPConnection(
                    "127.0.0.1", job.ports[job.client % len(job.ports)], timeout=60
                )
                break
            out.requests.append((time.time(), time.perf_counter() - t0, status))
            if status in (200, 201):
                got = int(json.loads(data)["id"])
                if attempt == 1:
                    out.replays += 1
                    if status != 200 or out.acknowledged.get(key) != got:
                        out.bad_replays += 1
                else:
                    out.acknowledged[key] = got
            else:
                out.errors[str(status)] += 1
    conn.close()
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _database_pids(dep: Deployment) -> list[int]:
    """PostgreSQL backends serving the deployment's database (their title names it)."""
    if dep.db != "postgresql":
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and f" {dep.pg_database} " in title:
            found.append(int(entry.name))
    return found


def loadavg() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


@dataclass
class Intake:
    clients: int
    ok: int
    per_s: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    web_cpu_ms: float  # CPU of the web servers per accepted response
    db_cpu_ms: float  # CPU of the PostgreSQL backends per accepted response (0 on SQLite)
    replays: int
    bad_replays: int
    load_before: str
    load_after: str


def load_run(
    dep: Deployment,
    survey: int,
    structure: dict[str, Any],
    clients: int,
    duration: float,
    warmup: float,
    run_id: str,
) -> tuple[Intake, list[Outcome]]:
    load_before = loadavg()
    begin = time.time() + 0.5
    start, end = begin + warmup, begin + warmup + duration
    jobs = [
        Job(c, clients, dep.ports, survey, structure, run_id, begin, end) for c in range(clients)
    ]
    marks: dict[str, tuple[float, float]] = {}

    def mark() -> None:
        # CPU counters at the window's edges, read while the clients run.
        for name, moment in (("start", start), ("end", end)):
            time.sleep(max(0.0, moment - time.time()))
            marks[name] = (
                sum(_cpu_s(p) for p in dep.pids()),
                sum(_cpu_s(p) for p in _database_pids(dep)),
            )

    marker = threading.Thread(target=mark)
    marker.start()
    with ProcessPoolExecutor(clients, mp_context=get_context("fork")) as pool:
        outcomes = list(pool.map(run_client, jobs))
    marker.join()
    window = [r for o in outcomes for r in o.requests if start <= r[0] < end]
    ok = [r for r in window if r[2] == 201]
    latencies = [r[1] * 1000 for r in ok]
    errors: Counter[str] = Counter()
    for o in outcomes:
        errors.update(o.errors)
    return (
        Intake(
            clients=clients,
            ok=len(ok),
            per_s=len(ok) / duration,
            p50_ms=percentile(latencies, 50),
            p99_ms=percentile(latencies, 99),
            errors=dict(errors),
            web_cpu_ms=(marks["end"][0] - marks["start"][0]) * 1000 / max(1, len(ok)),
            db_cpu_ms=(marks["end"][1] - marks["start"][1]) * 1000 / max(1, len(ok)),
            replays=sum(o.replays for o in outcomes),
            bad_replays=sum(o.bad_replays for o in outcomes),
            load_before=load_before,
            load_after=loadavg(),
        ),
        outcomes,
    )


@dataclass
class Check:
    acknowledged: int
    present: int
    lost: int
    duplicates: int
    wrong_id: int
    unacknowledged_rows: int
    in_flight_failures: int
    tallies_equal_direct_count: bool


def verify(
    dep: Deployment,
    survey: int,
    structure: dict[str, Any],
    outcomes: list[Outcome],
    run_ids: list[str],
) -> Check:
    acknowledged: dict[str, int] = {}
    unanswered: set[str] = set()
    for o in outcomes:
        acknowledged.update(o.acknowledged)
        unanswered.update(o.unanswered)
    rows = dep.query(
        "SELECT id, idem_key FROM surveys_response WHERE questionnaire_id = ?", (survey,)
    )
    ours = [(pk, key) for pk, key in rows if any(key.startswith(f"{r}-") for r in run_ids)]
    by_key = Counter(key for _pk, key in ours)
    ids = {key: pk for pk, key in ours}
    lost = sum(1 for key in acknowledged if by_key[key] == 0)
    wrong = sum(1 for key, pk in acknowledged.items() if by_key[key] and ids[key] != pk)
    extra = [key for key in by_key if key not in acknowledged and key not in unanswered]
    return Check(
        acknowledged=len(acknowledged),
        present=sum(1 for key in acknowledged if by_key[key] == 1),
        lost=lost,
        duplicates=sum(n - 1 for n in by_key.values() if n > 1),
        wrong_id=wrong,
        unacknowledged_rows=len(extra),
        in_flight_failures=len(unanswered),
        tallies_equal_direct_count=tallies_match(dep, survey, structure)[0],
    )


def tallies(dep: Deployment, survey: int) -> dict[tuple[int, str], int]:
    rows = dep.query(
        "SELECT question_id, key, SUM(n) FROM surveys_tally WHERE questionnaire_id = ? "
        "GROUP BY question_id, key",
        (survey,),
    )
    return {(int(q), str(k)): int(n) for q, k, n in rows}


def naive_count(
    dep: Deployment, survey: int, structure: dict[str, Any]
) -> tuple[dict[tuple[int, str], int], float]:
    """Read every response's answers and count in Python: the page without counters."""
    t0 = time.perf_counter()
    counts: Counter[tuple[int, str]] = Counter()
    rows = dep.query("SELECT answers FROM surveys_response WHERE questionnaire_id = ?", (survey,))
    for (answers,) in rows:
        counts.update(
            tally_keys(structure, answers if isinstance(answers, dict) else json.loads(answers))
        )
    return dict(counts), time.perf_counter() - t0


def tallies_match(dep: Deployment, survey: int, structure: dict[str, Any]) -> tuple[bool, float]:
    direct, seconds = naive_count(dep, survey, structure)
    return tallies(dep, survey) == direct, seconds


# --- a million responses -------------------------------------------------------------------------
def bulk_responses(
    dep: Deployment, survey: int, structure: dict[str, Any], count: int, seed: int = 1
) -> float:
    """Write ``count`` valid responses and their tallies straight into the database."""
    rng = random.Random(seed)
    t0 = time.perf_counter()
    counts: Counter[tuple[int, str]] = Counter()
    text_question = next(
        (q["id"] for s in structure["sections"] for q in s["questions"] if q["kind"] == "text"),
        None,
    )
    now = dt.datetime.now(dt.UTC)
    batch = 50_000
    if dep.db == "postgresql":
        import psycopg

        with psycopg.connect(dep.env["DATABASE_URL"]) as pg:
            row = pg.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM surveys_response").fetchone()
            first = int(row[0]) if row else 1
            done = 0
            while done < count:
                size = min(batch, count - done)
                buf = io.StringIO()
                for i in range(size):
                    answers = make_answers(structure, rng, done + i)
                    counts.update(tally_keys(structure, answers))
                    text = json.dumps(answers, ensure_ascii=False).replace("\\", "\\\\")
                    buf.write(
                        f"{first + done + i}\t{survey}\t\\N\t\t{text}\t{now.isoformat()}\t\t\t\n"
                    )
                buf.seek(0)
                with pg.cursor().copy(
                    "COPY surveys_response (id, questionnaire_id, respondent_id, device, answers, "
                    "submitted_at, idem_scope, idem_key, idem_hash) FROM STDIN"
                ) as copy:
                    copy.write(buf.read())
                done += size
            pg.execute(
                "SELECT setval(pg_get_serial_sequence('surveys_response', 'id'), "
                "(SELECT MAX(id) FROM surveys_response))"
            )
            _bulk_tallies_pg(pg, survey, counts)
            if text_question is not None:
                pg.execute(
                    "INSERT INTO surveys_answer (response_id, question_id, text) "
                    "SELECT id, %s, answers->>%s FROM surveys_response "
                    "WHERE questionnaire_id = %s AND id >= %s AND answers ? %s",
                    (text_question, str(text_question), survey, first, str(text_question)),
                )
            pg.execute("ANALYZE surveys_response")
    else:
        import sqlite3

        conn = sqlite3.connect(dep.root / "db.sqlite3", timeout=60)
        try:
            done = 0
            while done < count:
                size = min(batch, count - done)
                rows = []
                for i in range(size):
                    answers = make_answers(structure, rng, done + i)
                    counts.update(tally_keys(structure, answers))
                    rows.append((survey, json.dumps(answers, ensure_ascii=False), now.isoformat()))
                conn.executemany(
                    "INSERT INTO surveys_response (questionnaire_id, respondent_id, device, answers, "
                    "submitted_at, idem_scope, idem_key, idem_hash) "
                    "VALUES (?, NULL, '', ?, ?, '', '', '')",
                    rows,
                )
                conn.commit()
                done += size
            conn.executemany(
                "INSERT INTO surveys_tally (questionnaire_id, question_id, key, shard, n) "
                "VALUES (?, ?, ?, 0, ?) ON CONFLICT (questionnaire_id, question_id, key, shard) "
                "DO UPDATE SET n = n + excluded.n",
                [(survey, q, k, n) for (q, k), n in counts.items()],
            )
            conn.commit()
        finally:
            conn.close()
    return time.perf_counter() - t0


def _bulk_tallies_pg(pg: Any, survey: int, counts: Counter[tuple[int, str]]) -> None:
    with pg.cursor() as cur:
        cur.executemany(
            "INSERT INTO surveys_tally (questionnaire_id, question_id, key, shard, n) "
            "VALUES (%s, %s, %s, 0, %s) ON CONFLICT (questionnaire_id, question_id, key, shard) "
            "DO UPDATE SET n = surveys_tally.n + EXCLUDED.n",
            [(survey, q, k, n) for (q, k), n in counts.items()],
        )


def sql_group_by(dep: Deployment, survey: int, structure: dict[str, Any]) -> float:
    """Per choice or rating question, GROUP BY its answer in the JSON (no counters)."""
    t0 = time.perf_counter()
    for section in structure["sections"]:
        for q in section["questions"]:
            if q["kind"] not in ("single", "rating"):
                continue
            if dep.db == "postgresql":
                sql = (
                    "SELECT answers->>?, COUNT(*) FROM surveys_response "
                    "WHERE questionnaire_id = ? GROUP BY 1"
                )
                dep.query(sql, (str(q["id"]), survey))
            else:
                sql = (
                    "SELECT json_extract(answers, ?), COUNT(*) FROM surveys_response "
                    "WHERE questionnaire_id = ? GROUP BY 1"
                )
                dep.query(sql, (f'$."{q["id"]}"', survey))
    return time.perf_counter() - t0


def timed_get(port: int, path: str, times: int = 5) -> tuple[float, float, int]:
    """(first, median of the next ``times``) seconds, and the body's size."""
    t0 = time.perf_counter()
    status, body = get(port, path, timeout=120)
    first = time.perf_counter() - t0
    if status != 200:
        raise BenchError(f"GET {path} answered {status}: {body[:300]!r}")
    runs = []
    for _ in range(times):
        t0 = time.perf_counter()
        get(port, path, timeout=120)
        runs.append(time.perf_counter() - t0)
    return first, statistics.median(runs), len(body)


# --- one database --------------------------------------------------------------------------------
def run_database(db: str, args: argparse.Namespace) -> dict[str, Any]:
    dep = Deployment(
        db=db,
        servers=args.servers,
        threads=args.threads,
        workers=args.workers,
        redis_url=args.redis_url if args.cache == "redis" else None,
        pg_admin_url=args.pg_admin_url,
        pg_database=args.pg_database,
        worker=False,
    )
    with dep:
        print(f"[{db}] preparing (migrate, demo) …", file=sys.stderr)
        dep.prepare()
        dep.start()
        found = dep.query("SELECT id FROM surveys_questionnaire WHERE title = ?", (DEMO_TITLE,))
        if not found:
            raise BenchError("the demo questionnaire is missing: did minsheng demo load surveys?")
        survey = int(found[0][0])
        status, body = get(dep.ports[0], f"/api/surveys/{survey}")
        if status != 200:
            raise BenchError(f"GET /api/surveys/{survey} answered {status}")
        structure = json.loads(body)
        run_ids = []
        figures: dict[str, Any] = {"database": db, "servers": args.servers, "threads": args.threads}
        run_id = uuid.uuid4().hex[:8]
        run_ids.append(f"{run_id}b")
        base, base_out = load_run(
            dep, survey, structure, 1, args.duration / 2, args.warmup, f"{run_id}b"
        )
        print(
            f"[{db}] baseline 1 client: {base.per_s:.0f}/s p50 {base.p50_ms:.1f} ms",
            file=sys.stderr,
        )
        run_ids.append(f"{run_id}m")
        main, main_out = load_run(
            dep, survey, structure, args.clients, args.duration, args.warmup, f"{run_id}m"
        )
        print(
            f"[{db}] {args.clients} clients: {main.per_s:.0f}/s p50 {main.p50_ms:.1f} ms "
            f"p99 {main.p99_ms:.1f} ms errors {main.errors}; CPU per response: web "
            f"{main.web_cpu_ms:.1f} ms, database {main.db_cpu_ms:.1f} ms",
            file=sys.stderr,
        )
        full_out: list[Outcome] = []
        if args.full_stack:
            # The same load through Django's full stack (the fast path switched off, servers
            # restarted): the comparison in the same run, on the same machine and database.
            dep.stop()
            dep.env["MINSHENG_FAST_SURVEYS"] = "0"
            dep.start()
            run_ids.append(f"{run_id}f")
            full, full_out = load_run(
                dep, survey, structure, args.clients, args.duration, args.warmup, f"{run_id}f"
            )
            del dep.env["MINSHENG_FAST_SURVEYS"]
            print(
                f"[{db}] {args.clients} clients, full stack: {full.per_s:.0f}/s p50 "
                f"{full.p50_ms:.1f} ms p99 {full.p99_ms:.1f} ms errors {full.errors}; CPU per "
                f"response: web {full.web_cpu_ms:.1f} ms, database {full.db_cpu_ms:.1f} ms",
                file=sys.stderr,
            )
            figures["intake_full_stack"] = asdict(full)
        check = verify(dep, survey, structure, base_out + main_out + full_out, run_ids)
        print(f"[{db}] check: {check}", file=sys.stderr)
        figures["intake_baseline"] = asdict(base)
        figures["intake"] = asdict(main)
        figures["check"] = asdict(check)
        if args.responses:
            print(f"[{db}] writing {args.responses:,} responses …", file=sys.stderr)
            written_s = bulk_responses(dep, survey, structure, args.responses)
            total = int(
                dep.query(
                    "SELECT COUNT(*) FROM surveys_response WHERE questionnaire_id = ?", (survey,)
                )[0][0]
            )
            api_first, api_median, _size = timed_get(dep.ports[0], f"/api/surveys/{survey}/results")
            page_first, page_median, page_size = timed_get(
                dep.ports[0], f"/surveys/{survey}/results/"
            )
            group_by_s = sql_group_by(dep, survey, structure)
            equal, naive_s = tallies_match(dep, survey, structure)
            figures["results"] = {
                "responses": total,
                "write_s": round(written_s, 1),
                "api_first_s": round(api_first, 3),
                "api_median_s": round(api_median, 3),
                "page_first_s": round(page_first, 3),
                "page_median_s": round(page_median, 3),
                "page_bytes": page_size,
                "baseline_naive_python_s": round(naive_s, 2),
                "baseline_sql_group_by_s": round(group_by_s, 2),
                "tallies_equal_direct_count": equal,
                "load": loadavg(),
            }
            print(f"[{db}] results: {figures['results']}", file=sys.stderr)
    return figures


def append_results(summary: dict[str, Any]) -> None:
    lines = [
        "",
        f"## surveys — {summary['date']} — {summary['machine']}",
        "",
        f"`bench/surveys.py {summary['argv']}`; load average at start {summary['load_start']} "
        "(the machine was shared with other work while this ran).",
        "",
        "| database | answered by | clients | responses/s | p50 ms | p99 ms | errors "
        "| CPU ms/response web + db | lost | duplicates | retries replayed | tallies = count |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in summary["runs"]:
        for label in ("intake_baseline", "intake", "intake_full_stack"):
            if label not in run:
                continue
            f = run[label]
            c = run["check"]
            path = "full stack" if label == "intake_full_stack" else "fast path"
            lines.append(
                f"| {run['database']} | {path} | {f['clients']} | {f['per_s']:.0f} | "
                f"{f['p50_ms']:.1f} | "
                f"{f['p99_ms']:.1f} | {sum(f['errors'].values())} | "
                f"{f['web_cpu_ms']:.1f} + {f['db_cpu_ms']:.1f} | {c['lost']} | "
                f"{c['duplicates']} | {f['replays'] - f['bad_replays']}/{f['replays']} | "
                f"{c['tallies_equal_direct_count']} |"
            )
    results = [r for r in summary["runs"] if "results" in r]
    if results:
        lines += [
            "",
            "| database | responses | results API (first / median) s | results page (first / "
            "median) s | naive Python count s | SQL GROUP BY s | tallies = count |",
            "|---|---|---|---|---|---|---|",
        ]
        for run in results:
            r = run["results"]
            lines.append(
                f"| {run['database']} | {r['responses']:,} | {r['api_first_s']} / "
                f"{r['api_median_s']} | {r['page_first_s']} / {r['page_median_s']} | "
                f"{r['baseline_naive_python_s']} | {r['baseline_sql_group_by_s']} | "
                f"{r['tallies_equal_direct_count']} |"
            )
    with RESULTS_FILE.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--servers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn workers per server (0: waitress)"
    )
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--cache", choices=("redis", "local"), default="redis")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument("--pg-database", default="minsheng_bench_surveys")
    parser.add_argument("--tiny", action="store_true", help="seconds-long run: shape, not figures")
    parser.add_argument(
        "--full-stack",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the load with the survey fast path off (MINSHENG_FAST_SURVEYS=0)",
    )
    parser.add_argument("--append-results", action="store_true")
    args = parser.parse_args(argv)
    if args.tiny:
        args.clients, args.servers, args.threads = 2, 1, 4
        args.duration, args.warmup, args.responses = 2.0, 0.5, 2000
    summary: dict[str, Any] = {
        "bench": "surveys",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_start": loadavg(),
        "argv": " ".join(sys.argv[1:] if argv is None else argv),
        "runs": [],
    }
    print(f"machine {summary['machine']}; load average {summary['load_start']}", file=sys.stderr)
    for db in [d.strip() for d in args.db.split(",") if d.strip()]:
        summary["runs"].append(run_database(db, args))
    checks = [r["check"] for r in summary["runs"]]
    summary["ok"] = all(
        c["lost"] == 0
        and c["duplicates"] == 0
        and c["wrong_id"] == 0
        and c["tallies_equal_direct_count"]
        for c in checks
    ) and all(r["intake"]["bad_replays"] == 0 for r in summary["runs"])
    pg = [r for r in summary["runs"] if r["database"] == "postgresql"]
    if pg:
        summary["postgresql_responses_per_s"] = round(pg[0]["intake"]["per_s"], 1)
        summary["meets_500_per_s"] = pg[0]["intake"]["per_s"] >= TARGET_PER_S
        if "intake_full_stack" in pg[0]:
            summary["postgresql_full_stack_responses_per_s"] = round(
                pg[0]["intake_full_stack"]["per_s"], 1
            )
        if "results" in pg[0]:
            summary["postgresql_results_api_s"] = pg[0]["results"]["api_median_s"]
            summary["meets_results_2_s"] = (
                pg[0]["results"]["api_first_s"] < TARGET_RESULTS_S
                and pg[0]["results"]["page_first_s"] < TARGET_RESULTS_S
            )
    if args.append_results and not args.tiny:
        append_results(summary)
    print(json.dumps(summary, ensure_ascii=False))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
