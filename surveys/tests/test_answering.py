"""Answering through the API: validation naming the question, skip logic, one response per
person and per device, closed windows, audiences, idempotent retries, and counters that equal a
direct count."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from org import services as org_services
from surveys import services
from surveys.models import Answer, Audience, Residence, Response, Tally
from surveys.tests.conftest import Built, build_questionnaire
from tests.personas import make_user

pytestmark = pytest.mark.django_db


def post(client: Client, built: Built, answers: dict[str, Any], **headers: str) -> Any:
    return client.post(
        f"/api/surveys/{built.q.pk}/responses",
        data=json.dumps({"answers": answers}),
        content_type="application/json",
        headers=headers,
    )


def test_an_anonymous_visitor_answers_and_the_answer_is_counted(built: Built) -> None:
    reply = post(Client(), built, built.answers())
    assert reply.status_code == 201, reply.content
    response = Response.objects.get(pk=reply.json()["id"])
    assert response.respondent is None
    assert response.answers[built.support.key] == "yes"
    results = services.results(built.q)
    assert results["responses"] == 1
    support = next(q for q in results["questions"] if q["id"] == built.support.pk)
    assert [o["count"] for o in support["options"]] == [1, 0]
    assert support["options"][0]["percent"] == 100.0


def test_an_answer_outside_the_options_is_refused_naming_the_question(built: Built) -> None:
    reply = post(Client(), built, built.answers(**{built.support.key: "maybe"}))
    assert reply.status_code == 422
    body = reply.json()
    assert body["code"] == "validation_error"
    assert "第2题" in body["message"] and "您是否支持本楼加装电梯？" in body["message"]
    assert "maybe" in body["message"]
    assert body["detail"]["question"] == built.support.pk
    assert not Response.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("concerns", ["cost", "noise", "light"], "最多选择 2 项"),
        ("concerns", ["cost", "cost2"], "不在可选项中"),
        ("rating", 6, "1 到 5"),
        ("rating", True, "整数"),
        ("matrix", {"r1": "c2"}, "每一行"),
        ("matrix", {"r9": "c1"}, "没有“r9”这一行"),
    ],
)
def test_bad_answers_of_each_kind_are_refused(
    built: Built, field: str, value: Any, words: str
) -> None:
    question = getattr(built, field)
    reply = post(Client(), built, built.answers(**{question.key: value}))
    assert reply.status_code == 422, reply.content
    assert words in reply.json()["message"]


def test_a_missing_required_answer_and_a_too_long_text_are_refused(built: Built) -> None:
    answers = built.answers()
    del answers[built.floor.key]
    reply = post(Client(), built, answers)
    assert reply.status_code == 422
    assert "必答" in reply.json()["message"]
    reply = post(
        Client(),
        built,
        built.answers(**{built.support.key: "no", built.why_not.key: "太" * 51}),
    )
    assert reply.status_code == 422
    assert "不能超过 50 个字" in reply.json()["message"]


def test_an_unknown_question_id_is_refused(built: Built) -> None:
    reply = post(Client(), built, {**built.answers(), "999999": "x"})
    assert reply.status_code == 422
    assert "999999" in reply.json()["message"]


def test_answers_to_skipped_questions_are_discarded(built: Built) -> None:
    # A ground-floor resident who supports the lift: no "why not", no cost section.
    answers = built.answers(
        **{built.floor.key: "low", built.why_not.key: "不该出现", built.cost.key: "refuse"}
    )
    reply = post(Client(), built, answers)
    assert reply.status_code == 201, reply.content
    stored = Response.objects.get().answers
    assert built.why_not.key not in stored
    assert built.cost.key not in stored
    assert not Answer.objects.filter(question=built.why_not).exists()
    counts = services.tallies(built.q)
    assert (built.cost.pk, "refuse") not in counts


def test_a_shown_required_question_must_be_answered(built: Built) -> None:
    answers = built.answers(**{built.support.key: "no"})
    reply = post(Client(), built, answers)
    assert reply.status_code == 422
    assert "不支持的主要原因" in reply.json()["message"]


def test_a_second_response_from_the_same_citizen_is_a_conflict(
    built: Built, citizen: Any, client_for: Any
) -> None:
    client = client_for(citizen)
    assert post(client, built, built.answers()).status_code == 201
    again = post(client, built, built.answers())
    assert again.status_code == 409
    assert again.json()["code"] == "already_responded"
    assert Response.objects.filter(respondent=citizen).count() == 1
    assert services.results(built.q)["responses"] == 1


def test_a_retry_with_the_same_idempotency_key_counts_once(built: Built) -> None:
    client = Client()
    first = post(client, built, built.answers(), **{"Idempotency-Key": "k-1"})
    retry = post(client, built, built.answers(), **{"Idempotency-Key": "k-1"})
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"] and retry.json()["replayed"] is True
    other = post(
        client, built, built.answers(**{built.rating.key: 1}), **{"Idempotency-Key": "k-1"}
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_conflict"
    assert Response.objects.count() == 1
    assert services.results(built.q)["responses"] == 1


def test_a_closed_questionnaire_answers_409(built: Built, organiser: Any) -> None:
    services.close(organiser, built.q)
    reply = post(Client(), built, built.answers())
    assert reply.status_code == 409
    assert reply.json()["code"] == "questionnaire_closed"


def test_a_passed_or_future_window_answers_409(organiser: Any, org_tree: Any) -> None:
    now = timezone.now()
    past = build_questionnaire(
        organiser,
        org_tree.community,
        opens_at=now - dt.timedelta(days=9),
        closes_at=now - dt.timedelta(days=1),
    )
    reply = post(Client(), past, past.answers())
    assert reply.status_code == 409 and reply.json()["code"] == "questionnaire_closed"
    future = build_questionnaire(organiser, org_tree.community, opens_at=now + dt.timedelta(days=1))
    reply = post(Client(), future, future.answers())
    assert reply.status_code == 409 and reply.json()["code"] == "questionnaire_not_open"


def test_a_draft_cannot_be_answered(organiser: Any, org_tree: Any) -> None:
    draft = build_questionnaire(organiser, org_tree.community, publish=False)
    assert post(Client(), draft, draft.answers()).status_code == 404


def test_verified_audience_refuses_anonymous_and_staff(
    organiser: Any, org_tree: Any, citizen: Any, client_for: Any, handler: Any
) -> None:
    b = build_questionnaire(organiser, org_tree.community, audience=Audience.VERIFIED)
    assert post(Client(), b, b.answers()).status_code == 401
    staff = post(client_for(handler), b, b.answers())
    assert staff.status_code == 403 and staff.json()["code"] == "verified_citizens_only"
    assert post(client_for(citizen), b, b.answers()).status_code == 201


def test_residents_audience_takes_only_residents_of_the_chosen_community(
    organiser: Any, org_tree: Any, citizen: Any, client_for: Any
) -> None:
    b = build_questionnaire(
        organiser,
        org_tree.community,
        audience=Audience.RESIDENTS,
        communities=(org_tree.community,),
    )
    refused = post(client_for(citizen), b, b.answers())
    assert refused.status_code == 403 and refused.json()["code"] == "residents_only"
    Residence.objects.create(user=citizen, grid=org_tree.grid)
    assert post(client_for(citizen), b, b.answers()).status_code == 201
    elsewhere = org_services.create_unit(
        None, code="other-community", name="西城社区", kind="community", parent=org_tree.street
    )
    grid, _ = org_services.upsert_grid(None, "other-grid", name="西城一网格", community=elsewhere)
    neighbour = make_user("neighbour", "李邻居", kind="citizen", phone="13900139000")
    Residence.objects.create(user=neighbour, grid=grid)
    assert post(client_for(neighbour), b, b.answers()).status_code == 403


def test_anonymous_responses_from_one_network_are_rate_limited(built: Built, settings: Any) -> None:
    settings.MINSHENG_SURVEY_ANONYMOUS_PER_HOUR = 2
    client = Client(REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="phone")
    assert post(client, built, built.answers()).status_code == 201
    assert post(client, built, built.answers()).status_code == 201
    third = post(client, built, built.answers())
    assert third.status_code == 429
    assert "分钟后再试" in third.json()["message"]
    other = Client(REMOTE_ADDR="10.1.2.4", HTTP_USER_AGENT="phone")
    assert post(other, built, built.answers()).status_code == 201


def test_the_counters_equal_a_direct_count_after_many_mixed_responses(
    built: Built, settings: Any
) -> None:
    import random

    settings.MINSHENG_SURVEY_ANONYMOUS_PER_HOUR = 1000
    rng = random.Random(7)
    for i in range(60):
        floor = rng.choice(["low", "high"])
        support = rng.choice(["yes", "no"])
        answers = built.answers(
            **{
                built.floor.key: floor,
                built.support.key: support,
                built.why_not.key: f"原因{i}",
                built.concerns.key: rng.sample(["cost", "noise", "light"], rng.randint(1, 2)),
                built.rating.key: rng.choice([None, 1, 2, 3, 4, 5]),
                built.matrix.key: {"r1": rng.choice(["c1", "c2", "c3"]), "r2": "c3"},
            }
        )
        assert post(Client(), built, answers).status_code == 201
    assert services.tallies(built.q) == services.direct_counts(built.q)
    assert Tally.objects.filter(questionnaire=built.q).values("shard").distinct().count() > 1
    results = services.results(built.q)
    assert results["responses"] == 60
    rating = next(q for q in results["questions"] if q["id"] == built.rating.pk)
    given = [
        r.answers[built.rating.key] for r in Response.objects.all() if built.rating.key in r.answers
    ]
    assert rating["answered"] == len(given)
    assert rating["rating"]["mean"] == round(sum(given) / len(given), 2)


def test_recount_rebuilds_counters_equal_to_the_responses(built: Built, organiser: Any) -> None:
    for _ in range(3):
        post(Client(), built, built.answers())
    Tally.objects.filter(questionnaire=built.q).update(n=99)
    assert services.recount(organiser, built.q) == 3
    assert services.tallies(built.q) == services.direct_counts(built.q)


def test_results_are_for_organisers_until_published(
    built: Built, organiser: Any, client_for: Any, citizen: Any
) -> None:
    url = f"/api/surveys/{built.q.pk}/results"
    assert client_for(citizen).get(url).status_code == 403
    assert client_for(organiser).get(url).status_code == 200
    services.set_results_public(organiser, built.q, True)
    assert Client().get(url).json()["responses"] == 0


def test_the_structure_lists_questions_with_ids_and_conditions(built: Built) -> None:
    body = Client().get(f"/api/surveys/{built.q.pk}").json()
    assert [s["title"] for s in body["sections"]] == ["基本情况", "顾虑与评价", "费用", "建议"]
    why_not = body["sections"][0]["questions"][2]
    assert why_not["condition"] == {"question": built.support.pk, "op": "equals", "value": "no"}
