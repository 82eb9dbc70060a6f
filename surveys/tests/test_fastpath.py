"""The anonymous response's fast path (minsheng/fastpath_surveys.py) answers as the full stack.

Each request is sent over WSGI, as a server would: once to the application with the fast path
switched off (``MINSHENG_FAST_SURVEYS=0``: Django's full stack answers) and once with it on, and
the answers are compared — status, body, header names and values (but the request id) — and so
are the rows each left behind. Ordinary responses are taken by the fast path; everything else
must come out exactly as the full stack words it, with nothing stored twice and no budget spent.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import signals
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signing import get_cookie_signer
from django.db import close_old_connections, connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from minsheng import fastpath
from minsheng.fastpath_surveys import FastSurveys
from surveys import services
from surveys.api import DEVICE_COOKIE
from surveys.models import Answer, Response, Tally
from surveys.tests.conftest import Built, build_questionnaire

pytestmark = pytest.mark.django_db
UNSTABLE_HEADERS = {"X-Request-Id", "Content-Length", "Retry-After"}


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    """As Django's test client does: the request signals must not close the connection that
    holds the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_kept_questionnaires() -> Iterator[None]:
    services._ANSWERABLE.clear()
    yield
    services._ANSWERABLE.clear()


@pytest.fixture
def apps(monkeypatch: pytest.MonkeyPatch) -> tuple[FastSurveys, FastSurveys]:
    """(fast path off, fast path on), each in front of its own Django application."""
    monkeypatch.setenv("MINSHENG_FAST_SURVEYS", "0")
    full = FastSurveys(WSGIHandler())
    monkeypatch.setenv("MINSHENG_FAST_SURVEYS", "1")
    fast = FastSurveys(WSGIHandler())
    assert not full.enabled
    assert fast.enabled, fastpath.why_off("MINSHENG_FAST_SURVEYS", sessions=False)
    return full, fast


def device_cookie(raw: str) -> str:
    """The signed device cookie the answering pages set (surveys/api.py device_of)."""
    return get_cookie_signer(salt=DEVICE_COOKIE + "surveys.device").sign(raw)


def call(
    app: Any,
    pk: int,
    body: bytes | dict[str, Any],
    *,
    address: str = "203.0.113.9",
    key: str | None = None,
    cookies: dict[str, str] | None = None,
    language: str = "",
    content_type: str = "application/json",
    authorization: str | None = None,
) -> tuple[int, dict[str, str], Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/api/surveys/{pk}/responses",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": address,
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(raw),
        "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": content_type,
        "HTTP_USER_AGENT": "Mozilla/5.0 (iPhone)",
        "HTTP_ACCEPT_LANGUAGE": language,
    }
    if key is not None:
        environ["HTTP_IDEMPOTENCY_KEY"] = key
    if cookies:
        environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    if authorization:
        environ["HTTP_AUTHORIZATION"] = authorization
    seen: list[Any] = []
    chunks = app(environ, lambda status, headers, *exc: seen.append((status, headers)))
    content = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    status, headers = seen[0]
    return int(status.split()[0]), dict(headers), json.loads(content)


def same_headers(a: dict[str, str], b: dict[str, str]) -> None:
    assert {k: v for k, v in a.items() if k not in UNSTABLE_HEADERS} == {
        k: v for k, v in b.items() if k not in UNSTABLE_HEADERS
    }
    assert set(a) == set(b)


def stored(pk: int) -> dict[str, Any]:
    """What a response left in the database, without what differs by nature (id, time)."""
    response = Response.objects.get(pk=pk)
    return {
        "questionnaire": response.questionnaire_id,
        "respondent": response.respondent_id,
        "device": response.device,
        "answers": response.answers,
        "idem": (response.idem_scope, response.idem_key, response.idem_hash),
        "texts": sorted(Answer.objects.filter(response=response).values_list("question", "text")),
    }


def tallies_of(built: Built) -> dict[tuple[int, str], int]:
    return services.tallies(built.q)


def rows_count() -> tuple[int, int]:
    return Response.objects.count(), Answer.objects.count()


def test_an_ordinary_response_is_answered_and_stored_as_by_the_full_stack(
    built: Built, apps: Any
) -> None:
    full, fast = apps
    answers = built.answers(**{built.concerns.key: ["noise", "cost"]})
    slow = call(full, built.q.pk, {"answers": answers}, key="slow-1")
    before = tallies_of(built)
    with CaptureQueriesContext(connection) as queries:
        quick = call(fast, built.q.pk, {"answers": answers}, key="quick-1")
    # Taken by the fast path: the full stack reads the questionnaire with SELECT * (surveys/api.py).
    assert not any("SELECT *" in q["sql"] for q in queries.captured_queries)
    assert slow[0] == quick[0] == 201
    same_headers(slow[1], quick[1])
    assert set(slow[2]) == set(quick[2]) == {"id", "questionnaire", "submitted_at", "replayed"}
    assert quick[2]["questionnaire"] == built.q.pk and quick[2]["replayed"] is False
    # The same timestamp format: milliseconds, UTC written as Z.
    assert len(slow[2]["submitted_at"]) == len(quick[2]["submitted_at"])
    assert dt.datetime.fromisoformat(quick[2]["submitted_at"]) <= timezone.now()
    a, b = stored(slow[2]["id"]), stored(quick[2]["id"])
    assert a.pop("idem")[:2] == ("anonymous", "slow-1")
    assert b.pop("idem")[:2] == ("anonymous", "quick-1")
    assert a == b and a["texts"] == [(built.idea.pk, answers[built.idea.key])]
    # The second response added exactly what the first did to every counter.
    after = tallies_of(built)
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == {
        k: v for k, v in before.items()
    }
    assert services.tallies(built.q) == services.direct_counts(built.q)


def test_an_ordinary_response_costs_one_statement_on_postgresql(built: Built, apps: Any) -> None:
    _full, fast = apps
    assert call(fast, built.q.pk, {"answers": built.answers()})[0] == 201
    with CaptureQueriesContext(connection) as queries:
        assert call(fast, built.q.pk, {"answers": built.answers()})[0] == 201
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    if connection.vendor == "postgresql":
        # The questionnaire kept; its row checked, the response, its texts and its tallies in one.
        assert len(statements) == 1 and "surveys_questionnaire" in statements[0]
    else:
        assert not any(s.lstrip().upper().startswith("SELECT *") for s in statements)


@pytest.mark.parametrize("language", ["", "en"])
def test_requests_out_of_the_ordinary_get_the_full_stacks_answer_and_store_nothing(
    built: Built, apps: Any, language: str
) -> None:
    full, fast = apps
    good = built.answers()
    cases: list[tuple[Any, dict[str, Any]]] = [
        ({"answers": built.answers(**{built.support.key: "maybe"})}, {}),  # not an option: 422
        ({"answers": built.answers(**{built.floor.key: None})}, {}),  # required missing: 422
        ({"answers": {**good, "999999": "x"}}, {}),  # no such question: 422
        ({"answers": built.answers(**{built.idea.key: "电梯\u0000"})}, {}),  # unstorable: 422
        ({"answers": {**good, built.concerns.key: ["cost", "noise", "light"]}}, {}),  # too many
        ({"answers": good, "extra": 1}, {}),  # another field: what ninja makes of it
        ({"answers": [1, 2]}, {}),  # not an object: 422
        (b'{"answers": ', {}),  # broken JSON: 400
        (b"answers=1", {"content_type": "application/x-www-form-urlencoded"}),
        ({"answers": good}, {"key": "k" * 129}),  # Idempotency-Key too long: 422
        ({"answers": good}, {"authorization": "Bearer msk_nonsense"}),  # bad token: 401
    ]
    for body, how in cases:
        slow = call(full, built.q.pk, body, language=language, **how)
        quick = call(fast, built.q.pk, body, language=language, **how)
        assert slow[0] == quick[0], (body, how, slow, quick)
        if slow[0] == 201:
            assert {**slow[2], "id": 0, "submitted_at": ""} == {
                **quick[2],
                "id": 0,
                "submitted_at": "",
            }
        else:
            assert slow[2] == quick[2]
        same_headers(slow[1], quick[1])
    # Only the body with an ignored extra field was a response (ninja drops unknown fields).
    assert Response.objects.count() == 2
    assert services.tallies(built.q) == services.direct_counts(built.q)


def test_closed_draft_and_not_yet_open_questionnaires_get_the_full_stacks_answer(
    organiser: Any, org_tree: Any, apps: Any
) -> None:
    full, fast = apps
    now = timezone.now()
    draft = build_questionnaire(organiser, org_tree.community, publish=False)
    future = build_questionnaire(organiser, org_tree.community, opens_at=now + dt.timedelta(1))
    past = build_questionnaire(
        organiser, org_tree.community, opens_at=now - dt.timedelta(9), closes_at=now
    )
    closed = build_questionnaire(organiser, org_tree.community)
    services.close(organiser, closed.q)
    verified = build_questionnaire(organiser, org_tree.community, audience="verified")
    for b, status in ((draft, 404), (future, 409), (past, 409), (closed, 409), (verified, 401)):
        slow = call(full, b.q.pk, {"answers": b.answers()})
        quick = call(fast, b.q.pk, {"answers": b.answers()})
        assert slow[0] == quick[0] == status
        assert slow[2] == quick[2]
        same_headers(slow[1], quick[1])
    assert call(fast, 2**62, {"answers": {}})[0] == call(full, 2**62, {"answers": {}})[0] == 404
    assert not Response.objects.exists()


def test_a_questionnaire_closed_or_cut_short_after_it_was_kept_refuses_at_once(
    built: Built, organiser: Any, apps: Any
) -> None:
    _full, fast = apps
    assert call(fast, built.q.pk, {"answers": built.answers()})[0] == 201
    assert services.answerable(built.q.pk) is not None  # kept by this process
    # The window moved to the past (allowed after publishing): the storing statement sees it.
    settings_ = services.Settings(title=built.q.title, closes_at=timezone.now())
    services.update_settings(organiser, built.q, settings_)
    moved = call(fast, built.q.pk, {"answers": built.answers()})
    assert moved[0] == 409 and moved[2]["code"] == "questionnaire_closed"
    settings_.closes_at = None
    services.update_settings(organiser, built.q, settings_)
    assert call(fast, built.q.pk, {"answers": built.answers()})[0] == 201
    services.close(organiser, built.q)
    closed = call(fast, built.q.pk, {"answers": built.answers()})
    assert closed[0] == 409 and closed[2]["code"] == "questionnaire_closed"
    assert Response.objects.count() == 2
    assert services.tallies(built.q) == services.direct_counts(built.q)


def test_retries_and_second_responses_get_the_full_stacks_replay_and_conflicts(
    built: Built, apps: Any
) -> None:
    answers = built.answers()
    other = built.answers(**{built.rating.key: 1})
    outcomes = []
    for app, tag in zip(apps, ("full", "fast"), strict=True):
        device = {DEVICE_COOKIE: device_cookie(f"phone-{tag}")}
        first = call(app, built.q.pk, {"answers": answers}, key=f"{tag}-1", cookies=device)
        replay = call(app, built.q.pk, {"answers": answers}, key=f"{tag}-1", cookies=device)
        reused = call(app, built.q.pk, {"answers": other}, key=f"{tag}-1")
        again = call(app, built.q.pk, {"answers": answers}, key=f"{tag}-2", cookies=device)
        assert (first[0], replay[0], reused[0], again[0]) == (201, 200, 409, 409)
        assert replay[2]["id"] == first[2]["id"] and replay[2]["replayed"] is True
        assert reused[2]["detail"] == {"response": first[2]["id"]}
        outcomes.append((first, replay, reused, again))
    (f1, f2, f3, f4), (q1, q2, q3, q4) = outcomes
    same_headers(f1[1], q1[1])
    same_headers(f2[1], q2[1])
    assert f3[2]["code"] == q3[2]["code"] == "idempotency_conflict"
    assert f4[2] == q4[2] and q4[2]["code"] == "already_responded"
    assert Response.objects.count() == 2
    assert services.tallies(built.q) == services.direct_counts(built.q)


def test_the_network_budget_is_spent_only_by_stored_responses_on_either_path(
    built: Built, apps: Any, settings: Any
) -> None:
    settings.MINSHENG_SURVEY_ANONYMOUS_PER_HOUR = 3
    answers = built.answers()
    results = []
    for app, address in zip(apps, ("10.0.0.1", "10.0.0.2"), strict=True):
        device = {DEVICE_COOKIE: device_cookie(address)}
        statuses = [
            call(app, built.q.pk, {"answers": answers}, address=address, cookies=device)[0],
            # Refused by the database (the device answered already): no budget spent.
            call(app, built.q.pk, {"answers": answers}, address=address, cookies=device)[0],
            call(app, built.q.pk, {"answers": answers}, address=address, key=address)[0],
            call(app, built.q.pk, {"answers": answers}, address=address, key=address)[0],  # replay
            call(app, built.q.pk, {"answers": answers}, address=address)[0],
        ]
        limited = call(app, built.q.pk, {"answers": answers}, address=address)
        results.append((statuses, limited))
    (slow, slow_limited), (quick, quick_limited) = results
    assert slow == quick == [201, 409, 201, 200, 201]
    assert slow_limited[0] == quick_limited[0] == 429
    assert slow_limited[2]["code"] == quick_limited[2]["code"]
    assert "Retry-After" in quick_limited[1]
    same_headers(slow_limited[1], quick_limited[1])
    assert Response.objects.count() == 6


def test_a_signed_in_citizens_response_is_left_to_the_full_stack(
    built: Built, citizen: Any, apps: Any
) -> None:
    _full, fast = apps
    client = Client()
    client.force_login(citizen)
    session = str(client.cookies["sessionid"].value)
    csrf = "abcdefghijklmnopqrstuvwxyzABCDEF"
    cookies = {"sessionid": session, "csrftoken": csrf}
    # Without the CSRF token the full stack refuses the session's response; with the cookie
    # present the fast path must not take it as anonymous.
    refused = call(fast, built.q.pk, {"answers": built.answers()}, cookies=cookies)
    assert refused[0] == 403
    assert not Response.objects.exists()


def test_the_fast_path_stays_off_when_switched_off_or_the_middleware_changes(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    assert fastpath.why_off("MINSHENG_FAST_SURVEYS", sessions=False) is None
    monkeypatch.setenv("MINSHENG_FAST_SURVEYS", "off")
    assert "MINSHENG_FAST_SURVEYS" in (fastpath.why_off("MINSHENG_FAST_SURVEYS") or "")
    monkeypatch.delenv("MINSHENG_FAST_SURVEYS")
    settings.MIDDLEWARE = [*fastpath.REVIEWED_MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]
    assert not FastSurveys(WSGIHandler()).enabled


@pytest.mark.django_db(transaction=True)
def test_racing_responses_of_one_device_and_one_key_through_the_fast_path_count_once(
    organiser: Any, org_tree: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row-level concurrency needs PostgreSQL (SQLite serialises every writer)")
    built = build_questionnaire(organiser, org_tree.community)
    monkeypatch.setenv("MINSHENG_FAST_SURVEYS", "1")
    fast = FastSurveys(WSGIHandler())
    # Warm the kept copy so every racer takes the fast path's single statement.
    assert call(fast, built.q.pk, {"answers": built.answers()})[0] == 201
    racers = 6
    barrier = threading.Barrier(racers)
    statuses: list[tuple[str, int]] = []

    def race(kind: str) -> None:
        try:
            barrier.wait(timeout=10)
            if kind == "device":
                how: dict[str, Any] = {"cookies": {DEVICE_COOKIE: device_cookie("shared")}}
            else:
                how = {"key": "shared-key"}
            statuses.append((kind, call(fast, built.q.pk, {"answers": built.answers()}, **how)[0]))
        finally:
            connections.close_all()

    for kind in ("device", "key"):
        barrier.reset()
        threads = [threading.Thread(target=race, args=(kind,)) for _ in range(racers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    device = sorted(s for k, s in statuses if k == "device")
    key = sorted(s for k, s in statuses if k == "key")
    assert device == [201] + [409] * (racers - 1)
    assert key == [200] * (racers - 1) + [201]
    assert Response.objects.filter(questionnaire=built.q).count() == 3
    assert services.tallies(built.q) == services.direct_counts(built.q)
    assert Tally.objects.filter(questionnaire=built.q, question_id=0).count() >= 1
    cache.clear()


def test_a_reservation_given_back_after_its_window_ended_leaves_no_counter_behind() -> None:
    from minsheng.counters import give_back, hit_counters

    assert hit_counters(["surveys:test:budget"], 60) == [1]
    give_back(["surveys:test:budget"])
    assert cache.get("surveys:test:budget") == 0
    give_back(["surveys:test:gone"])  # expired or never there: nothing to give back
    assert cache.get("surveys:test:gone") is None
