"""``minsheng serve``'s production servers: the trusted-proxy rule and gunicorn's workers."""

from __future__ import annotations

import http.client
import time
from pathlib import Path
from typing import Any

import pytest

from bench._server import PROXY_HEADERS, Deployment, children
from minsheng.serving import TrustedProxy


def _seen(remote: str, headers: dict[str, str]) -> dict[str, Any]:
    """The environ the application receives behind ``TrustedProxy(…, ["127.0.0.1"])``."""
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        start_response("204 No Content", [])
        return []

    environ: dict[str, Any] = {
        "REMOTE_ADDR": remote,
        "HTTP_HOST": "127.0.0.1:8000",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "wsgi.url_scheme": "http",
    }
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
    TrustedProxy(app, ["127.0.0.1"])(environ, lambda *a: None)
    return seen


def test_behind_the_trusted_proxy_the_citizen_address_scheme_and_host_are_believed() -> None:
    env = _seen(
        "127.0.0.1",
        {
            "X-Forwarded-For": "198.51.100.7, 203.0.113.9",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "minsheng.example.gov.cn",
        },
    )
    assert env["REMOTE_ADDR"] == "203.0.113.9"
    assert env["wsgi.url_scheme"] == "https"
    assert env["HTTP_HOST"] == "minsheng.example.gov.cn"
    assert env["HTTP_X_FORWARDED_PROTO"] == "https"


def test_forwarded_headers_from_anyone_but_the_proxy_are_dropped() -> None:
    env = _seen(
        "198.51.100.7",
        {"X-Forwarded-For": "10.0.0.1", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "x"},
    )
    assert env["REMOTE_ADDR"] == "198.51.100.7"
    assert env["wsgi.url_scheme"] == "http"
    assert env["HTTP_HOST"] == "127.0.0.1:8000"
    assert not any(k.startswith("HTTP_X_FORWARDED_") for k in env)


@pytest.mark.slow
def test_serve_with_workers_runs_gunicorn_processes_and_a_kill_takes_them_all() -> None:
    with Deployment(db="sqlite", servers=1, workers=2, threads=2) as dep:
        dep.prepare()
        dep.start()
        port = dep.ports[0]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/healthz", headers=PROXY_HEADERS)
        assert conn.getresponse().status == 200
        conn.close()
        master = dep.pids()[0]
        # The first worker may answer while gunicorn is still forking the second: wait for it.
        deadline = time.monotonic() + 20
        workers = children(master)
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            workers = children(master)
        assert len(workers) == 2
        dep.kill_server(0)
        deadline = time.monotonic() + 10
        while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_running(pid) for pid in workers)


def _running(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


@pytest.mark.django_db
def test_a_serving_process_group_commits_votes_on_postgresql_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db import connection

    from exemplars import batcher
    from minsheng.serving import start_vote_batcher

    monkeypatch.setenv("MINSHENG_VOTE_BATCH", "0")
    assert start_vote_batcher() is False
    monkeypatch.delenv("MINSHENG_VOTE_BATCH")
    started = start_vote_batcher()
    try:
        assert started is (connection.vendor == "postgresql")
        assert (batcher.batcher() is not None) is started
    finally:
        batcher.stop()
    assert batcher.batcher() is None


def test_loading_the_application_waits_while_another_server_collects_the_static_files(
    tmp_path: Path, settings: Any
) -> None:
    import threading

    from minsheng.serving import static_files_lock

    settings.DATA_DIR = tmp_path
    entered = threading.Event()

    def load() -> None:
        with static_files_lock(exclusive=False):
            entered.set()

    with static_files_lock(exclusive=True):
        loader = threading.Thread(target=load)
        loader.start()
        # WhiteNoise would list STATIC_ROOT now, half-rewritten: the loader must still wait.
        assert not entered.wait(0.5)
    assert entered.wait(10)
    loader.join()
