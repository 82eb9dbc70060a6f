"""Notifications of an alert: in-app, e-mail (locmem backend), SMS, and a signed webhook to a
real HTTP server on 127.0.0.1 that fails once before it accepts."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.core import mail
from django.test import override_settings

from opinion import notifications
from opinion.models import Delivery, Notification
from opinion.tests.conftest import T0, replies, viral_post

SECRET = "test-webhook-secret"


class Receiver:
    def __init__(self, fail_first: int = 1) -> None:
        self.fail_first = fail_first
        self.bodies: list[dict[str, Any]] = []
        self.signatures_ok: list[bool] = []
        self.delivery_ids: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.signatures_ok.append(
                    notifications.verify_signature(
                        SECRET, self.headers["X-Minsheng-Signature"], body
                    )
                )
                receiver.delivery_ids.append(self.headers["X-Minsheng-Delivery"])
                receiver.bodies.append(json.loads(body))
                status = 503 if len(receiver.bodies) <= receiver.fail_first else 204
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def _raise_alert(run_ingest: Callable[..., Any]) -> None:
    import datetime as dt

    run_ingest([viral_post()], now=T0)
    run_ingest(replies(), now=T0 + dt.timedelta(minutes=41))


def test_an_alert_reaches_the_analyst_in_app_by_email_and_by_text(
    gazetteer: None, analyst: Any, run_ingest: Callable[..., Any], settings: Any
) -> None:
    from accounts.sms import FileBackend

    settings.OPINION_NOTIFY_CHANNELS = ["inapp", "email", "sms"]
    settings.SMS_BACKEND = "accounts.sms.FileBackend"
    analyst.email = "sun@example.gov.cn"
    analyst.phone = "13900001111"
    analyst.save()
    _raise_alert(run_ingest)
    note = Notification.objects.get(recipient=analyst)
    assert note.title.startswith("较大舆情预警")
    assert note.url.startswith("/workbench/opinion/tasks/")
    [message] = mail.outbox
    assert message.to == ["sun@example.gov.cn"]
    assert "打人" in message.body and "回应须于" in message.body
    texts = [m for m in FileBackend().messages() if m["phone"] == "13900001111"]
    assert texts and "较大舆情预警" in texts[-1]["message"]
    sms = Delivery.objects.get(channel="sms")
    assert sms.ok and sms.target == "139****1111"


def test_a_webhook_is_signed_and_retried_until_it_is_accepted(
    gazetteer: None, analyst: Any, run_ingest: Callable[..., Any], receiver: Receiver
) -> None:
    with override_settings(
        OPINION_NOTIFY_CHANNELS=["webhook"],
        OPINION_WEBHOOKS=[{"url": receiver.url, "secret": SECRET}],
        OPINION_WEBHOOK_BACKOFF=0.01,
    ):
        _raise_alert(run_ingest)
    assert len(receiver.bodies) == 2  # 503, then accepted
    assert receiver.signatures_ok == [True, True]
    assert len(set(receiver.delivery_ids)) == 1  # the receiver can drop the repeat
    body = receiver.bodies[-1]
    assert body["kind"] == "alert"
    assert body["alert"]["grade"] == "较大"
    assert body["task"]["due_full"]
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.ok and delivery.attempts == 2


def test_a_wrong_secret_or_an_old_signature_does_not_verify() -> None:
    body = b'{"kind": "alert"}'
    header = notifications.sign(SECRET, 1_760_000_000, body)
    assert notifications.verify_signature(SECRET, header, body, now=1_760_000_010)
    assert not notifications.verify_signature("other", header, body, now=1_760_000_010)
    assert not notifications.verify_signature(SECRET, header, body + b" ", now=1_760_000_010)
    assert not notifications.verify_signature(SECRET, header, body, now=1_760_009_999)


def test_a_webhook_that_never_answers_is_recorded_and_the_other_channels_still_run(
    gazetteer: None, analyst: Any, run_ingest: Callable[..., Any]
) -> None:
    with (
        Receiver(fail_first=99) as down,
        override_settings(
            OPINION_NOTIFY_CHANNELS=["webhook", "inapp"],
            OPINION_WEBHOOKS=[{"url": down.url, "secret": SECRET}],
            OPINION_WEBHOOK_ATTEMPTS=3,
            OPINION_WEBHOOK_BACKOFF=0.01,
        ),
    ):
        _raise_alert(run_ingest)
    hook = Delivery.objects.get(channel="webhook")
    assert not hook.ok and hook.attempts == 3 and hook.error == "HTTP 503"
    assert Notification.objects.filter(recipient=analyst).count() == 1


def test_an_unsigned_webhook_is_never_sent(
    gazetteer: None, analyst: Any, run_ingest: Callable[..., Any], receiver: Receiver
) -> None:
    with override_settings(
        OPINION_NOTIFY_CHANNELS=["webhook"], OPINION_WEBHOOKS=[{"url": receiver.url, "secret": ""}]
    ):
        _raise_alert(run_ingest)
    assert receiver.bodies == []
    assert Delivery.objects.get(channel="webhook").error == "no webhook secret configured"


def test_an_alert_notice_is_in_the_outbox_at_commit_so_a_crash_right_after_loses_nothing(
    gazetteer: None,
    analyst: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    import datetime as dt

    from minsheng.celery import app
    from minsheng.models import OutboxMessage
    from opinion import ingest, tasks

    eager = app.conf.task_always_eager
    # A broker is configured (not the inline default) ...
    app.conf.task_always_eager = False
    try:
        with django_capture_on_commit_callbacks(execute=False):
            ingest.ingest([viral_post()], now=T0)
            ingest.ingest(replies(), now=T0 + dt.timedelta(minutes=41))
    finally:
        app.conf.task_always_eager = eager
    # ... and the process dies between the commit and the publish: no after-commit work ran.
    [row] = OutboxMessage.objects.filter(name="opinion.notify_alert")
    assert not Notification.objects.exists()
    # The relay hands the stored message to a worker, and the analyst hears of the alert.
    tasks.notify_alert(*row.args, **row.kwargs)
    assert Notification.objects.get(recipient=analyst).title.startswith("较大舆情预警")
