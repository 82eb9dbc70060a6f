"""Power and responsibility lists: public reads; unit admins and leaders keep them."""

from __future__ import annotations

from tests.test_role_matrix import Expect, public

ORGANISERS = {"leader", "admin"}  # the leader and the admin hold their roles at the city


def organiser_page(who: str) -> set[int]:
    if who == "anonymous":
        return {302}
    return {200} if who in ORGANISERS else {403}


def edit_missing(who: str) -> set[int]:
    return {302} if who == "anonymous" else {404}


PAGES: dict[str, tuple[str, Expect]] = {
    "powers:index": ("/powers/", public()),
    "powers:unit": ("/powers/test-city/", public()),
    "powers:history": ("/powers/test-city/999999/history/", public(404)),
    "powers_wb:organise": ("/workbench/powers/", organiser_page),
    "powers_wb:unit": ("/workbench/powers/units/test-city/", organiser_page),
    "powers_wb:edit": ("/workbench/powers/items/999999/edit/", edit_missing),
}

API: dict[str, tuple[str | None, Expect]] = {
    "api:powers_unit": ("/api/powers/units/test-city", public()),
    "api:powers_category": ("/api/powers/categories/no-such-category", public(404)),
}
