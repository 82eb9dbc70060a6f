"""OpenAPI links: which answer's field feeds which operation's parameter.

A client (and schemathesis's stateful run, ``tests/security/test_openapi_stateful.py``) follows
them from the object a POST created to every operation about that object: ``POST /api/appeals/``
answers ``{"id": …, "code": …, "secret": …}``, and ``id`` is the ``appeal_id`` of
``GET /api/appeals/{appeal_id}`` and of every step, ``code`` and ``secret`` those of the citizen's
tracking. Links are generated from the paths, so a new operation under a linked path is linked
without an edit here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Producer:
    """``operation`` creates an object; its answer's ``fields`` fill these parameters."""

    operation: str
    path_prefix: str
    fields: dict[str, str]  # parameter name -> JSON pointer into the answer body


PRODUCERS = (
    Producer("appeals_api_submit", "/api/appeals/{appeal_id}", {"appeal_id": "/id"}),
    Producer(
        "appeals_api_submit",
        "/api/appeals/track/{code}",
        {"code": "/code", "secret": "/secret"},
    ),
    Producer("consult_api_create_draft", "/api/consult/drafts/{draft_id}", {"draft_id": "/id"}),
    Producer("grassroots_api_visit_log", "/api/grassroots/visits/{visit_id}", {"visit_id": "/id"}),
)


def _link_name(operation_id: str) -> str:
    return "".join(part.capitalize() for part in operation_id.split("_"))


def add_links(schema: dict[str, Any]) -> dict[str, Any]:
    """Add ``links`` to the success answers of every producer; returns ``schema`` itself."""
    operations = {
        op["operationId"]: (path, op)
        for path, item in schema.get("paths", {}).items()
        for method, op in item.items()
        if method in HTTP_METHODS and "operationId" in op
    }
    for producer in PRODUCERS:
        if producer.operation not in operations:
            continue
        _path, source = operations[producer.operation]
        links: dict[str, Any] = {}
        for operation_id, (path, op) in operations.items():
            if not path.startswith(producer.path_prefix):
                continue
            names = {
                p["name"] for p in op.get("parameters", []) if p.get("in") in {"path", "query"}
            }
            required = {p["name"] for p in op.get("parameters", []) if p.get("in") == "path"}
            if not required or not required <= producer.fields.keys():
                continue  # a path parameter this answer cannot fill (e.g. a photo id)
            links[_link_name(operation_id)] = {
                "operationId": operation_id,
                "parameters": {
                    name: f"$response.body#{pointer}"
                    for name, pointer in producer.fields.items()
                    if name in names
                },
            }
        for status, answer in source.get("responses", {}).items():
            if str(status).startswith("2") and links:
                answer.setdefault("links", {}).update(links)
    return schema
