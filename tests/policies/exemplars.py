"""Exemplar campaigns: public pages for everyone; the workbench for organisers, auditors, admins."""

from __future__ import annotations

from tests.test_role_matrix import Expect, public

WORKBENCH = {"organiser", "auditor", "admin"}


def wb_page(found: int) -> Expect:
    def expect(who: str) -> set[int]:
        if who == "anonymous":
            return {302}
        return {found} if who in WORKBENCH else {403}

    return expect


PAGES: dict[str, tuple[str, Expect]] = {
    "exemplars:index": ("/exemplars/", public()),
    "exemplars:campaign": ("/exemplars/999999/", public(404)),
    "exemplars:nominate": ("/exemplars/999999/nominate/", public(404)),
    "exemplars:results": ("/exemplars/999999/results/", public(404)),
    "exemplars:honours": ("/exemplars/999999/honours/", public(404)),
    "exemplars:candidate": ("/exemplars/candidates/999999/", public(404)),
    "exemplars:vote": ("/exemplars/candidates/999999/vote/", public(405)),  # POST only
    "exemplars:objection": ("/exemplars/candidates/999999/objection/", public(405)),
    "exemplars:photo": ("/exemplars/photos/999999/", public(404)),
    "exemplars_wb:index": ("/workbench/exemplars/", wb_page(200)),
    "exemplars_wb:campaign": ("/workbench/exemplars/999999/", wb_page(404)),
    "exemplars_wb:flags": ("/workbench/exemplars/999999/flags/", wb_page(404)),
    # POST only: the role is checked first, then the method.
    "exemplars_wb:advance": ("/workbench/exemplars/999999/advance/", wb_page(405)),
    "exemplars_wb:publish": ("/workbench/exemplars/999999/publish/", wb_page(405)),
    "exemplars_wb:detect": ("/workbench/exemplars/999999/detect/", wb_page(405)),
    "exemplars_wb:review": ("/workbench/exemplars/candidates/999999/review/", wb_page(405)),
    "exemplars_wb:answer": ("/workbench/exemplars/objections/999999/answer/", wb_page(405)),
    "exemplars_wb:flag_decide": ("/workbench/exemplars/flags/999999/decide/", wb_page(405)),
}


def vote_api(who: str) -> set[int]:
    # POST only; staff are not verified citizens (403), a citizen gets 404 for a missing campaign.
    return {401} if who == "anonymous" else {403, 404}


API: dict[str, tuple[str | None, Expect]] = {
    "api:exemplar_campaigns": ("/api/exemplars/campaigns", public()),
    "api:exemplar_campaign": ("/api/exemplars/campaigns/999999", public(404)),
    "api:exemplar_vote": (None, vote_api),
}
