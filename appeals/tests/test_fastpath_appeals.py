"""The anonymous submission's fast path (minsheng/fastpath_appeals.py) answers and stores exactly
as the full stack does; and an intake's rows, written with plain SQL, are the rows ``save()``
would write.

Each request goes over WSGI, as a server would send it: once to the full Django stack and once to
the fast path in front of it, and the answers are compared (status, body, header names and values
but the request id) and then the rows each left behind.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, connection
from django.test import override_settings

from appeals import services
from appeals.models import Appeal, AppealEvent, IdempotencyKey
from audit.models import AuditEntry
from audit.verify import verify_chain
from minsheng import fastpath_appeals
from minsheng.fastpath import REVIEWED_MIDDLEWARE
from search.models import AppealIndex

pytestmark = pytest.mark.django_db

BODY = {
    "text": "小区门口人行道被占道经营的摊位堵死，老人只能走机动车道。",
    "title": "人行道被摊位占用",
    "category": "test-street-vending",
    "address": "东华路 8 号",
    "lat": 39.915123,
    "lng": 116.404321,
    "contact_name": "王女士",
    "contact_phone": "+86 139-0013-9001",
}
# Different per answer: the request id, the new appeal's identity, its tracking secret.
VARYING_HEADERS = {"X-Request-Id", "Content-Length"}
VARYING_FIELDS = {"id", "code", "secret", "created"}


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """As Django's test client does: the request signals must not close the connection that
    holds the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def apps() -> tuple[WSGIHandler, fastpath_appeals.FastAppeals]:
    django_app = WSGIHandler()
    fast = fastpath_appeals.FastAppeals(django_app)
    assert fast.enabled
    return django_app, fast


def _call(
    app: Any,
    body: dict[str, Any] | bytes,
    *,
    key: str | None = None,
    language: str = "",
    **extra: str,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/appeals/",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "203.0.113.9",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(raw),
        "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": "application/json",
        "HTTP_USER_AGENT": "Mozilla/5.0 (iPhone)",
        "HTTP_ACCEPT_LANGUAGE": language,
        **extra,
    }
    if key is not None:
        environ["HTTP_IDEMPOTENCY_KEY"] = key
    seen: list[Any] = []
    chunks = app(environ, lambda status, headers, *exc: seen.append((status, headers)))
    content = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    status, headers = seen[0]
    return int(status.split()[0]), dict(headers), json.loads(content)


def _same_answer(
    slow: tuple[int, dict[str, str], dict[str, Any]],
    fast: tuple[int, dict[str, str], dict[str, Any]],
) -> None:
    assert slow[0] == fast[0]
    assert set(slow[1]) == set(fast[1])
    assert {k: v for k, v in slow[1].items() if k not in VARYING_HEADERS} == {
        k: v for k, v in fast[1].items() if k not in VARYING_HEADERS
    }
    assert {k: v for k, v in slow[2].items() if k not in VARYING_FIELDS} == {
        k: v for k, v in fast[2].items() if k not in VARYING_FIELDS
    }
    assert set(slow[2]) == set(fast[2])


def _stored(answer: tuple[int, dict[str, str], dict[str, Any]]) -> dict[str, Any]:
    """Everything an intake leaves behind, minus what differs between two appeals by nature."""
    appeal = Appeal.objects.get(code=answer[2]["code"])
    row: dict[str, Any] = dict(Appeal.objects.filter(pk=appeal.pk).values().get())
    for name in ("id", "code", "secret_hash", "created", "updated", "contact_phone"):
        row.pop(name)
    events = list(
        AppealEvent.objects.filter(appeal=appeal).values(
            "action", "from_state", "to_state", "actor_id", "unit_id", "reason", "data"
        )
    )
    keys = list(
        IdempotencyKey.objects.filter(appeal=appeal).values("scope", "request_hash", "actor_id")
    )
    entry = AuditEntry.objects.get(object_type="appeals.appeal", object_id=str(appeal.pk))
    assert entry.request_id == answer[1]["X-Request-Id"]
    assert entry.after is not None and entry.after.pop("code") == appeal.code
    return {
        "appeal": row,
        "phone": appeal.contact_phone,  # decrypted
        "events": events,
        "keys": keys,
        "audit": (entry.action, entry.actor_id, entry.after, entry.ip, entry.reason),
        "indexed": AppealIndex.objects.filter(appeal=appeal).exists(),
    }


def test_a_submission_through_the_fast_path_is_answered_and_stored_as_through_the_full_stack(
    category_tree: Any, apps: Any
) -> None:
    full, fast = apps
    slow = _call(full, BODY, key="first-key")
    quick = _call(fast, BODY, key="second-key")
    assert slow[0] == 201, slow[2]
    _same_answer(slow, quick)
    assert _stored(slow) == _stored(quick)
    assert _stored(quick)["indexed"] and _stored(quick)["phone"] == "13900139001"
    assert verify_chain().ok


@pytest.mark.parametrize("language", ["", "en"])
def test_a_retry_is_replayed_and_a_reused_key_refused_as_by_the_full_stack(
    category_tree: Any, apps: Any, language: str
) -> None:
    full, fast = apps
    answers = {}
    for name, app in (("full", full), ("fast", fast)):
        first = _call(app, BODY, key=f"key-{name}", language=language)
        again = _call(app, BODY, key=f"key-{name}", language=language)
        assert (first[0], again[0]) == (201, 200)
        assert again[2] == first[2]
        other = _call(app, {**BODY, "text": "别的内容"}, key=f"key-{name}", language=language)
        assert other[0] == 409
        # The refusal names the appeal stored under the key: each path's own first appeal.
        assert other[2]["detail"].pop("appeal") == first[2]["code"]
        answers[name] = (again, other)
    _same_answer(answers["full"][0], answers["fast"][0])
    _same_answer(answers["full"][1], answers["fast"][1])
    assert Appeal.objects.count() == 2


@pytest.mark.parametrize(
    "change",
    [
        {"category": "no-such-category"},  # refused by the service: the fast path's 422
        {"text": "   "},  # refused by the service
        {"contact_phone": "12345"},  # refused by the schema: Django's 422
        {"text": ""},
        {"lat": "north"},
        {"channel": "hotline"},  # only agents and cadres name a channel: Django's 401/403
    ],
)
def test_a_refused_submission_gets_the_full_stacks_answer_and_writes_nothing(
    category_tree: Any, apps: Any, change: dict[str, Any]
) -> None:
    full, fast = apps
    before = (Appeal.objects.count(), AuditEntry.objects.count())
    slow = _call(full, {**BODY, **change})
    quick = _call(fast, {**BODY, **change})
    assert 400 <= slow[0] < 500
    assert slow[:1] + slow[2:] == quick[:1] + quick[2:]
    assert {k: v for k, v in slow[1].items() if k not in VARYING_HEADERS} == {
        k: v for k, v in quick[1].items() if k not in VARYING_HEADERS
    }
    assert (Appeal.objects.count(), AuditEntry.objects.count()) == before


@pytest.mark.parametrize(
    "request_extra",
    [
        {"HTTP_COOKIE": "sessionid=nosuchsession"},
        {"HTTP_AUTHORIZATION": "Bearer not-a-token"},
        {"HTTP_HOST": "evil.example"},
    ],
)
def test_an_unusual_request_is_answered_by_the_full_stack(
    category_tree: Any, apps: Any, request_extra: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    full, fast = apps
    slow = _call(full, BODY, **request_extra)
    with caplog.at_level("INFO", logger="minsheng.access"):
        quick = _call(fast, BODY, **request_extra)
    assert slow[0] == quick[0]
    assert {k: v for k, v in slow[2].items() if k not in VARYING_FIELDS} == {
        k: v for k, v in quick[2].items() if k not in VARYING_FIELDS
    }
    # The access line was written by the full stack's middleware, not by the fast path.
    lines = [r for r in caplog.records if r.name == "minsheng.access"]
    assert lines and all(r.module == "middleware" for r in lines)


def test_a_body_that_is_not_json_gets_the_full_stacks_answer(category_tree: Any, apps: Any) -> None:
    full, fast = apps
    slow = _call(full, b"{not json")
    quick = _call(fast, b"{not json")
    assert (slow[0], slow[2]) == (quick[0], quick[2]) and slow[0] >= 400


@override_settings(APPEAL_API_SUBMITS_PER_IP_PER_HOUR=1)
def test_the_hourly_budget_is_spent_and_refused_alike_on_both_paths(
    category_tree: Any, apps: Any
) -> None:
    from django.core.cache import cache

    full, fast = apps
    answers = {}
    for name, app in (("full", full), ("fast", fast)):
        cache.clear()
        first = _call(app, BODY)
        second = _call(app, BODY)
        assert (first[0], second[0]) == (201, 429)
        answers[name] = second
    assert answers["full"][2] == answers["fast"][2]
    assert answers["full"][1]["Retry-After"] == answers["fast"][1]["Retry-After"]
    assert Appeal.objects.count() == 2


def test_the_fast_path_is_off_when_the_middleware_differs_or_it_is_switched_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with override_settings(MIDDLEWARE=[*REVIEWED_MIDDLEWARE[:-1]]):
        assert not fastpath_appeals.FastAppeals(WSGIHandler()).enabled
    monkeypatch.setenv("MINSHENG_FAST_APPEALS", "0")
    assert not fastpath_appeals.FastAppeals(WSGIHandler()).enabled


# --- the rows of an intake ---------------------------------------------------------------------
def test_an_intake_stores_the_rows_save_would_have_stored(category_tree: Any) -> None:
    submission = services.Submission(
        text="东华路菜市场门口\u202e长期有流动摊贩占道经营。",
        category=category_tree.street_vending,
        address="东华路 12 号",
        contact_name="张先生",
        contact_phone="13900139000",
    )
    appeal, _secret = services.do_submit(None, submission)
    stored = Appeal.objects.filter(pk=appeal.pk).values().get()
    # The same appeal through the ORM, as intake wrote it before (save() and its signals).
    twin = Appeal(
        **{k: v for k, v in stored.items() if k not in ("id", "updated", "code", "text")},
        code="twin",
        text=submission.text,
    )
    twin.save()
    again = Appeal.objects.filter(pk=twin.pk).values().get()
    differ = {"id", "code", "updated", "contact_phone"}
    assert {k: v for k, v in stored.items() if k not in differ} == {
        k: v for k, v in again.items() if k not in differ
    }
    assert "\u202e" not in stored["text"]  # cleaned as the pre_save signal cleans
    assert appeal.contact_phone == Appeal.objects.get(pk=appeal.pk).contact_phone == "13900139000"
    assert appeal.code == stored["code"] and appeal.pk == stored["id"]
    event = AppealEvent.objects.get(appeal=appeal)
    assert (event.action, event.to_state, event.data) == ("submit", "received", {"channel": "web"})
    assert AppealIndex.objects.filter(appeal=appeal).exists()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT document::text FROM search_appealindex WHERE appeal_id = %s", [appeal.pk]
            )
            assert cursor.fetchone()[0]
    assert verify_chain().ok


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the WAL flush is PostgreSQL's")
@pytest.mark.parametrize("eager", [True, False])
def test_the_after_intake_task_is_queued_only_after_the_commits_wal_flush(
    category_tree: Any, eager: bool
) -> None:
    from audit.services import _flush_wal
    from minsheng.celery import app

    app.conf.task_always_eager = eager  # the autouse fixture puts it back
    # The fixtures' audited rows queued a flush in the test's transaction (never committed):
    # forget it, so that the intake's own hooks are all there is.
    connection.run_on_commit.clear()
    services.do_submit(None, services.Submission(text="路灯不亮，晚上走路看不见。"))
    hooks = [entry[1] for entry in connection.run_on_commit]
    # The answer and the task wait for the flush: a task about an appeal a crash could still
    # lose would send the citizen a receipt for nothing.
    assert len(hooks) == 2 and hooks[0] is _flush_wal
