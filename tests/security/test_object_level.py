"""Object-level checks: a handler of another unit cannot reach an appeal by changing an id.

Generated from the URL resolver: every page and API route with an appeal id in its path is asked
for an appeal dispatched to 城管执法局, by GET and by POST, as the handler of 住建局; each answer
must be 403 or 404 (or 405 where the method does not exist), or the very answer a missing id gets (a body refused
before any look-up), never the case nor a state error that would confirm it exists. The owning handler's GET of the case pages is the control.
Other apps' object ids are walked the same way in test_object_level_apps.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from appeals import services

pytestmark = pytest.mark.django_db

APPEAL_PARAM = re.compile(r"<(?:int:)?appeal_id>|<(?:int:)?id>")
OTHER_PARAM = re.compile(r"<(?:[a-z_]+:)?[a-z_]+>")


def appeal_routes() -> list[str]:
    found: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif (
                isinstance(pattern, URLPattern) and "appeal" in route and APPEAL_PARAM.search(route)
            ):
                found.append(route)

    walk(get_resolver().url_patterns, "/")
    return sorted(set(found))


def fill(route: str, appeal_id: int) -> str:
    path = APPEAL_PARAM.sub(str(appeal_id), route.lstrip("^").rstrip("$"))
    return OTHER_PARAM.sub("1", path)


def _code(response: Any) -> str:
    if response.get("Content-Type", "").startswith("application/json"):
        return str(response.json().get("code"))
    return ""


def test_a_handler_of_another_unit_gets_403_or_404_on_every_appeal_route(
    category_tree: Any, dispatcher: Any, handler: Any, other_handler: Any, org_tree: Any
) -> None:
    appeal, _secret = services.do_submit(
        None,
        services.Submission(
            text="东华路菜市场门口长期有流动摊贩占道经营。",
            category=category_tree.street_vending,
            address="东华路 12 号",
            contact_name="张先生",
            contact_phone="13800000001",
        ),
    )
    services.do_register(appeal, dispatcher)
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    routes = appeal_routes()
    assert len(routes) >= 10, routes
    owner, stranger = Client(), Client()
    owner.force_login(handler)
    stranger.force_login(other_handler)
    assert owner.get(f"/workbench/appeals/{appeal.pk}/").status_code == 200
    assert owner.get(f"/api/appeals/{appeal.pk}").status_code == 200
    wrong = []
    for route in routes:
        path, missing = fill(route, appeal.pk), fill(route, 999_999_999)
        for method in ("get", "post"):
            asked = getattr(stranger, method)
            options = {"data": "{}", "content_type": "application/json"} if method == "post" else {}
            response = asked(path, **options)
            if response.status_code in {403, 404, 405}:
                continue
            # A body refused before the case is looked up (400/422) is acceptable only if the same
            # request about a case that does not exist gets the very same answer.
            control = asked(missing, **options)
            same = (response.status_code, _code(response)) == (control.status_code, _code(control))
            if response.status_code < 400 or not same:
                wrong.append(f"{method.upper()} {path}: {response.status_code} {_code(response)}")
    assert not wrong, "\n".join(wrong)
    appeal.refresh_from_db()
    assert appeal.state == "dispatched"
