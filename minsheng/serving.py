"""Production serving: the trusted-proxy rule as a WSGI wrapper and gunicorn run from ``serve``.

``minsheng serve`` has two servers. waitress (one process, N threads) is the embedded default and
the fallback where gunicorn cannot run (it needs ``fork``: not on Windows). ``--workers N`` on a
POSIX system runs gunicorn instead: N forked worker processes with ``--threads`` threads each
(``gthread``), so the Python work of requests spreads over every core instead of sharing one GIL.

Behind a proxy the application must see the citizen's address as ``REMOTE_ADDR`` (the audit trail,
rate limits) and the proxy's ``X-Forwarded-Proto`` (production redirects plain HTTP). waitress does
that with ``trusted_proxy``; for gunicorn ``TrustedProxy`` below does the same: from the trusted
address the last ``X-Forwarded-For`` hop becomes ``REMOTE_ADDR`` and the forwarded headers are
believed; from anyone else the forwarded headers are dropped.

The in-process periodic jobs (only without a broker) must run once, not once per worker: every
worker waits on an exclusive lock on a file in ``DATA_DIR`` in a background thread, and the one
that holds it runs them; when that worker dies the lock passes to another.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

log = logging.getLogger(__name__)

FORWARDED_KEYS = (
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@contextlib.contextmanager
def static_files_lock(*, exclusive: bool) -> Iterator[None]:
    """The lock on ``STATIC_ROOT`` shared by the servers of one ``DATA_DIR``.

    collectstatic holds it exclusively: two hashed-manifest runs at once delete and rewrite each
    other's files half-way. Loading the application holds it shared: WhiteNoise lists and stats
    every file under ``STATIC_ROOT`` once, at start, and a file that another server's
    collectstatic replaces in between makes that start fail (a restarted server beside a
    starting one did exactly that).
    """
    from django.conf import settings

    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    with (settings.DATA_DIR / "collectstatic.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield


def collect_static() -> None:
    """collectstatic under the exclusive static-files lock."""
    from django.core.management import call_command

    with static_files_lock(exclusive=True):
        call_command("collectstatic", interactive=False, verbosity=0)


def load_application() -> WSGIApp:
    """Django's WSGI application, built while no collectstatic rewrites ``STATIC_ROOT``."""
    with static_files_lock(exclusive=False):
        from minsheng.wsgi import application

    app: WSGIApp = application
    return app


class TrustedProxy:
    """Believe the forwarded headers only from ``proxies``; elsewhere drop them."""

    def __init__(self, app: WSGIApp, proxies: Iterable[str]) -> None:
        self.app = app
        self.proxies = frozenset(p.strip() for p in proxies if p.strip())

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("REMOTE_ADDR") in self.proxies:
            forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
            if forwarded:
                # The proxy appends the address it saw last: that hop is the one it vouches for.
                last = forwarded.rsplit(",", 1)[-1].strip()
                if last:
                    environ["REMOTE_ADDR"] = last
            scheme = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",", 1)[0].strip().lower()
            if scheme in ("http", "https"):
                environ["wsgi.url_scheme"] = scheme
            host = environ.get("HTTP_X_FORWARDED_HOST", "").split(",", 1)[0].strip()
            if host:
                # The name the citizen's browser used (CSRF compares it with Origin).
                port = environ.get("HTTP_X_FORWARDED_PORT", "").split(",", 1)[0].strip()
                default = "443" if environ["wsgi.url_scheme"] == "https" else "80"
                if port and port != default and ":" not in host:
                    host = f"{host}:{port}"
                environ["HTTP_HOST"] = host
                environ["SERVER_NAME"] = host.rsplit(":", 1)[0] if ":" in host else host
                environ["SERVER_PORT"] = port or default
        else:
            for key in FORWARDED_KEYS:
                environ.pop(key, None)
        return self.app(environ, start_response)


def start_vote_batcher() -> bool:
    """In a serving process on PostgreSQL: group-commit the votes (exemplars/batcher.py), unless
    ``MINSHENG_VOTE_BATCH=0``. Started here, not on import, so a test that imports the WSGI
    application gets no writer thread holding a database connection."""
    import os

    from django.db import connection

    from minsheng.fastpath import OFF

    if connection.vendor != "postgresql":
        return False
    if os.environ.get("MINSHENG_VOTE_BATCH", "1").strip().lower() in OFF:
        return False
    from exemplars import batcher

    batcher.start()
    return True


def start_background_jobs() -> list[str]:
    """Start the periodic jobs and the 舆情 source poller if this process should run them."""
    from minsheng import periodic
    from sources import scheduler as sources_scheduler

    started = []
    if periodic.start() is not None:
        started.append("periodic jobs (deadline sweep, KPI rollup, 舆情 tasks, vote checks)")
    if sources_scheduler.start() is not None:
        started.append("舆情 source polling (MINSHENG_SOURCES_POLL)")
    return started


def _background_jobs_under_lock() -> None:
    from django.conf import settings

    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    # Held open for the life of the worker: the kernel releases the lock when the process dies.
    lock = (settings.DATA_DIR / "background-jobs.lock").open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    for what in start_background_jobs():
        log.info("%s run in this worker", what)
    threading.Event().wait()  # keep the file (and the lock) referenced


def run_gunicorn(
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    trusted_proxy: str | None,
) -> None:
    """Serve with gunicorn: ``workers`` forked processes of ``threads`` threads each."""
    from gunicorn.app.base import BaseApplication

    def load() -> WSGIApp:
        app = load_application()
        return TrustedProxy(app, [trusted_proxy]) if trusted_proxy else TrustedProxy(app, [])

    def post_worker_init(worker: Any) -> None:  # after the worker loaded Django
        start_vote_batcher()
        threading.Thread(
            target=_background_jobs_under_lock, name="minsheng-background-lock", daemon=True
        ).start()

    options: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "proc_name": "minsheng",
        # The forwarded headers are judged by TrustedProxy, not by gunicorn.
        "forwarded_allow_ips": "",
        "secure_scheme_headers": {},
        "keepalive": 75,
        "timeout": 60,
        "graceful_timeout": 20,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "post_worker_init": post_worker_init,
    }

    class Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> WSGIApp:
            return load()

    Gunicorn().run()
