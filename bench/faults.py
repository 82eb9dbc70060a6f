"""Faults under load: SIGKILL of web servers and the Celery worker, Redis down, PostgreSQL cut off.

    .venv/bin/python bench/faults.py [--db sqlite,postgresql] [--duration 40] [--kills 6]
    .venv/bin/python bench/faults.py --tiny         # a quick pass of every run

Each database gets a throwaway deployment (bench/_server.py): ``--servers`` ``minsheng serve``
processes in production mode, a Celery worker, and a Redis of its own (``redis-server`` on a free
port, append-only file fsynced on every write, in the deployment's folder), so that this script
can stop and kill Redis without touching the machine's shared one.

**Load.** ``--clients`` threads send a mix of the three hot writes, each with what a careful
client sends, and retry on a dropped connection or a 503 (honouring ``Retry-After``) with the
same request:

* appeals through ``POST /api/appeals/`` with an ``Idempotency-Key`` (real citizen messages from
  ``../shared/data`` when present, else generated text) and a contact phone, so every appeal
  queues a "submit" text message (a Celery task);
* votes through ``POST /api/exemplars/campaigns/{id}/votes`` by signed-in voters
  (``minsheng exemplars bench-setup``): a retried vote that was stored the first time gets 409;
* anonymous questionnaire responses through ``POST /api/surveys/{id}/responses`` with an
  ``Idempotency-Key`` (the demo questionnaire; answers built by bench/surveys.py).

**Runs.**

1. *kill*: during the load a killer SIGKILLs a random web server (restarted at once) or the
   Celery worker (restarted after a moment), ``--kills`` times at random moments.
2. *redis*: Redis is stopped for a third of the run, then started again (same data folder).
3. *postgres* (PostgreSQL only): every server connection to the bench database is terminated
   (``pg_terminate_backend``) several times during the load, as a restart does to them;
   ``--pg-restart`` restarts the whole cluster instead (``pg_ctlcluster``), which also cuts
   every other user of that cluster: only on a machine of one's own.

**Afterwards**, with every process up again and the worker given time to drain: each
acknowledged write is present exactly once (appeals and responses by key, votes by
voter-candidate pair), nothing unacknowledged appeared except what was in flight when a
connection died, no task waits in Redis or in the outbox, every acknowledged appeal got its
"submit" text (at least once: a worker killed mid-task runs it again), and ``minsheng audit
verify`` holds. The last line is one JSON object.
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
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from bench._server import (  # noqa: E402
    DEFAULT_DATA,
    PG_ADMIN_URL,
    PROXY_HEADERS,
    BenchError,
    Deployment,
    free_port,
    get,
    load_messages,
    phone_for,
)
from bench.surveys import DEMO_TITLE, make_answers  # noqa: E402

WORKER_ARGS = [
    "worker",
    "--pool",
    "solo",
    "--loglevel",
    "WARNING",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
]
RETRIES = 30
VISIBILITY_S = 15


# --- a Redis of our own ----------------------------------------------------------------------------
@dataclass
class PrivateRedis:
    folder: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise BenchError("redis-server is not installed (Debian: apt-get install redis-server)")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=(self.folder / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        import redis

        for _ in range(200):
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise BenchError("the private redis-server did not start")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self.proc = None


class FaultDeployment(Deployment):
    """A Deployment whose Celery worker can be killed and started again on its own."""

    def kill_worker(self) -> None:
        if self._worker is not None and self._worker.poll() is None:
            os.kill(self._worker.pid, signal.SIGKILL)
            self._worker.wait()
        self._worker = None

    def start_worker(self) -> None:
        if self._worker is None or self._worker.poll() is not None:
            self._worker = self._celery(WORKER_ARGS, wait=False)

    def outbox(self) -> int:
        return int(self.query("SELECT COUNT(*) FROM minsheng_outboxmessage")[0][0])

    def unacked(self) -> int:
        """Messages a worker took and has not acknowledged (handed out again after the
        visibility timeout when that worker died)."""
        import redis

        assert self.redis_url is not None
        return int(redis.Redis.from_url(self.redis_url).hlen("unacked"))  # type: ignore[arg-type]


# --- the clients -----------------------------------------------------------------------------------
@dataclass
class Tally:
    appeals: dict[str, str] = field(default_factory=dict)  # key → appeal code
    appeals_in_flight: set[str] = field(default_factory=set)  # keys never answered
    responses: dict[str, int] = field(default_factory=dict)  # key → response id
    responses_in_flight: set[str] = field(default_factory=set)
    votes: set[tuple[str, int]] = field(default_factory=set)  # (session, candidate) 201 or 409
    votes_in_flight: set[tuple[str, int]] = field(default_factory=set)
    retried: Counter[str] = field(default_factory=Counter)  # why a request was sent again
    refused: Counter[str] = field(default_factory=Counter)  # final non-2xx answers
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Plan:
    ports: list[int]
    messages: list[tuple[str, str]]
    campaign: int
    candidates: list[int]
    sessions: list[str]
    survey: int
    structure: dict[str, Any]
    run_id: str
    stop: threading.Event = field(default_factory=threading.Event)


def _send(
    plan: Plan,
    tally: Tally,
    rng: random.Random,
    method_path: str,
    body: bytes,
    headers: dict[str, str],
) -> tuple[int, bytes] | None:
    """POST until an answer that is not a dropped connection or a 503; None if none came."""
    for _attempt in range(RETRIES):
        port = rng.choice(plan.ports)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", method_path, body=body, headers=headers)
            reply = conn.getresponse()
            status, data = reply.status, reply.read()
        except (OSError, http.client.HTTPException) as exc:
            with tally.lock:
                tally.retried[type(exc).__name__] += 1
            time.sleep(0.2)
            continue
        finally:
            conn.close()
        if status == 503:
            with tally.lock:
                tally.retried["503"] += 1
            time.sleep(min(float(reply.getheader("Retry-After") or 1), 2.0))
            continue
        return status, data
    return None


def client(plan: Plan, tally: Tally, index: int) -> None:
    rng = random.Random(index)
    n = 0
    base = {**PROXY_HEADERS, "Content-Type": "application/json"}
    while not plan.stop.is_set():
        n += 1
        kind = rng.choice(("appeal", "appeal", "vote", "response"))
        address = f"10.{index}.{n // 250 % 250}.{n % 250 + 1}"
        if kind == "appeal":
            key = f"{plan.run_id}-a-{index}-{n}"
            title, text = plan.messages[(index * 100_003 + n) % len(plan.messages)]
            body = json.dumps(
                {"title": title, "text": text, "contact_phone": phone_for(index * 1_000_000 + n)},
                ensure_ascii=False,
            ).encode()
            got = _send(
                plan,
                tally,
                rng,
                "/api/appeals/",
                body,
                {**base, "Idempotency-Key": key, "X-Forwarded-For": address},
            )
            with tally.lock:
                if got is None:
                    tally.appeals_in_flight.add(key)
                elif got[0] in (200, 201):
                    tally.appeals[key] = json.loads(got[1])["code"]
                else:
                    tally.refused[f"appeal {got[0]}"] += 1
        elif kind == "vote":
            session = plan.sessions[rng.randrange(len(plan.sessions))]
            candidate = rng.choice(plan.candidates)
            with tally.lock:
                if (session, candidate) in tally.votes:
                    continue
            csrf = "c" * 32
            body = json.dumps({"candidate": candidate}).encode()
            got = _send(
                plan,
                tally,
                rng,
                f"/api/exemplars/campaigns/{plan.campaign}/votes",
                body,
                {
                    **base,
                    "X-Forwarded-For": address,
                    "Cookie": f"sessionid={session}; csrftoken={csrf}",
                    "X-CSRFToken": csrf,
                    "Origin": "https://127.0.0.1",
                    "User-Agent": "Mozilla/5.0 (faults bench)",
                },
            )
            with tally.lock:
                if got is None:
                    tally.votes_in_flight.add((session, candidate))
                elif got[0] in (201, 409):
                    # 409: this voter's vote for this candidate is already stored (by a first
                    # attempt whose answer was lost, or by an earlier request of this run).
                    tally.votes.add((session, candidate))
                else:
                    tally.refused[f"vote {got[0]}"] += 1
        else:
            key = f"{plan.run_id}-r-{index}-{n}"
            answers = make_answers(plan.structure, rng, n)
            body = json.dumps({"answers": answers}, ensure_ascii=False).encode()
            got = _send(
                plan,
                tally,
                rng,
                f"/api/surveys/{plan.survey}/responses",
                body,
                {**base, "Idempotency-Key": key, "X-Forwarded-For": address},
            )
            with tally.lock:
                if got is None:
                    tally.responses_in_flight.add(key)
                elif got[0] in (200, 201):
                    tally.responses[key] = int(json.loads(got[1])["id"])
                else:
                    tally.refused[f"response {got[0]}"] += 1


# --- faults --------------------------------------------------------------------------------------
def killer(dep: FaultDeployment, plan: Plan, kills: int, duration: float, log: list[str]) -> None:
    rng = random.Random(7)
    moments = sorted(rng.uniform(0.1, 0.9) * duration for _ in range(kills))
    start = time.monotonic()
    for i, at in enumerate(moments):
        while time.monotonic() - start < at:
            if plan.stop.wait(0.05):
                return
        if i % 3 == 2:
            dep.kill_worker()
            log.append(f"{time.monotonic() - start:.1f}s SIGKILL worker")
            time.sleep(rng.uniform(0.5, 2.0))
            dep.start_worker()
        else:
            index = rng.randrange(len(dep.ports))
            dep.kill_server(index)
            log.append(f"{time.monotonic() - start:.1f}s SIGKILL server {index}")
            dep.start_server(index)


def redis_outage(redis: PrivateRedis, plan: Plan, duration: float, log: list[str]) -> None:
    if plan.stop.wait(duration / 3):
        return
    redis.stop()
    log.append(f"{duration / 3:.1f}s Redis stopped")
    if plan.stop.wait(duration / 3):
        redis.start()
        return
    redis.start()
    log.append(f"{2 * duration / 3:.1f}s Redis started again")


def pg_cuts(
    dep: FaultDeployment, plan: Plan, duration: float, restart: bool, log: list[str]
) -> None:
    import psycopg

    for i in range(3):
        if plan.stop.wait(duration / 4):
            return
        if restart:
            subprocess.run(["pg_ctlcluster", "15", "main", "restart"], check=True)
            log.append(f"cluster restarted ({i + 1})")
            continue
        with psycopg.connect(dep.pg_admin_url, autocommit=True) as admin:
            cut = admin.execute(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (dep.pg_database,),
            ).fetchone()
        log.append(f"{(i + 1) * duration / 4:.1f}s terminated {cut[0] if cut else 0} backends")


# --- checks ------------------------------------------------------------------------------------
def sms_codes(dep: FaultDeployment) -> Counter[str]:
    path = dep.root / "sms-outbox" / "outbox.jsonl"
    found: Counter[str] = Counter()
    if not path.exists():
        return found
    for line in path.read_text(encoding="utf-8").splitlines():
        message = json.loads(line).get("message", "")
        if "已受理" in message:
            found.update(re.findall(r"编号 (\S+?)，", message))
    return found


def verify(dep: FaultDeployment, plan: Plan, tally: Tally) -> dict[str, Any]:
    keys = dep.query(
        "SELECT k.key, a.code FROM appeals_idempotencykey k JOIN appeals_appeal a "
        "ON a.id = k.appeal_id WHERE k.key LIKE ?",
        (f"{plan.run_id}-a-%",),
    )
    stored_appeals = Counter(k for k, _c in keys)
    codes = dict(keys)
    responses = dep.query(
        "SELECT idem_key, id FROM surveys_response WHERE idem_key LIKE ?", (f"{plan.run_id}-r-%",)
    )
    stored_responses = Counter(k for k, _i in responses)
    response_ids = dict(responses)
    votes = dep.query(
        "SELECT voter_id, candidate_id, COUNT(*) FROM exemplars_vote WHERE campaign_id = ? "
        "AND voided_at IS NULL GROUP BY voter_id, candidate_id",
        (plan.campaign,),
    )
    doubled_votes = sum(1 for _v, _c, n in votes if n > 1)
    stored_vote_pairs = len(votes)
    acknowledged_votes = len(tally.votes)
    sms = sms_codes(dep)
    acked_codes = set(tally.appeals.values())
    return {
        "appeals_acknowledged": len(tally.appeals),
        "appeals_lost": sum(1 for k in tally.appeals if stored_appeals[k] == 0),
        "appeals_wrong_code": sum(
            1 for k, c in tally.appeals.items() if stored_appeals[k] and codes[k] != c
        ),
        "appeals_duplicated": sum(n - 1 for n in stored_appeals.values() if n > 1),
        "appeals_unacknowledged_stored": sum(
            1 for k in stored_appeals if k not in tally.appeals and k not in tally.appeals_in_flight
        ),
        "responses_acknowledged": len(tally.responses),
        "responses_lost": sum(1 for k in tally.responses if stored_responses[k] == 0),
        "responses_wrong_id": sum(
            1 for k, i in tally.responses.items() if stored_responses[k] and response_ids[k] != i
        ),
        "responses_duplicated": sum(n - 1 for n in stored_responses.values() if n > 1),
        "responses_unacknowledged_stored": sum(
            1
            for k in stored_responses
            if k not in tally.responses and k not in tally.responses_in_flight
        ),
        "votes_acknowledged": acknowledged_votes,
        "votes_stored_pairs": stored_vote_pairs,
        "votes_missing": max(0, acknowledged_votes - stored_vote_pairs),
        "votes_unacknowledged_stored": max(
            0, stored_vote_pairs - acknowledged_votes - len(tally.votes_in_flight)
        ),
        "votes_doubled": doubled_votes,
        "in_flight_unanswered": len(tally.appeals_in_flight)
        + len(tally.responses_in_flight)
        + len(tally.votes_in_flight),
        "submit_texts_missing": sum(1 for c in acked_codes if sms[c] == 0),
        "submit_texts_repeated": sum(1 for c in acked_codes if sms[c] > 1),
        "retried": dict(tally.retried),
        "refused": dict(tally.refused),
    }


def drain(dep: FaultDeployment, timeout: float = 240) -> dict[str, Any]:
    start = time.monotonic()
    queued = outbox = unacked = -1
    last_restart = start
    while time.monotonic() - start < timeout:
        queued, outbox, unacked = dep.queued_tasks() or 0, dep.outbox(), dep.unacked()
        if queued == 0 and outbox == 0 and unacked == 0:
            # The last task may still be running on the worker: give it a moment.
            time.sleep(2)
            if (dep.queued_tasks() or 0) == 0 and dep.outbox() == 0 and dep.unacked() == 0:
                break
        if outbox and time.monotonic() - last_restart > 70:
            # What waited in the outbox is relayed by a worker when it starts; a row whose
            # relayer died is due again after the outbox's 60 s lease.
            dep.kill_worker()
            dep.start_worker()
            last_restart = time.monotonic()
        time.sleep(1)
    return {
        "queued_in_redis": queued,
        "in_outbox": outbox,
        "unacknowledged_in_redis": unacked,
        "drain_s": round(time.monotonic() - start, 1),
    }


# --- one run -----------------------------------------------------------------------------------
def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def one_run(
    db: str, fault: str, args: argparse.Namespace, messages: list[tuple[str, str]]
) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix=f"minsheng-faults-{fault}-"))
    redis = PrivateRedis(root / "redis")
    redis.start()
    dep = FaultDeployment(
        db=db,
        servers=args.servers,
        threads=args.threads,
        redis_url=redis.url,
        pg_admin_url=args.pg_admin_url,
        pg_database=f"minsheng_bench_faults_{fault}",
        root=root,
    )
    # A message taken by a killed worker comes back after 15 s, not Celery's hour.
    dep.env["MINSHENG_BROKER_VISIBILITY_TIMEOUT"] = str(VISIBILITY_S)
    events: list[str] = []
    try:
        t0 = time.monotonic()
        dep.prepare()
        setup_file = dep.root / "voters.json"
        dep._run(
            ["exemplars", "bench-setup", "--voters", str(args.voters), "--out", str(setup_file)],
            production=False,
            timeout=1800,
        )
        setup = json.loads(setup_file.read_text(encoding="utf-8"))
        dep.start()
        survey = int(
            dep.query("SELECT id FROM surveys_questionnaire WHERE title = ?", (DEMO_TITLE,))[0][0]
        )
        status, body = get(dep.ports[0], f"/api/surveys/{survey}")
        if status != 200:
            raise BenchError(f"GET /api/surveys/{survey} answered {status}")
        print(f"[{db}/{fault}] prepared in {time.monotonic() - t0:.0f} s", flush=True)
        plan = Plan(
            ports=dep.ports,
            messages=messages,
            campaign=int(setup["campaign"]),
            candidates=[int(c) for c in setup["candidates"]],
            sessions=list(setup["sessions"]),
            survey=survey,
            structure=json.loads(body),
            run_id=uuid.uuid4().hex[:8],
        )
        tally = Tally()
        threads = [
            threading.Thread(target=client, args=(plan, tally, i), daemon=True)
            for i in range(args.clients)
        ]
        if fault == "kill":
            chaos = threading.Thread(
                target=killer, args=(dep, plan, args.kills, args.duration, events)
            )
        elif fault == "redis":
            chaos = threading.Thread(target=redis_outage, args=(redis, plan, args.duration, events))
        else:
            chaos = threading.Thread(
                target=pg_cuts, args=(dep, plan, args.duration, args.pg_restart, events)
            )
        load_before = loadavg()
        started = time.monotonic()
        for t in threads:
            t.start()
        chaos.start()
        time.sleep(args.duration)
        plan.stop.set()
        chaos.join()
        for t in threads:
            t.join(timeout=120)
        elapsed = time.monotonic() - started
        if redis.proc is None:
            redis.start()
        for index in range(len(dep.ports)):
            if not dep.is_ready(index):
                dep.kill_server(index)
                dep.start_server(index)
        dep.start_worker()
        drained = drain(dep)
        figures = verify(dep, plan, tally)
        chain = dep.audit_verify()
        writes = (
            figures["appeals_acknowledged"]
            + figures["responses_acknowledged"]
            + figures["votes_acknowledged"]
        )
        result = {
            "database": db,
            "fault": fault,
            "events": events,
            "seconds": round(elapsed, 1),
            "acknowledged_writes": writes,
            "writes_per_s": round(writes / elapsed, 1),
            **figures,
            **drained,
            "audit_chain_verified": chain,
            "load_before": load_before,
            "load_after": loadavg(),
        }
        bad = [
            k
            for k in (
                "appeals_lost",
                "appeals_wrong_code",
                "appeals_duplicated",
                "appeals_unacknowledged_stored",
                "responses_lost",
                "responses_wrong_id",
                "responses_duplicated",
                "responses_unacknowledged_stored",
                "votes_missing",
                "votes_unacknowledged_stored",
                "votes_doubled",
                "queued_in_redis",
                "in_outbox",
                "unacknowledged_in_redis",
                "submit_texts_missing",
            )
            if result[k]
        ]
        result["ok"] = chain and not bad
        result["problems"] = bad
        print(
            f"[{db}/{fault}] {writes} acknowledged writes in {elapsed:.0f} s; events: "
            f"{'; '.join(events)}",
            flush=True,
        )
        print(
            f"[{db}/{fault}] lost/dup: appeals {figures['appeals_lost']}/"
            f"{figures['appeals_duplicated']}, responses {figures['responses_lost']}/"
            f"{figures['responses_duplicated']}, votes {figures['votes_missing']}/"
            f"{figures['votes_doubled']}; texts missing {figures['submit_texts_missing']}, "
            f"repeated {figures['submit_texts_repeated']}; queue {drained['queued_in_redis']}, "
            f"outbox {drained['in_outbox']}; chain {'ok' if chain else 'BROKEN'}; retried "
            f"{figures['retried']}; refused {figures['refused']}",
            flush=True,
        )
        return result
    finally:
        dep.close()
        redis.stop()
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--faults", default="kill,redis,postgres")
    parser.add_argument("--duration", type=float, default=40.0)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--voters", type=int, default=300)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument(
        "--pg-restart",
        action="store_true",
        help="restart the whole PostgreSQL cluster (disturbs its other users)",
    )
    parser.add_argument("--tiny", action="store_true", help="short runs, for a quick check")
    args = parser.parse_args(argv)
    if args.tiny:
        args.duration, args.kills, args.clients, args.voters = 12.0, 3, 4, 60
    try:
        messages = [(m.title, m.text) for m in load_messages(args.data)][:5000]
    except BenchError:
        messages = [
            (f"测试诉求{i}", f"小区第{i}号楼的路灯坏了，晚上很黑，请尽快修理。") for i in range(500)
        ]
    runs = []
    for db in args.db.split(","):
        for fault in args.faults.split(","):
            if fault == "postgres" and db != "postgresql":
                continue
            runs.append(one_run(db, fault, args, messages))
    summary = {
        "bench": "faults",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {os.cpu_count()} cpu",
        "ok": all(r["ok"] for r in runs),
        "runs": runs,
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
