"""Throwaway production-style deployments of minsheng for the HTTP benchmarks.

A ``Deployment`` lives in a temporary folder: its own SQLite file (WAL) or its own PostgreSQL
database, created before and dropped after; fresh random keys; ``minsheng migrate`` and
``minsheng demo`` (the demo refuses production mode, so those two run in development mode on the
same database and keys); then N ``minsheng serve`` processes with ``MINSHENG_ENV=production`` —
waitress, or with ``workers`` > 0 gunicorn with that many forked workers per server, DEBUG off,
hashed static files, HTTPS assumed at a proxy — and, with a broker, Redis as
cache and broker and one ``celery -A minsheng worker`` beside them, as README "Running at scale"
describes. Clients send what a TLS-terminating proxy on 127.0.0.1 would add
(``X-Forwarded-Proto: https``, ``X-Forwarded-For``), and each server trusts 127.0.0.1 as its proxy.

Nothing here imports Django: the benchmark process stays a plain HTTP client and reads the
database afterwards with plain SQL.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import http.client
import os
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "127.0.0.1"}
# The API's limits (appeals/models.py TEXT_LIMIT, TITLE_LIMIT): longer real texts are skipped.
TEXT_LIMIT = 5000
TITLE_LIMIT = 120
# (file, title column, text column) of the real citizen messages in tipdm2020_c.
MESSAGE_SOURCES = (
    ("attachment2_details_partial.csv", "留言主题", "留言详情_clean"),
    ("attachment2_rows_partial.csv", "留言主题", "留言详情"),
    ("attachment3_hot_issue_messages.csv", "留言主题", "留言详情"),
    ("attachment4_messages_with_replies.csv", "留言主题", "留言详情"),
    ("eval_phase_test2801_unlabeled.csv", "留言主题", "留言详情"),
)
# Inherited variables that would point the deployment at someone else's database or settings.
_FOREIGN_ENV_PREFIXES = ("MINSHENG_", "DJANGO_", "CELERY_")
_FOREIGN_ENV = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SECRET_KEY_FILE", "ALLOWED_HOSTS"}


class BenchError(RuntimeError):
    """The deployment could not be set up; the message says which step and why."""


# --- the real messages ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Message:
    title: str
    text: str


def load_messages(data_dir: Path, seed: int = 20261127) -> list[Message]:
    """Every distinct real message body of tipdm2020_c that the API accepts, shuffled."""
    folder = data_dir / "tipdm2020_c"
    if not folder.is_dir():
        raise BenchError(f"{folder} is missing: pass the shared data folder with --data")
    seen: set[str] = set()
    out: list[Message] = []
    csv.field_size_limit(10_000_000)
    for name, title_col, text_col in MESSAGE_SOURCES:
        with (folder / name).open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                text = (row.get(text_col) or "").strip()
                if not text or len(text) > TEXT_LIMIT or text in seen:
                    continue
                seen.add(text)
                title = (row.get(title_col) or "").strip()[:TITLE_LIMIT]
                out.append(Message(title=title, text=text))
    random.Random(seed).shuffle(out)
    return out


def phone_for(index: int) -> str:
    """A well-formed mainland mobile number, fixed per request index (not a real person's)."""
    rng = random.Random(index)
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


# --- small helpers -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _b64_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def _minsheng_command() -> list[str]:
    script = Path(sys.executable).with_name("minsheng")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from minsheng.cli import main; main()"]


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=PROXY_HEADERS)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (gunicorn's workers), from /proc; [] where there is none."""
    out = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = entry.read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after its closing bracket.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid):
            out.append(int(entry.parent.name))
    return out


class RawClient:
    """A lean HTTP/1.1 keep-alive client: request bytes built by hand, only the status line and
    Content-Length of the answer parsed. The load generators share the machine's cores with the
    servers, so every microsecond the client spends is one the servers do not get.

    Reconnects (and says so with ``reconnects``) when the server closed the connection.
    """

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buf = b""
        self.reconnects = 0

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buf = sock, b""
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buf = None, b""

    def post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        """POST and read the whole answer: (status, body). Raises OSError on a broken exchange."""
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Length: {len(body)}\r\n{head}\r\n"
        ).encode("latin-1") + body
        sock = self.sock or self._connect()
        try:
            sock.sendall(request)
            return self._answer(sock)
        except OSError:
            self.close()
            raise

    def _answer(self, sock: socket.socket) -> tuple[int, bytes]:
        buf = self.buf
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("the server closed the connection")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        closing = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"connection" and value.strip().lower() == b"close":
                closing = True
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("the server closed the connection mid-answer")
            rest += chunk
        body, self.buf = rest[:length], rest[length:]
        if closing:
            self.close()
            self.reconnects += 1
        return status, body


# --- the deployment ------------------------------------------------------------------------------
@dataclass
class Server:
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0


@dataclass
class Deployment:
    """One throwaway minsheng: database, keys, N servers, optionally Redis + worker.

    Each server is one ``minsheng serve``: waitress with ``threads`` threads when ``workers`` is 0,
    else gunicorn with ``workers`` forked processes of ``threads`` threads each.

    ``db`` is ``sqlite`` or ``postgresql``. ``redis_url`` None means no broker (notices are sent
    inline in the web process, the embedded default); otherwise it is the cache and broker and a
    Celery worker runs beside the servers.
    """

    db: str
    servers: int = 2
    threads: int = 8
    workers: int = 0
    redis_url: str | None = None
    pg_admin_url: str = PG_ADMIN_URL
    pg_database: str = "minsheng_bench_intake"
    keep: bool = False
    # With a broker: run a Celery worker beside the servers (the production layout), or leave
    # the tasks queued (intake measured alone, as if the worker ran on another machine).
    worker: bool = True
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="minsheng-bench-")))
    _servers: list[Server] = field(default_factory=list)
    _worker: subprocess.Popen[bytes] | None = None
    _logs: list[IO[bytes]] = field(default_factory=list)

    # -- environment
    def __post_init__(self) -> None:
        if self.db not in ("sqlite", "postgresql"):
            raise BenchError(f"unknown database {self.db!r}: use sqlite or postgresql")
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in _FOREIGN_ENV and not k.startswith(_FOREIGN_ENV_PREFIXES)
        }
        self.env.update(
            {
                "DJANGO_SETTINGS_MODULE": "minsheng.settings",
                "MINSHENG_DATA_DIR": str(self.root),
                "SECRET_KEY": secrets.token_urlsafe(50),
                "MINSHENG_VAULT_KEYS": _b64_key(),
                "MINSHENG_VAULT_INDEX_KEY": _b64_key(),
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "MINSHENG_LOG_FORMAT": "json",
                # The benchmarks post from one address far beyond a citizen's hourly budget.
                "MINSHENG_APPEAL_API_SUBMITS_PER_IP_PER_HOUR": "0",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.db == "postgresql":
            base = self.pg_admin_url.rsplit("/", 1)[0]
            self.env["DATABASE_URL"] = f"{base}/{self.pg_database}"
        if self.redis_url:
            self.env["REDIS_URL"] = self.redis_url

    @property
    def database_url(self) -> str:
        return self.env.get("DATABASE_URL", str(self.root / "db.sqlite3"))

    def _run(self, args: Sequence[str], *, production: bool, timeout: float = 300) -> str:
        env = dict(self.env, MINSHENG_ENV="production" if production else "development")
        done = subprocess.run(
            [*_minsheng_command(), *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(
                f"minsheng {' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
            )
        return done.stdout

    # -- database
    def _pg_admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.pg_admin_url, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]  # identifiers are ours, not input

    def _check_pg_name(self) -> None:
        if not self.pg_database.replace("_", "").isalnum():
            raise BenchError(f"PostgreSQL database name {self.pg_database!r}: letters, digits, _")

    def prepare(self) -> None:
        """Create the database, migrate, load the demo city, collect the static files."""
        if self.db == "postgresql":
            self._check_pg_name()
            self._pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_database}" WITH (FORCE)')
            self._pg_admin(f'CREATE DATABASE "{self.pg_database}"')
        self._run(["migrate", "--no-input", "-v", "0"], production=False)
        self._run(["demo", "-v", "0"], production=False)
        self._run(["collectstatic", "--no-input", "-v", "0"], production=True)
        if self.redis_url:
            # A task left queued by an earlier, aborted run names appeal ids of another database.
            self._celery(["purge", "-f"], wait=True)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Plain SQL against the deployment's database (``?`` placeholders on both engines)."""
        if self.db == "sqlite":
            conn = sqlite3.connect(self.root / "db.sqlite3", timeout=30)
            try:
                return list(conn.execute(sql, tuple(params)).fetchall())
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self.env["DATABASE_URL"]) as pg:
            rows = pg.execute(sql.replace("?", "%s"), tuple(params)).fetchall()  # type: ignore[arg-type]
            return [tuple(r) for r in rows]

    # -- processes
    def _open_log(self, name: str) -> IO[bytes]:
        fh = (self.root / name).open("ab")
        self._logs.append(fh)
        return fh

    def _celery(self, args: Sequence[str], *, wait: bool) -> subprocess.Popen[bytes]:
        env = dict(self.env, MINSHENG_ENV="production")
        log = self._open_log("celery.log")
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "minsheng", *args],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if wait and proc.wait(timeout=120) != 0:
            raise BenchError(f"celery {' '.join(args)} failed:\n{_tail(self.root / 'celery.log')}")
        return proc

    def start(self) -> None:
        """Start the servers (and the worker) and wait until every server answers /healthz."""
        if self.redis_url and self.worker and self._worker is None:
            self._worker = self._celery(
                [
                    "worker",
                    "--pool",
                    "solo",
                    "--loglevel",
                    "WARNING",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                wait=False,
            )
        if not self._servers:
            self._servers = [
                Server(port=free_port(), log=self.root / f"serve-{i}.log")
                for i in range(self.servers)
            ]
        for index in range(len(self._servers)):
            self.start_server(index, wait=False)
        for index in range(len(self._servers)):
            self.wait_ready(index)

    @property
    def ports(self) -> list[int]:
        return [s.port for s in self._servers]

    def start_server(self, index: int, *, wait: bool = True) -> None:
        server = self._servers[index]
        env = dict(self.env, MINSHENG_ENV="production")
        log = self._open_log(server.log.name)
        server.proc = subprocess.Popen(
            [
                *_minsheng_command(),
                "serve",
                "--port",
                str(server.port),
                "--threads",
                str(self.threads),
                "--trusted-proxy",
                "127.0.0.1",
                *(["--workers", str(self.workers)] if self.workers else []),
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: a kill reaches gunicorn's workers along with their master.
            start_new_session=True,
        )
        server.starts += 1
        if wait:
            self.wait_ready(index)

    def wait_ready(self, index: int, timeout: float = 120.0) -> float:
        """Seconds until the server answered /healthz with 200."""
        server = self._servers[index]
        assert server.proc is not None
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if server.proc.poll() is not None:
                raise BenchError(
                    f"server on port {server.port} exited ({server.proc.returncode}):\n"
                    f"{_tail(server.log)}"
                )
            try:
                status, _ = get(server.port, "/healthz", timeout=2)
                if status == 200:
                    return time.monotonic() - start
            except OSError:
                pass
            time.sleep(0.05)
        raise BenchError(f"server on port {server.port} not ready in {timeout:.0f} s")

    def is_ready(self, index: int) -> bool:
        """The server is up and answers /healthz with 200 (one quick try)."""
        proc = self._servers[index].proc
        if proc is None or proc.poll() is not None:
            return False
        try:
            return get(self._servers[index].port, "/healthz", timeout=2)[0] == 200
        except OSError:
            return False

    def kill_server(self, index: int) -> None:
        """SIGKILL: no shutdown handler runs, in-flight requests die with the process."""
        proc = self._servers[index].proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def pids(self) -> list[int]:
        """The web servers' (with gunicorn's workers) and the worker's process ids (CPU time)."""
        procs = [s.proc for s in self._servers if s.proc is not None]
        if self._worker is not None:
            procs.append(self._worker)
        alive = [p.pid for p in procs if p.poll() is None]
        return alive + [child for pid in alive for child in children(pid)]

    def audit_verify(self) -> bool:
        """``minsheng audit verify``: True when every link of the hash chain holds."""
        try:
            self._run(["audit", "verify"], production=True)
        except BenchError as exc:
            print(exc, file=sys.stderr)
            return False
        return True

    def queued_tasks(self) -> int | None:
        """Tasks still waiting in the broker's default queue (None without a broker)."""
        if not self.redis_url:
            return None
        import redis

        return int(redis.Redis.from_url(self.redis_url).llen("celery"))  # type: ignore[arg-type]

    def stop(self) -> None:
        procs = [s.proc for s in self._servers if s.proc is not None]
        if self._worker is not None:
            procs.append(self._worker)
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._worker = None

    def close(self) -> None:
        """Stop everything, drop the PostgreSQL database and remove the folder (unless kept)."""
        self.stop()
        if self.redis_url:
            # Best effort: the notices of a throwaway deployment may stay unsent.
            with contextlib.suppress(BenchError):
                self._celery(["purge", "-f"], wait=True)
        for fh in self._logs:
            fh.close()
        if self.db == "postgresql" and not self.keep:
            self._pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_database}" WITH (FORCE)')
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
