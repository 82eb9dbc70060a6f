"""Schemathesis's stateful run: follow the OpenAPI links from a created appeal to its operations.

``POST /api/appeals/`` answers the new appeal's id, code and secret; the links
(``minsheng/api_links.py``) feed them to ``GET /api/appeals/{appeal_id}``, every step and the
citizen's tracking, so the run reaches real objects instead of random ids. Bounded (a few
scenarios of a few steps) to stay well under 90 s; ``schemathesis.toml`` declares the by-design
4xx answers. Every step must answer without a 5xx and within the schema.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from minsheng.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


def test_the_document_links_a_new_appeal_to_its_case_and_its_tracking() -> None:
    raw: Any = schema.raw_schema
    links = raw["paths"]["/api/appeals/"]["post"]["responses"]["201"]["links"]
    assert links["AppealsApiDetail"] == {
        "operationId": "appeals_api_detail",
        "parameters": {"appeal_id": "$response.body#/id"},
    }
    assert links["AppealsApiTrack"]["parameters"] == {
        "code": "$response.body#/code",
        "secret": "$response.body#/secret",
    }
    known = {
        op["operationId"]
        for item in raw["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert {link["operationId"] for link in links.values()} <= known


@pytest.mark.django_db(transaction=True)
def test_linked_sequences_of_calls_never_answer_5xx_nor_outside_the_schema(
    category_tree: Any,
) -> None:
    answered: list[tuple[str, int]] = []

    # The appeals' operations only: over the whole document a bounded run rarely reaches a 201.
    appeals = schema.include(path_regex="^/api/appeals/")

    class Linked(appeals.as_state_machine()):  # type: ignore[misc]
        def after_call(self, response: Any, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            answered.append((case.operation.label, response.status_code))

    Linked.run(
        settings=settings(
            max_examples=15,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )
    # The run reached a created appeal (the producer of the links); whether a linked call used its
    # own id is up to the draw: the bounded run does not always reach tracking with the secret.
    assert ("POST /api/appeals/", 201) in answered, sorted(set(answered))
