"""Grassroots work: the case library, organisation pages and certificate checks are public; visits
and coverage are for cadres, leaders and admins; the case editor for organisers, leaders and
admins; training for the roles that train. Paths name rows that do not exist (404 once allowed)."""

from __future__ import annotations

from tests.test_role_matrix import Expect, public

VISITORS = {"cadre", "leader", "admin"}
EDITORS = {"organiser", "leader", "admin"}
TRAINEES = {"cadre", "handler", "other_handler", "dispatcher", "leader"}
TRAINING_ADMINS = {"organiser", "leader", "admin"}
TRAINERS = {"organiser", "admin"}


def page(allowed: set[str], found: int = 200) -> Expect:
    def expect(who: str) -> set[int]:
        if who == "anonymous":
            return {302}
        return {found} if who in allowed else {403}

    return expect


def post_only(allowed: set[str]) -> Expect:
    return page(allowed, 405)


WB = "/workbench/grassroots"
PAGES: dict[str, tuple[str, Expect]] = {
    "grassroots:case_list": ("/grassroots/cases/", public()),
    "grassroots:case_detail": ("/grassroots/cases/999999/", public(404)),
    "grassroots:organisation_list": ("/grassroots/organisations/", public()),
    "grassroots:organisation_detail": ("/grassroots/organisations/999999/", public(404)),
    "grassroots:certificate": ("/grassroots/certificates/NOSUCHCODE/", public(404)),
    "grassroots_wb:index": (f"{WB}/", page(VISITORS)),
    "grassroots_wb:unvisited": (f"{WB}/unvisited/", page(VISITORS)),
    "grassroots_wb:household_new": (f"{WB}/households/new/", page(VISITORS)),
    "grassroots_wb:household_reveal": (f"{WB}/households/999999/reveal/", post_only(VISITORS)),
    "grassroots_wb:plans": (f"{WB}/plans/", page({"leader", "admin"})),
    "grassroots_wb:visit_new": (f"{WB}/visits/new/", page(VISITORS)),
    "grassroots_wb:visit_detail": (f"{WB}/visits/999999/", page(VISITORS, 404)),
    "grassroots_wb:visit_raise": (f"{WB}/visits/999999/appeal/", post_only(VISITORS)),
    "grassroots_wb:case_list": (f"{WB}/cases/", page(EDITORS)),
    "grassroots_wb:case_draft": (f"{WB}/cases/from/999999/", post_only(EDITORS)),
    "grassroots_wb:case_edit": (f"{WB}/cases/999999/", page(EDITORS, 404)),
    "grassroots_wb:case_publish": (f"{WB}/cases/999999/publish/", post_only(EDITORS)),
    "grassroots_wb:training": (f"{WB}/training/", page(TRAINEES)),
    "grassroots_wb:training_behind": (f"{WB}/training/behind/", page(TRAINING_ADMINS)),
    "grassroots_wb:courses": (f"{WB}/training/courses/", page(TRAINERS)),
    "grassroots_wb:course": (f"{WB}/training/courses/999999/", page(TRAINERS, 404)),
    "grassroots_wb:attend": (f"{WB}/training/sessions/999999/attend/1/", post_only(TRAINERS)),
    "grassroots_wb:score": (f"{WB}/training/enrollments/999999/score/", post_only(TRAINERS)),
    "grassroots_wb:enroll": (f"{WB}/training/courses/999999/enroll/", post_only(TRAINEES)),
}


def api_for(allowed: set[str]) -> Expect:
    def expect(who: str) -> set[int]:
        if who == "anonymous":
            return {401}
        return {200} if who in allowed else {403}

    return expect


def cadre_post(who: str) -> set[int]:
    # POST only; the service refuses a non-cadre (403) and checks the household's grid.
    return {401} if who == "anonymous" else {201, 403, 404, 409, 422}


API: dict[str, tuple[str | None, Expect]] = {
    "api:grassroots_visit_log": (None, cadre_post),
    "api:grassroots_visit_raise": (None, cadre_post),
    "api:grassroots_coverage": ("/api/grassroots/coverage", api_for(VISITORS)),
    "api:grassroots_cases": ("/api/grassroots/cases", public()),
    "api:grassroots_case": ("/api/grassroots/cases/999999", public(404)),
}
