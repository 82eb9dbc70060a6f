"""Role policies of appeals/api_repeats.py: repeated claims (重复诉求). Who may decide on a real
finding is tested in appeals/tests/repeats/."""

from __future__ import annotations

from tests.test_role_matrix import Expect, appeal_case, appeal_step

API: dict[str, tuple[str | None, Expect]] = {
    # A case outside the caller's scope (here: no such case) → 404.
    "api:appeal_repeat": ("/api/appeals/999999/repeat", appeal_case),
    # POST only: an agent of the intake unit decides; a leader over it overturns.
    "api:appeal_repeat_confirm": (None, appeal_step),
    "api:appeal_repeat_accept": (None, appeal_step),
    "api:appeal_repeat_overturn": (None, appeal_step),
}

PAGES: dict[str, tuple[str, Expect]] = {
    # POST only (the case page shows the panel); a GET is refused as a method.
    "appeals_wb:repeat": ("/workbench/appeals/999999/repeat/confirm/", lambda who: {405}),
}
