"""The test suite's sign-in backend for ``Client.force_login``.

``minsheng.settings_test`` lists it first, so ``force_login(user)`` (personas, browser journeys)
creates sessions through it. It authenticates nobody by password (``authenticate`` returns None,
the real ``ModelBackend`` does that) and declares that its sessions passed the second factor, so
tests about what an admin or auditor does after signing in need no TOTP dance. The enforcement
itself is tested with sessions made through the real backend (tests/security/test_second_factor.py).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend


class ForceLoginBackend(ModelBackend):
    satisfies_second_factor = True

    def authenticate(
        self, request: Any, username: Any = None, password: Any = None, **kw: Any
    ) -> None:
        return None
