"""Role policies of appeals/api_dispatch.py: suggestions, duplicates, templates, photos, reopen
and 信访 复查/复核. Who may act on a real appeal is tested in appeals/tests/test_more_api.py."""

from __future__ import annotations

from tests.test_role_matrix import Expect, appeal_case, appeal_step, public

API: dict[str, tuple[str | None, Expect]] = {
    # Staff reads of one case: outside the caller's scope (here: no such case) → 404.
    "api:appeal_suggestions": ("/api/appeals/999999/suggestions", appeal_case),
    "api:appeal_duplicates": ("/api/appeals/999999/duplicates", appeal_case),
    "api:appeal_templates": ("/api/appeals/999999/templates", appeal_case),
    # A photo: the owner, the secret holder or staff who may read the case; anyone else 404.
    "api:appeal_photo": ("/api/appeals/999999/photos/999999", public(404)),
    # POST only. Citizens with the secret (or as the owner) and the intake unit's staff.
    "api:appeal_photos": (None, public(201)),
    "api:appeal_reopen": (None, public(200)),
    "api:appeal_review": (None, public(201)),
    # POST only; a leader of the reviewing unit.
    "api:appeal_review_answer": (None, appeal_step),
}
