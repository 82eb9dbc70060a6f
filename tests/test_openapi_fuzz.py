"""Schemathesis over the whole OpenAPI document: no 5xx, no response outside the schema.

Bounded (a few examples per operation) so the suite stays quick; the full-depth stateful run
belongs to the security issue's CI job.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from minsheng.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_answers_within_its_schema_and_never_5xx(case: schemathesis.Case) -> None:
    case.call_and_validate()
