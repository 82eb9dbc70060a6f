"""The vote's fast path (minsheng/fastpath.py) answers exactly as the full stack does.

Each request is sent twice over WSGI, as a server would: once to the full Django stack and once
to the fast path in front of it (for different candidates or voters, since a vote counts once),
and the answers are compared: status, body, header names and values (but the request id).
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
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from exemplars.models import Vote
from minsheng import fastpath

pytestmark = pytest.mark.django_db
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
CSRF = "abcdefghijklmnopqrstuvwxyzABCDEF"


@pytest.fixture(autouse=True)
def _model_backend_only() -> Iterator[None]:
    with override_settings(AUTHENTICATION_BACKENDS=[MODEL_BACKEND]):
        yield


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
def apps() -> tuple[WSGIHandler, fastpath.FastVotes]:
    django_app = WSGIHandler()
    fast = fastpath.FastVotes(django_app)
    assert fast.enabled, fastpath.why_off()
    return django_app, fast


def _session(user: Any) -> str:
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)
    return str(client.cookies["sessionid"].value)


def _call(
    app: Any,
    campaign: int,
    body: bytes,
    *,
    session: str | None,
    csrf: str | None = CSRF,
    language: str = "",
) -> tuple[int, dict[str, str], dict[str, Any]]:
    cookies = [f"csrftoken={CSRF}"]
    if session:
        cookies.append(f"sessionid={session}")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/api/exemplars/campaigns/{campaign}/votes",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "203.0.113.9",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        "HTTP_COOKIE": "; ".join(cookies),
        "HTTP_ORIGIN": "http://testserver",
        "HTTP_USER_AGENT": "Mozilla/5.0 (iPhone)",
        "HTTP_ACCEPT_LANGUAGE": language,
    }
    if csrf:
        environ["HTTP_X_CSRFTOKEN"] = csrf
    seen: list[Any] = []
    chunks = app(environ, lambda status, headers, *exc: seen.append((status, headers)))
    content = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    status, headers = seen[0]
    return int(status.split()[0]), dict(headers), json.loads(content)


def _same_headers(a: dict[str, str], b: dict[str, str]) -> None:
    drop = {"X-Request-Id", "Content-Length"}
    assert {k: v for k, v in a.items() if k not in drop} == {
        k: v for k, v in b.items() if k not in drop
    }
    assert set(a) == set(b)


def _vote(candidate: int) -> bytes:
    return json.dumps({"candidate": candidate}).encode()


def test_a_vote_through_the_fast_path_is_answered_and_stored_as_through_the_full_stack(
    voting: Any, make_voter: Any, apps: Any
) -> None:
    campaign, candidates = voting
    full, fast = apps
    first, second = _session(make_voter()), _session(make_voter())
    slow_answer = _call(full, campaign.pk, _vote(candidates[0].pk), session=first)
    fast_answer = _call(fast, campaign.pk, _vote(candidates[0].pk), session=second)
    assert slow_answer[0] == fast_answer[0] == 201
    _same_headers(slow_answer[1], fast_answer[1])
    assert {k: v for k, v in slow_answer[2].items() if k != "vote"} == {
        k: v for k, v in fast_answer[2].items() if k != "vote"
    }
    assert Vote.objects.filter(pk=fast_answer[2]["vote"], candidate=candidates[0]).exists()


@pytest.mark.parametrize("language", ["", "en"])
def test_a_second_vote_and_the_pick_limit_get_the_full_stacks_409_in_the_callers_language(
    voting: Any, make_voter: Any, apps: Any, language: str
) -> None:
    campaign, candidates = voting
    full, fast = apps
    for app in (full, fast):
        session = _session(make_voter())
        assert _call(app, campaign.pk, _vote(candidates[0].pk), session=session)[0] == 201
    answers = []
    for app in (full, fast):
        session = _session(make_voter())
        _call(app, campaign.pk, _vote(candidates[0].pk), session=session)
        twice = _call(app, campaign.pk, _vote(candidates[0].pk), session=session, language=language)
        _call(app, campaign.pk, _vote(candidates[1].pk), session=session)
        third = _call(app, campaign.pk, _vote(candidates[2].pk), session=session, language=language)
        answers.append((twice, third))
    (slow_twice, slow_third), (fast_twice, fast_third) = answers
    assert slow_twice[0] == fast_twice[0] == 409
    assert slow_twice[2] == fast_twice[2] and fast_twice[2]["code"] == "already_voted"
    _same_headers(slow_twice[1], fast_twice[1])
    assert slow_third[2] == fast_third[2] and fast_third[2]["code"] == "pick_limit"


def test_requests_out_of_the_ordinary_are_left_to_the_full_stack(
    voting: Any, make_voter: Any, apps: Any, citizen: Any
) -> None:
    campaign, candidates = voting
    full, fast = apps
    session = _session(make_voter())
    cases: list[tuple[bytes, dict[str, Any]]] = [
        (_vote(candidates[0].pk), {"session": None}),  # not signed in: 401
        (_vote(candidates[0].pk), {"session": session, "csrf": None}),  # no CSRF token: 403
        (b'{"candidate": "x"}', {"session": session}),  # not a number: 422
        (b'{"candidate": 0}', {"session": session}),  # out of range: 422
        (_vote(candidates[0].pk), {"session": "no-such-session"}),
    ]
    for body, how in cases:
        slow = _call(full, campaign.pk, body, **how)
        quick = _call(fast, campaign.pk, body, **how)
        assert slow[0] == quick[0] and slow[0] in (401, 403, 422)
        assert slow[2] == quick[2]
    assert not Vote.objects.exists()


def test_a_vote_after_sign_out_is_refused_by_the_fast_path_at_once(
    voting: Any, make_voter: Any, apps: Any
) -> None:
    campaign, candidates = voting
    _full, fast = apps
    client = Client()
    client.force_login(make_voter(), backend=MODEL_BACKEND)
    session = str(client.cookies["sessionid"].value)
    assert _call(fast, campaign.pk, _vote(candidates[0].pk), session=session)[0] == 201
    client.logout()
    assert _call(fast, campaign.pk, _vote(candidates[1].pk), session=session)[0] == 401


def test_a_fast_vote_costs_one_query_for_the_voter_and_the_vote_statements(
    voting: Any, make_voter: Any, apps: Any
) -> None:
    campaign, candidates = voting
    _full, fast = apps
    session = _session(make_voter())
    assert _call(fast, campaign.pk, _vote(candidates[0].pk), session=session)[0] == 201
    with CaptureQueriesContext(connection) as queries:
        assert _call(fast, campaign.pk, _vote(candidates[3].pk), session=session)[0] == 201
    sql = [q["sql"] for q in queries.captured_queries]
    # The voter (session still there, user row), then the vote; in a test's transaction the
    # vote is two statements (vote row, pick) inside a savepoint.
    assert "django_session" in sql[0] and len([s for s in sql if "SAVEPOINT" not in s]) == 3


def test_the_fast_path_stays_off_when_the_middleware_is_not_the_reviewed_list() -> None:
    assert fastpath.why_off() is None
    extra = [*fastpath.REVIEWED_MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]
    with override_settings(MIDDLEWARE=extra):
        assert "MIDDLEWARE" in (fastpath.why_off() or "")
        assert not fastpath.FastVotes(WSGIHandler()).enabled
