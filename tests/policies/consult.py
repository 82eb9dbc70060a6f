"""Consultation: public pages and API for everyone, organiser pages for organisers and admins."""

from __future__ import annotations

from tests.test_role_matrix import Expect, public

ORGANISERS = {"organiser", "admin"}


def organiser_page(who: str) -> set[int]:
    if who == "anonymous":
        return {302}
    return {200} if who in ORGANISERS else {403}


def organiser_post(who: str) -> set[int]:
    # POST only: a GET is refused (405) once past the role check.
    if who == "anonymous":
        return {302}
    return {405} if who in ORGANISERS else {403}


def signed_in_page(who: str) -> set[int]:
    return {302} if who == "anonymous" else {200}


def organiser_api_post(who: str) -> set[int]:
    return {401} if who == "anonymous" else {201, 403, 404, 409, 422}


PAGES: dict[str, tuple[str, Expect]] = {
    "consult:index": ("/consult/", public()),
    "consult:draft": ("/consult/drafts/999999/", public(404)),
    "consult:comment": ("/consult/drafts/999999/articles/1/comment/", public(405)),
    "consult:hearing": ("/consult/hearings/999999/", public(404)),
    "consult:register": ("/consult/hearings/999999/register/", public(405)),
    "consult:draw": ("/consult/hearings/999999/draw/", public(404)),
    "consult:draw_json": ("/consult/hearings/999999/draw.json", public(404)),
    "consult:map": ("/consult/maps/999999/", public(404)),
    "consult:vote": ("/consult/maps/999999/statements/1/vote/", public(405)),
    "consult:propose": ("/consult/maps/999999/propose/", public(405)),
    "consult:decisions": ("/consult/decisions/", public()),
    "consult:decision": ("/consult/decisions/999999/", public(404)),
    "consult:notices": ("/consult/notices/", signed_in_page),
    "consult_wb:home": ("/workbench/consult/", organiser_page),
    "consult_wb:draft_new": ("/workbench/consult/drafts/new/", organiser_page),
    "consult_wb:hearing_new": ("/workbench/consult/hearings/new/", organiser_page),
    "consult_wb:map_new": ("/workbench/consult/maps/new/", organiser_page),
    "consult_wb:decision_new": ("/workbench/consult/decisions/new/", organiser_page),
    "consult_wb:draft": (
        "/workbench/consult/drafts/999999/",
        lambda w: {302} if w == "anonymous" else ({404} if w in ORGANISERS else {403}),
    ),
    "consult_wb:hearing": (
        "/workbench/consult/hearings/999999/",
        lambda w: {302} if w == "anonymous" else ({404} if w in ORGANISERS else {403}),
    ),
    "consult_wb:map": (
        "/workbench/consult/maps/999999/",
        lambda w: {302} if w == "anonymous" else ({404} if w in ORGANISERS else {403}),
    ),
    "consult_wb:decision": (
        "/workbench/consult/decisions/999999/",
        lambda w: {302} if w == "anonymous" else ({404} if w in ORGANISERS else {403}),
    ),
    "consult_wb:act": ("/workbench/consult/drafts/999999/do/publish/", organiser_post),
}

API: dict[str, tuple[str | None, Expect]] = {
    "api:consult_draft_create": (None, organiser_api_post),
    "api:consult_draft": ("/api/consult/drafts/999999", public(404)),
    "api:consult_comment": (None, public(201)),
    "api:consult_register": (None, lambda w: {401} if w == "anonymous" else {201}),
    "api:consult_draw_run": (None, organiser_api_post),
    "api:consult_draw": ("/api/consult/hearings/999999/draw", public(404)),
    "api:consult_vote": (None, public(200)),
    "api:consult_groups": ("/api/consult/maps/999999/groups", public(404)),
    "api:consult_decision": ("/api/consult/decisions/999999", public(404)),
    "api:consult_adoption_rates": ("/api/consult/adoption-rates", public()),
}
