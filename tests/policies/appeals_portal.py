"""Who may open the citizen appeal pages (/appeals/) and the hotline agent's entry."""

from __future__ import annotations

from tests.test_role_matrix import Expect, public


def signed_in_page(who: str) -> set[int]:
    """ "My appeals": anyone signed in (staff see the appeals they submitted as citizens: none);
    an anonymous visitor is sent to the phone sign-in."""
    return {302} if who == "anonymous" else {200}


def agent_page(who: str) -> set[int]:
    """The hotline entry: agents (the dispatcher persona) only."""
    if who == "anonymous":
        return {302}
    return {200} if who == "dispatcher" else {403}


PAGES: dict[str, tuple[str, Expect]] = {
    "citizen:submit": ("/appeals/new/", public()),
    # Nothing to show twice: the page says so and links to tracking.
    "citizen:submitted": ("/appeals/new/done/", public()),
    "citizen:mine": ("/appeals/mine/", signed_in_page),
    "citizen:track": ("/appeals/track/", public()),
    # Without the secret in this session (or ownership) the look-up form, the same for a missing code.
    "citizen:detail": ("/appeals/track/MS-2025-999999/", public()),
    "citizen:rate": ("/appeals/track/MS-2025-999999/rate/", public(405)),  # POST only
    "citizen:withdraw": ("/appeals/track/MS-2025-999999/withdraw/", public(405)),
    "citizen:reopen": ("/appeals/track/MS-2025-999999/reopen/", public(405)),
    "citizen:review": ("/appeals/track/MS-2025-999999/review/", public(405)),
    "citizen:agent_submit": ("/appeals/agent/new/", agent_page),
    "citizen:agent_submitted": ("/appeals/agent/new/done/", agent_page),
}
