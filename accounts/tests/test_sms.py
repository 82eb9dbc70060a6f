from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from accounts import sms


class _Gateway(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]  # set per server
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        self.server.received.append(  # type: ignore[attr-defined]
            {"body": body, "auth": self.headers.get("Authorization"), "path": self.path}
        )
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[HTTPServer]:
    """A real HTTP server on the loopback address, standing in for a vendor's SMS gateway."""
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    server.received = []  # type: ignore[attr-defined]
    server.status = 200  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_http_gateway_posts_json_with_the_api_key(gateway: HTTPServer) -> None:
    url = f"http://127.0.0.1:{gateway.server_port}/send"
    sms.HttpGatewayBackend(url=url, api_key="k-123").send("13912345678", "验证码 123456")
    assert gateway.received == [  # type: ignore[attr-defined]
        {
            "body": {"phone": "13912345678", "message": "验证码 123456"},
            "auth": "Bearer k-123",
            "path": "/send",
        }
    ]


def test_the_http_gateway_reads_its_url_and_key_from_settings(
    gateway: HTTPServer, settings: Any
) -> None:
    settings.SMS_BACKEND = "accounts.sms.HttpGatewayBackend"
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{gateway.server_port}/v1/sms"
    settings.SMS_GATEWAY_API_KEY = "from-settings"
    sms.send("13912345678", "hello")
    assert gateway.received[0]["auth"] == "Bearer from-settings"  # type: ignore[attr-defined]


def test_a_gateway_error_status_raises(gateway: HTTPServer) -> None:
    gateway.status = 500  # type: ignore[attr-defined]
    backend = sms.HttpGatewayBackend(url=f"http://127.0.0.1:{gateway.server_port}/")
    with pytest.raises(sms.SmsError, match="HTTP 500"):
        backend.send("13912345678", "x")


def test_an_unreachable_gateway_raises() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    port = server.server_port
    server.server_close()  # nothing listens on this port now
    backend = sms.HttpGatewayBackend(url=f"http://127.0.0.1:{port}/", timeout=2)
    with pytest.raises(sms.SmsError, match="unreachable"):
        backend.send("13912345678", "x")


def test_the_gateway_needs_an_http_url(settings: Any) -> None:
    settings.SMS_GATEWAY_URL = ""
    with pytest.raises(sms.SmsError):
        sms.HttpGatewayBackend()
    with pytest.raises(sms.SmsError):
        sms.HttpGatewayBackend(url="file:///etc/passwd")


def test_the_console_shows_the_code_and_only_the_masked_number() -> None:
    out = io.StringIO()
    sms.ConsoleBackend(stream=out).send("13912345678", "您的验证码是 654321")
    line = out.getvalue()
    assert "139****5678" in line and "654321" in line
    assert "13912345678" not in line


def test_the_file_backend_appends_json_lines(tmp_path: Path) -> None:
    backend = sms.FileBackend(tmp_path)
    backend.send("13912345678", "一")
    backend.send("13800138000", "二")
    lines = (tmp_path / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["一", "二"]
    assert backend.messages()[1]["phone"] == "13800138000"


def test_the_default_backend_writes_both(settings: Any, tmp_path: Path, capsys: Any) -> None:
    settings.SMS_BACKEND = "accounts.sms.ConsoleAndFileBackend"
    settings.SMS_OUTBOX_DIR = tmp_path
    sms.send("13912345678", "验证码 111222")
    assert "111222" in capsys.readouterr().out
    assert sms.FileBackend(tmp_path).messages()[0]["message"] == "验证码 111222"


def test_a_backend_that_is_not_an_sms_backend_is_refused(settings: Any) -> None:
    settings.SMS_BACKEND = "pathlib.Path"
    with pytest.raises(sms.SmsError, match=r"not an accounts\.sms\.SmsBackend"):
        sms.get_backend()


@pytest.mark.django_db
def test_a_failed_send_frees_the_phone_to_ask_again(settings: Any, gateway: HTTPServer) -> None:
    from django.test import Client

    gateway.status = 503  # type: ignore[attr-defined]
    settings.SMS_BACKEND = "accounts.sms.HttpGatewayBackend"
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{gateway.server_port}/"
    body = json.dumps({"phone": "13912345678"})
    client = Client()
    first = client.post("/api/auth/otp/request", body, content_type="application/json")
    assert first.status_code == 503 and first.json()["code"] == "sms_unavailable"
    gateway.status = 200  # type: ignore[attr-defined]
    second = client.post("/api/auth/otp/request", body, content_type="application/json")
    assert second.status_code == 200
