"""Personal data never reaches the logs or the error reports.

Flows that handle a citizen's phone and ID number run with every log record also written to a
file (through the configured handler's filters and formatter) and with the admins' error e-mail
switched on; then the file and every e-mail are searched for the numbers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from appeals.models import Appeal
from minsheng.logs import JsonFormatter, RedactPersonalData

pytestmark = pytest.mark.django_db

PHONE = "13912345678"
ID_NUMBER = "110101199003071234"
SECRETS = (PHONE, ID_NUMBER, "1391234", "19900307")


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Every record of every logger, at DEBUG, into a JSON-lines file as production writes it."""
    target = tmp_path / "minsheng.log"
    handler = logging.FileHandler(target, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactPersonalData())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield target
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        handler.close()


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_intake_sign_in_reveal_and_a_server_error_leave_no_number_in_logs_or_reports(
    log_file: Path, settings: Any, category_tree: Any, dispatcher: Any, tmp_path: Path
) -> None:
    settings.ADMINS = [("运维", "ops@example.gov.cn")]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "accounts.sms.FileBackend"
    settings.SMS_OUTBOX_DIR = tmp_path / "sms"
    settings.ROOT_URLCONF = "tests.security.urls_with_error"
    settings.DEBUG_PROPAGATE_EXCEPTIONS = False

    # 1. Intake through the API and the web form, with the numbers in the fields and the text.
    body = {
        "text": f"我的身份证号 {ID_NUMBER}，电话 {PHONE}，楼下占道经营，噪音很大。",
        "category": "test-street-vending",
        "address": "东华路 8 号",
        "contact_name": "李先生",
        "contact_phone": PHONE,
    }
    created = Client().post("/api/appeals/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    bad = Client().post(
        "/api/appeals/", {**body, "category": f"no-such-{PHONE}"}, content_type="application/json"
    )
    assert bad.status_code == 422

    # 2. A citizen signs in by phone code (a wrong code first).
    client = Client()
    assert client.post(
        "/api/auth/otp/request", {"phone": PHONE}, content_type="application/json"
    ).status_code in {200, 202}
    wrong = client.post(
        "/api/auth/otp/verify", {"phone": PHONE, "code": "000000"}, content_type="application/json"
    )
    assert wrong.status_code == 400
    outbox = "".join(p.read_text() for p in (tmp_path / "sms").glob("*"))
    code = re.findall(r"(?<![0-9])[0-9]{6}(?![0-9])", outbox)[-1]
    signed_in = client.post(
        "/api/auth/otp/verify", {"phone": PHONE, "code": code}, content_type="application/json"
    )
    assert signed_in.status_code == 200, signed_in.content

    # 3. The hotline agent reveals the contact phone (the look goes to the audit trail, not the log).
    appeal = Appeal.objects.get()
    staff = Client()
    staff.force_login(dispatcher)
    revealed = staff.post(
        f"/workbench/appeals/{appeal.pk}/reveal-phone/", {"reveal-purpose": "回访核实诉求办理情况"}
    )
    assert revealed.status_code == 200
    assert PHONE in revealed.content.decode()  # shown to the agent on this page, once

    # 4. A server error whose request, local variables and message all carry the numbers.
    failing = Client(raise_request_exception=False)
    failed = failing.post(f"/test-failure/?phone={PHONE}", {"phone": PHONE, "id_number": ID_NUMBER})
    assert failed.status_code == 500

    logged = log_file.read_text(encoding="utf-8")
    assert "/test-failure/" in logged and "RuntimeError" in logged
    assert "/api/auth/otp/verify" in logged
    assert len(mail.outbox) == 1, "the admins' error e-mail was sent"
    report = mail.outbox[0]
    everything = [str(report.subject), str(report.body)] + [
        str(content) for content, _type in getattr(report, "alternatives", [])
    ]
    assert "RuntimeError" in report.body and "139****5678" in report.body
    found = {"log file": leaks(logged), "error e-mail": leaks("\n".join(everything))}
    assert found == {"log file": [], "error e-mail": []}
