"""Who may open the appeal pages of the workbench (/workbench/appeals/)."""

from __future__ import annotations

from tests.test_role_matrix import APPEAL_READERS, Expect


def appeal_reader_page(who: str) -> set[int]:
    """The queue: staff who read appeals (agents, handlers, leaders, auditors, admins)."""
    if who == "anonymous":
        return {302}
    return {200} if who in APPEAL_READERS else {403}


def appeal_case_page(who: str) -> set[int]:
    # A case outside the reader's scope answers 404 like a missing one: existence is not revealed.
    if who == "anonymous":
        return {302}
    return {404} if who in APPEAL_READERS else {403}


def post_only(who: str) -> set[int]:
    return {405}


PAGES: dict[str, tuple[str, Expect]] = {
    "appeals_wb:queue": ("/workbench/appeals/", appeal_reader_page),
    "appeals_wb:case": ("/workbench/appeals/999999/", appeal_case_page),
    "appeals_wb:photo": ("/workbench/appeals/999999/photos/1/", appeal_case_page),
    "appeals_wb:step": ("/workbench/appeals/999999/sign/", post_only),
    "appeals_wb:reveal_phone": ("/workbench/appeals/999999/reveal-phone/", post_only),
}
