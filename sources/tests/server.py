"""A real HTTP server on 127.0.0.1 for the source tests, with behaviour each test sets per path.

``Site.route(path, handler)`` installs a handler ``(request) -> Reply``; ``Site.requests`` records
what arrived (path, headers, monotonic time) so tests can check conditional GETs, the User-Agent,
the per-host interval and how many retries were made.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the headers
    trickle: float = 0.0  # seconds between 1 KiB chunks of the body
    length: bool = True  # send Content-Length (False: close-delimited body)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    at: float


Handler = Callable[[Seen], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up early (timeouts, byte limits) is what the tests provoke


class Site:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Seen] = []
        site = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                seen = Seen(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, time.monotonic()
                )
                site.requests.append(seen)
                handler = site.routes.get(self.path)
                reply = handler(seen) if handler else Reply(404, b"not found")
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if reply.length:
                        self.send_header("Content-Length", str(len(reply.body)))
                    else:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    self.end_headers()
                    if reply.trickle:
                        for start in range(0, len(reply.body), 1024):
                            self.wfile.write(reply.body[start : start + 1024])
                            self.wfile.flush()
                            time.sleep(reply.trickle)
                    else:
                        self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout, byte limit): that is the point

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, handler: Handler | Reply) -> None:
        if isinstance(handler, Reply):
            reply = handler

            def fixed(_seen: Seen) -> Reply:
                return reply

            self.routes[path] = fixed
        else:
            self.routes[path] = handler

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> Site:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
