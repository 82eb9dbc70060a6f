"""HTTP for the source plug-ins: one polite client.

* a clear User-Agent naming minsheng, so site owners know who calls and can write robots rules;
* a per-host minimum interval between requests, kept in the Django cache so every process and
  worker sharing the cache (Redis at scale) waits its turn;
* robots.txt read once per host and kept in the cache for an hour (RFC 9309: a missing file allows
  everything, an unreachable one forbids everything for now);
* retries with exponential backoff and jitter on 5xx answers, timeouts and dropped connections;
* redirects followed by hand so loops are caught and named, at most ``MAX_REDIRECTS`` hops;
* a total time limit per request and a byte limit: the body is read in chunks and reading stops
  at the limit, so a huge page costs at most the limit.

urllib3 is used directly (it is already installed through trafilatura); certificates are checked.
"""

from __future__ import annotations

import logging
import random
import time
import urllib.robotparser
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError, ProtocolError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from sources.plugins.base import FetchError

log = logging.getLogger("minsheng.sources")

ROBOTS_AGENT = "minsheng"
USER_AGENT = "minsheng/0.1 (public-opinion monitor of the Minsheng government platform; robots token: minsheng)"
MAX_REDIRECTS = 5
RETRY_STATUSES = frozenset({500, 502, 503, 504})
ROBOTS_TTL = 3600
ROBOTS_DENY_TTL = 300
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    timeout: float = 20.0  # seconds for one request, connect to last byte
    max_bytes: int = 5 * 1024 * 1024
    retries: int = 2  # extra attempts after the first on 5xx, timeout or dropped connection
    backoff: float = 1.0  # seconds before the first retry; doubled each time, plus jitter
    host_interval: float = 2.0  # minimum seconds between two requests to one host
    max_host_wait: float = 60.0  # give up waiting for a host's turn after this long


def limits() -> Limits:
    """The limits in force: ``SOURCES_HTTP`` in settings overrides the defaults field by field."""
    from django.conf import settings

    overrides = getattr(settings, "SOURCES_HTTP", {}) or {}
    return Limits(**overrides)


@dataclass
class Response:
    url: str  # the final address after redirects
    status: int
    headers: Mapping[str, str]
    body: bytes
    redirects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


_pool: urllib3.PoolManager | None = None


def _manager() -> urllib3.PoolManager:
    global _pool
    if _pool is None:
        _pool = urllib3.PoolManager(num_pools=50, maxsize=4, retries=False)
    return _pool


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return (parts.hostname or "").lower() + (f":{parts.port}" if parts.port else "")


def wait_for_host(host: str, interval: float, max_wait: float) -> None:
    """Block until this process may call ``host``: at most one request per ``interval`` seconds
    across every process sharing the cache. A short cache lock makes read-and-set atomic."""
    from django.core.cache import cache

    if interval <= 0:
        return
    deadline = time.monotonic() + max_wait
    lock_key, next_key = f"sources:host:{host}:lock", f"sources:host:{host}:next"
    while True:
        if cache.add(lock_key, "1", timeout=10):
            try:
                now = time.time()
                allowed = float(cache.get(next_key) or 0.0)
                if allowed <= now:
                    cache.set(next_key, now + interval, timeout=int(interval) + 60)
                    return
                pause = allowed - now
            finally:
                cache.delete(lock_key)
        else:
            pause = 0.05
        if time.monotonic() + pause > deadline:
            raise FetchError(
                "timeout", f"waited more than {max_wait:.0f} s for a turn to call {host}"
            )
        time.sleep(pause)


def _read(resp: urllib3.BaseHTTPResponse, url: str, max_bytes: int, deadline: float) -> bytes:
    length = resp.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        resp.release_conn()
        raise FetchError(
            "too_large", f"{url} announces {int(length)} bytes, over the limit of {max_bytes}"
        )
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            # read1 returns what has arrived, so the total deadline is checked even when a
            # server trickles a few bytes at a time.
            chunk = resp.read1(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(
                    "too_large", f"{url} is larger than the limit of {max_bytes} bytes; cut off"
                )
            if time.monotonic() > deadline:
                raise FetchError("timeout", f"{url} did not finish sending in time")
            chunks.append(chunk)
    finally:
        resp.release_conn()
    return b"".join(chunks)


def _once(
    url: str, headers: Mapping[str, str], lim: Limits, deadline: float
) -> tuple[int, dict[str, str], bytes, str | None]:
    """One request, no redirect followed. Returns (status, headers, body, location)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError("timeout", f"no time left to call {url}")
    wait_for_host(host_of(url), lim.host_interval, min(lim.max_host_wait, left))
    left = max(0.1, deadline - time.monotonic())
    try:
        resp = _manager().request(
            "GET",
            url,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate", **headers},
            redirect=False,
            preload_content=False,
            timeout=urllib3.Timeout(connect=min(10.0, left), read=left),
        )
    except NewConnectionError as exc:  # before the timeout: urllib3 makes it a subclass of one
        raise FetchError("unreachable", f"{url} cannot be reached: {exc}") from exc
    except Urllib3Timeout as exc:
        raise FetchError("timeout", f"{url} did not answer in time ({exc})") from exc
    except (OSError, ProtocolError, Urllib3Error) as exc:
        raise FetchError("unreachable", f"{url} cannot be reached: {exc}") from exc
    lowered = {k.lower(): v for k, v in resp.headers.items()}
    if 300 <= resp.status < 400 and resp.status != 304:
        resp.drain_conn()
        resp.release_conn()
        return resp.status, lowered, b"", lowered.get("location")
    try:
        body = _read(resp, url, lim.max_bytes, deadline)
    except (TimeoutError, Urllib3Timeout) as exc:
        raise FetchError("timeout", f"{url} stopped sending before the end ({exc})") from exc
    except (ProtocolError, Urllib3Error) as exc:
        raise FetchError("unreachable", f"{url} broke off while sending: {exc}") from exc
    return resp.status, lowered, body, None


def get(
    url: str, *, headers: Mapping[str, str] | None = None, lim: Limits | None = None
) -> Response:
    """GET ``url`` politely. Returns any final status (2xx, 304, 4xx) as a Response; raises
    FetchError for what cannot give an answer (unreachable, timeout, too large, redirect loop)
    and for 5xx still failing after the retries."""
    lim = lim or limits()
    if urlsplit(url).scheme not in {"http", "https"}:
        raise FetchError("bad_config", f"{url!r} is not an http(s) address")
    hops: list[str] = []
    current = url
    attempt = 0
    deadline = time.monotonic() + lim.timeout * (lim.retries + 1)
    while True:
        try:
            status, head, body, location = _once(
                current, headers or {}, lim, min(deadline, time.monotonic() + lim.timeout)
            )
        except FetchError as exc:
            if exc.reason not in {"timeout", "unreachable"} or attempt >= lim.retries:
                raise
            attempt += 1
            _pause(attempt, lim, deadline, None)
            continue
        if location is not None:
            target = urljoin(current, location)
            if target in hops or target == current:
                raise FetchError(
                    "redirect_loop",
                    f"{url} redirects in a loop: {' → '.join([*hops, current, target])}",
                )
            hops.append(current)
            if len(hops) > MAX_REDIRECTS:
                raise FetchError(
                    "redirect_loop", f"{url} redirects more than {MAX_REDIRECTS} times"
                )
            current = target
            continue
        if status in RETRY_STATUSES and attempt < lim.retries:
            attempt += 1
            _pause(attempt, lim, deadline, head.get("retry-after"))
            continue
        if status >= 500:
            raise FetchError(
                "http_error",
                f"{current} answered {status} after {attempt + 1} attempt(s)",
                status=status,
            )
        return Response(current, status, head, body, hops)


def _pause(attempt: int, lim: Limits, deadline: float, retry_after: str | None) -> None:
    delay = lim.backoff * 2 ** (attempt - 1)
    delay += random.uniform(0, delay / 2)  # jitter: many sources failing together spread out
    if retry_after and retry_after.isdigit():
        delay = max(delay, min(float(retry_after), 60.0))
    if time.monotonic() + delay > deadline:
        raise FetchError("timeout", f"no time left for retry {attempt} within the time limit")
    time.sleep(delay)


# --- robots.txt ---------------------------------------------------------------------------------
def robots_allows(url: str, lim: Limits | None = None) -> bool:
    """Whether robots.txt of ``url``'s host lets ``minsheng`` fetch it (cached per host)."""
    from django.core.cache import cache

    parts = urlsplit(url)
    root = f"{parts.scheme}://{parts.netloc}"
    key = f"sources:robots:{root}"
    rules = cache.get(key)
    if rules is None:
        rules = _load_robots(root, lim)
        # An unreachable robots.txt is asked again soon: the outage is likely short.
        cache.set(key, rules, timeout=ROBOTS_DENY_TTL if rules == "deny" else ROBOTS_TTL)
    if rules == "allow":
        return True
    if rules == "deny":
        return False
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(rules.splitlines())
    return parser.can_fetch(ROBOTS_AGENT, url)


def _load_robots(root: str, lim: Limits | None) -> str:
    """robots.txt text, or "allow" (absent: 4xx) or "deny" (unreachable or 5xx) per RFC 9309."""
    base = lim or limits()
    small = Limits(
        timeout=min(base.timeout, 10.0),
        max_bytes=512 * 1024,
        retries=0,
        backoff=base.backoff,
        host_interval=base.host_interval,
        max_host_wait=base.max_host_wait,
    )
    try:
        resp = get(f"{root}/robots.txt", lim=small)
    except FetchError as exc:
        log.info("robots.txt of %s unavailable (%s): fetching nothing there for now", root, exc)
        return "deny"
    if 400 <= resp.status < 500:
        return "allow"
    if resp.status != 200:
        return "deny"
    return resp.body.decode("utf-8", errors="replace")
