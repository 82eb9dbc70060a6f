"""Questionnaires: public pages for everyone; the builder, results and exports for organisers
(and admins). Paths name a questionnaire that does not exist: an organiser gets 404, everyone
else is refused before the lookup."""

from __future__ import annotations

from tests.test_role_matrix import Expect, public

ORGANISERS = {"organiser", "admin"}


def builder(found: int = 404) -> Expect:
    def expect(who: str) -> set[int]:
        if who == "anonymous":
            return {302}
        return {found} if who in ORGANISERS else {403}

    return expect


def post_only(who: str) -> set[int]:
    if who == "anonymous":
        return {302}
    return {405, 404} if who in ORGANISERS else {403}


NOSUCH = "/workbench/surveys/999999"
PAGES: dict[str, tuple[str, Expect]] = {
    "surveys:index": ("/surveys/", public()),
    "surveys:detail": ("/surveys/999999/", public(404)),
    "surveys:section": ("/surveys/999999/s/0/", public(404)),
    "surveys:done": ("/surveys/999999/done/", public(404)),
    "surveys:results": ("/surveys/999999/results/", public(404)),
    "surveys_wb:list": ("/workbench/surveys/", builder(200)),
    "surveys_wb:create": ("/workbench/surveys/new/", builder(200)),
    "surveys_wb:edit": (f"{NOSUCH}/", builder()),
    "surveys_wb:settings": (f"{NOSUCH}/settings/", post_only),
    "surveys_wb:add_section": (f"{NOSUCH}/sections/", post_only),
    "surveys_wb:delete_section": (f"{NOSUCH}/sections/1/delete/", post_only),
    "surveys_wb:add_question": (f"{NOSUCH}/sections/1/questions/new/?kind=single", builder()),
    "surveys_wb:edit_question": (f"{NOSUCH}/sections/1/questions/1/", builder()),
    "surveys_wb:delete_question": (f"{NOSUCH}/questions/1/delete/", post_only),
    "surveys_wb:move": (f"{NOSUCH}/move/question/1/up/", post_only),
    "surveys_wb:publish": (f"{NOSUCH}/publish/", post_only),
    "surveys_wb:close": (f"{NOSUCH}/close/", post_only),
    "surveys_wb:new_version": (f"{NOSUCH}/version/", post_only),
    "surveys_wb:results": (f"{NOSUCH}/results/", builder()),
    "surveys_wb:publish_results": (f"{NOSUCH}/results/publish/", post_only),
    "surveys_wb:refresh_themes": (f"{NOSUCH}/themes/1/", post_only),
    "surveys_wb:export_csv": (f"{NOSUCH}/export.csv", builder()),
    "surveys_wb:export_xlsx": (f"{NOSUCH}/export.xlsx", builder()),
}

API: dict[str, tuple[str | None, Expect]] = {
    "api:survey_list": ("/api/surveys/", public()),
    "api:survey_detail": ("/api/surveys/999999", public(404)),
    "api:survey_respond": (None, public(201)),  # anonymous when the audience is anyone; POST only
    "api:survey_results": ("/api/surveys/999999/results", public(404)),
}
