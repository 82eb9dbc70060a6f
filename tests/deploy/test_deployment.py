"""The deployment of deploy/Procfile, started for real on PostgreSQL and Redis.

One throwaway deployment (its own PostgreSQL database and Redis database 13, fresh keys, the demo
city, hashed static files: ``bench/_server.py``'s ``Deployment.prepare``), then the Procfile's three
lines exactly as written: ``web`` (gunicorn through ``minsheng serve --workers 2``), ``worker``
(Celery) and ``beat`` with every periodic job due every 2 s (``MINSHENG_PERIODIC_SECONDS``). The
requests carry what the nginx of deploy/nginx/minsheng.conf adds.

Runs only in CI's PostgreSQL + Redis pass; on the embedded default (SQLite, inline tasks) there
is no broker for a worker or beat to use, and the test is skipped with that reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from bench._server import Deployment, free_port

REPO = Path(__file__).resolve().parents[2]
PROCFILE = REPO / "deploy" / "Procfile"
REDIS_DB = 13  # apart from CI's 0, the xdist caches' 1-8 and the benchmarks' 9, 11 and 12
WEB_WORKERS = 2
PROXY = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "127.0.0.1",
    "X-Forwarded-For": "10.9.0.7",
}
HASHED_STATIC = re.compile(r"/static/[\w/.-]+\.[0-9a-f]{12}\.(?:css|js)")
TEN_YEARS = 10 * 365 * 24 * 3600


def _services() -> tuple[str, str] | None:
    database = os.environ.get("DATABASE_URL", "")
    redis = os.environ.get("REDIS_URL", "")
    if database.startswith(("postgres://", "postgresql://")) and redis:
        return database, redis
    return None


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        _services() is None,
        reason="needs DATABASE_URL on PostgreSQL and REDIS_URL (CI's second pass): a multi-process "
        "deployment with a Celery worker and beat has no broker on the embedded default",
    ),
]


# --- the Procfile ------------------------------------------------------------------------------
def procfile(env: dict[str, str]) -> dict[str, list[str]]:
    """The Procfile's processes as argument lists, ``${VAR}`` taken from ``env``.

    ``minsheng`` and ``celery`` are this virtualenv's scripts. A variable the environment lacks
    fails here, so the example environment file and the Procfile cannot drift apart unnoticed.
    """
    scripts = Path(sys.executable).parent
    out: dict[str, list[str]] = {}
    for raw in PROCFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, command = line.split(":", 1)
        missing = sorted(set(re.findall(r"\$\{(\w+)\}", command)) - set(env))
        if missing:
            raise KeyError(f"deploy/Procfile's {name} needs {', '.join(missing)}")
        args = shlex.split(re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], command))
        args[0] = str(scripts / args[0])
        out[name.strip()] = args
    return out


# --- the running deployment --------------------------------------------------------------------
@dataclass
class Running:
    deployment: Deployment
    port: int
    started: float  # time.time() just before the processes started
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: list[IO[bytes]] = field(default_factory=list)

    def log(self, name: str) -> str:
        return (self.deployment.root / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers={**PROXY, **(headers or {})})
            response = conn.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            conn.close()


def _children(pid: int) -> set[int]:
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[-1].split()
            if fields[1] == str(pid):
                out.add(int(stat.parent.name))
    return out


def _wait(what: str, check: Callable[[], Any], running: Running, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in running.procs.items():
            if proc.poll() is not None:
                raise AssertionError(
                    f"{name} exited ({proc.returncode}):\n{running.log(name)[-3000:]}"
                )
        with contextlib.suppress(OSError):
            result = check()
            if result:
                return result
        time.sleep(0.2)
    logs = "\n".join(f"--- {n}\n{running.log(n)[-1500:]}" for n in running.procs)
    raise AssertionError(f"{what}: not within {timeout:.0f} s\n{logs}")


def _stop(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def deployment_running() -> Iterator[Running]:
    import redis

    services = _services()
    assert services is not None
    database_url, _ = services
    redis_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    deployment = Deployment(
        db="postgresql",
        redis_url=redis_url,
        pg_admin_url=database_url.rsplit("/", 1)[0] + "/postgres",
        pg_database=f"minsheng_deploy_test_{os.getpid()}",
        worker=False,
    )
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs: list[IO[bytes]] = []
    try:
        deployment.prepare()
        port = free_port()
        env = dict(
            deployment.env,
            MINSHENG_ENV="production",
            MINSHENG_PORT=str(port),
            WEB_WORKERS=str(WEB_WORKERS),
            WEB_THREADS="2",
            CELERY_CONCURRENCY="1",
            MINSHENG_PERIODIC_SECONDS="2",
        )
        running = Running(deployment=deployment, port=port, started=time.time())
        for name, args in procfile(env).items():
            log = (deployment.root / f"{name}.log").open("ab")
            logs.append(log)
            procs[name] = subprocess.Popen(
                args,
                cwd=deployment.root,  # beat and the worker write nothing into the checkout
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a signal to the group reaches gunicorn's workers too
            )
        running.procs, running.logs = procs, logs
        _wait(
            "/healthz answers 200",
            lambda: running.request("GET", "/healthz")[0] == 200,
            running,
            120,
        )
        yield running
    finally:
        _stop(procs)
        for fh in logs:
            fh.close()
        deployment.close()
        redis.Redis.from_url(redis_url).flushdb()


# --- the checks (one deployment for all: it takes a minute to set up) --------------------------------------------------------------------------------
def check_healthz_reports_postgresql_redis_and_the_broker(running: Running) -> None:
    status, _, body = running.request("GET", "/healthz")
    checks = json.loads(body)["checks"]
    assert status == 200
    assert checks["database"] == {**checks["database"], "ok": True, "detail": "postgresql"}
    assert checks["cache"]["ok"] is True and "Redis" in checks["cache"]["detail"]
    assert checks["broker"]["ok"] is True and checks["broker"]["detail"] != "inline"


def check_the_web_runs_as_a_gunicorn_master_with_its_workers(running: Running) -> None:
    assert len(_children(running.procs["web"].pid)) == WEB_WORKERS


def check_requests_are_spread_over_the_gunicorn_workers(running: Running) -> None:
    workers = _children(running.procs["web"].pid)
    tag = uuid.uuid4().hex[:10]

    def one(i: int) -> int:
        return running.request("GET", "/healthz", headers={"X-Request-Id": f"{tag}{i}"})[0]

    served: set[int] = set()
    for round_ in range(5):  # concurrent rounds until two workers answered (almost always one)
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(one, range(round_ * 40, round_ * 40 + 40)))
        assert set(statuses) == {200}
        time.sleep(0.3)  # the last lines reach the log file
        lines = [json.loads(x) for x in running.log("web").splitlines() if x.startswith("{")]
        served = {line["pid"] for line in lines if str(line.get("request_id", "")).startswith(tag)}
        if len(served) >= 2:
            break
    assert served <= workers
    assert len(served) >= 2, f"every request was answered by {served} of {workers}"


def check_an_appeal_submitted_on_the_web_is_texted_by_the_celery_worker(running: Running) -> None:
    body = {
        "title": "小区路灯不亮",
        "text": "幸福路三号小区门口的路灯已经坏了两个星期，晚上出行很不安全，请尽快修理。",
        "contact_phone": "13800138077",
    }
    status, _, answer = running.request(
        "POST",
        "/api/appeals/",
        body=json.dumps(body, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex},
    )
    assert status == 201, answer[:500]
    code = json.loads(answer)["code"]
    outbox = running.deployment.root / "sms-outbox" / "outbox.jsonl"

    def texted() -> bool:
        return outbox.exists() and any(
            code in json.loads(line)["message"] for line in outbox.read_text("utf-8").splitlines()
        )

    _wait(f"the text about {code} in the outbox", texted, running)
    # Sent by the worker process, not inline by the web process that queued it.
    assert f"appeal {code}: submit notice sent" in running.log("worker")
    assert "appeals.notify_citizen" in running.log("worker")
    assert f"appeal {code}: submit notice sent" not in running.log("web")
    # The audit trail has the citizen's address from the trusted proxy's X-Forwarded-For.
    rows = running.deployment.query(
        "SELECT host(ip) FROM audit_auditentry WHERE action = 'appeals.submit' AND object_repr LIKE ?",
        (f"%{code}%",),
    )
    assert rows == [(PROXY["X-Forwarded-For"],)]


def check_beat_fires_the_periodic_kpi_rollup_and_the_worker_runs_it(running: Running) -> None:
    def rolled_since_start() -> bool:
        rows = running.deployment.query("SELECT rolled_at FROM kpi_rollupstate WHERE id = 1")
        return bool(rows and rows[0][0] is not None and rows[0][0].timestamp() > running.started)

    _wait("kpi.rollup run after beat started", rolled_since_start, running)
    assert "Sending due task kpi.rollup" in running.log("beat")
    assert re.search(r"Task kpi\.rollup\[[\w-]+\] succeeded", running.log("worker"))


def check_static_files_have_hashed_names_long_cache_and_compressed_variants(
    running: Running,
) -> None:
    status, _, page = running.request("GET", "/")
    assert status == 200
    names = HASHED_STATIC.findall(page.decode())
    assert names, "the portal page links no hashed static file"
    name = names[0]
    status, headers, body = running.request("GET", name, headers={"Accept-Encoding": "gzip, br"})
    assert status == 200
    # gzip always; brotli too where the optional ``brotli`` package is installed.
    assert headers.get("content-encoding") in {"gzip", "br"}
    assert f"max-age={TEN_YEARS}" in headers["cache-control"]
    assert "immutable" in headers["cache-control"]
    assert "accept-encoding" in headers.get("vary", "").lower()
    status, headers, plain = running.request("GET", name)
    assert status == 200 and "content-encoding" not in headers
    assert len(body) < len(plain)
    # The unhashed original may change under the same name: cached briefly, not for ever.
    original = re.sub(r"\.[0-9a-f]{12}(\.\w+)$", r"\1", name)
    status, headers, _ = running.request("GET", original)
    assert status == 200 and "immutable" not in headers["cache-control"]


# --- nginx in front, with deploy/nginx/minsheng.conf -------------------------------------------
NGINX_CONF = REPO / "deploy" / "nginx" / "minsheng.conf"


def _nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Proxy:
    http_port: int
    https_port: int

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # our own throw-away certificate
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.https_port, timeout=30, context=context
        )
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            conn.close()


@contextlib.contextmanager
def nginx_in_front(running: Running, binary: str) -> Iterator[Proxy]:
    """deploy/nginx/minsheng.conf in front of the running web process: only its ports, paths,
    certificate and upstream address are replaced."""
    folder = running.deployment.root / "nginx"
    folder.mkdir()
    cert, key = _self_signed(folder)
    static = running.deployment.root / "static"
    # nginx's workers drop to an unprivileged user: let it reach the static files (only those).
    running.deployment.root.chmod(0o711)
    proxy = Proxy(http_port=free_port(), https_port=free_port())
    site = NGINX_CONF.read_text(encoding="utf-8")
    replacements = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{running.port};",
        "listen 80;": f"listen 127.0.0.1:{proxy.http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{proxy.https_port} ssl http2;",
        "/etc/ssl/minsheng/fullchain.pem": str(cert),
        "/etc/ssl/minsheng/privkey.pem": str(key),
        "/var/lib/minsheng/static/": f"{static}/",
    }
    for old, new in replacements.items():
        assert old in site, f"deploy/nginx/minsheng.conf no longer has {old!r}"
        site = site.replace(old, new)
    temp = {
        f"{kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    }
    (folder / "nginx.conf").write_text(
        f"pid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\ndaemon off;\n"
        "worker_processes 1;\nevents { worker_connections 256; }\n"
        f"http {{\n include /etc/nginx/mime.types;\n access_log {folder / 'access.log'};\n"
        + "\n".join(sorted(temp))
        + f"\n{site}\n}}\n",
        encoding="utf-8",
    )
    log = (folder / "nginx.out").open("ab")
    proc = subprocess.Popen(
        [
            binary,
            "-p",
            str(folder),
            "-c",
            str(folder / "nginx.conf"),
            "-e",
            str(folder / "error.log"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise AssertionError(
                    f"nginx exited ({proc.returncode}):\n"
                    + (folder / "error.log").read_text(errors="replace")[-2000:]
                    + (folder / "nginx.out").read_text(errors="replace")[-2000:]
                )
            with contextlib.suppress(OSError, ssl.SSLError):
                if proxy.request("GET", "/healthz")[0] == 200:
                    break
            assert time.monotonic() < deadline, "nginx did not answer within 20 s"
            time.sleep(0.2)
        yield proxy
    finally:
        _stop({"nginx": proc})
        log.close()


def check_nginx_serves_hashed_static_files_itself_compressed_and_cached_for_a_year(
    running: Running, nginx: Proxy
) -> None:
    _, _, page = nginx.request("GET", "/")
    name = HASHED_STATIC.findall(page.decode())[0]
    status, headers, body = nginx.request("GET", name, headers={"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["content-encoding"] == "gzip" and body[:2] == b"\x1f\x8b"  # the .gz copy
    # nginx's own header (WhiteNoise in the web process would say max-age=315360000, public, …).
    assert headers["cache-control"] == "public, max-age=31536000, immutable"


def check_nginx_redirects_plain_http_and_passes_the_headers_minsheng_trusts(
    running: Running, nginx: Proxy
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", nginx.http_port, timeout=10)
    conn.request("GET", "/track/")
    response = conn.getresponse()
    assert response.status == 301 and response.getheader("Location", "").startswith("https://")
    conn.close()
    body = {"title": "噪音扰民", "text": "夜间工地施工噪音很大，影响休息，希望有关部门管一管。"}
    status, headers, answer = nginx.request(
        "POST",
        "/api/appeals/",
        # A client's own forwarded headers: nginx replaces them with what it saw.
        headers={"Content-Type": "application/json", "X-Forwarded-For": "203.0.113.9"},
        body=json.dumps(body, ensure_ascii=False).encode(),
    )
    assert status == 201, answer[:300]
    code = json.loads(answer)["code"]
    rows = running.deployment.query(
        "SELECT host(ip), request_id FROM audit_auditentry WHERE action = 'appeals.submit' "
        "AND object_repr LIKE ?",
        (f"%{code}%",),
    )
    # nginx's own view of the client (127.0.0.1 here), and nginx's request id end to end.
    assert rows == [("127.0.0.1", headers["x-request-id"])]


CHECKS: tuple[Callable[[Running], None], ...] = (
    check_healthz_reports_postgresql_redis_and_the_broker,
    check_the_web_runs_as_a_gunicorn_master_with_its_workers,
    check_requests_are_spread_over_the_gunicorn_workers,
    check_an_appeal_submitted_on_the_web_is_texted_by_the_celery_worker,
    check_beat_fires_the_periodic_kpi_rollup_and_the_worker_runs_it,
    check_static_files_have_hashed_names_long_cache_and_compressed_variants,
)
NGINX_CHECKS: tuple[Callable[[Running, Proxy], None], ...] = (
    check_nginx_serves_hashed_static_files_itself_compressed_and_cached_for_a_year,
    check_nginx_redirects_plain_http_and_passes_the_headers_minsheng_trusts,
)


def test_the_procfile_deployment_serves_queues_schedules_and_caches_as_documented() -> None:
    """One test, one deployment: under pytest-xdist separate tests could land on two workers and
    start two deployments side by side. Every check runs; the failure lists each one that failed."""
    failures: list[str] = []

    def attempt(check: Callable[..., None], *args: Any) -> None:
        try:
            check(*args)
        except Exception as exc:  # each check's failure is reported; the others still run
            failures.append(f"{check.__name__}: {type(exc).__name__}: {exc}")

    with deployment_running() as running:
        for check in CHECKS:
            attempt(check, running)
        binary = _nginx_binary()
        if binary is not None:
            with nginx_in_front(running, binary) as proxy:
                for nginx_check in NGINX_CHECKS:
                    attempt(nginx_check, running, proxy)
        elif os.environ.get("CI") == "true":
            failures.append("CI=true but nginx is not installed (.ci/run installs it with apt-get)")
        else:
            warnings.warn(
                "nginx is not installed: deploy/nginx/minsheng.conf was not exercised", stacklevel=1
            )
    assert not failures, "\n\n".join(failures)
