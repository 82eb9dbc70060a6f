"""What the repeated-claim tests share: intake that runs its after-commit checks, a concluded
appeal, and the finding a second appeal of the same citizen about the same matter raises."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from appeals import services
from appeals.models import Appeal, RepeatFinding

PHONE = "13900139000"
ANSWER = "已清理摊贩并设置疏导点。"


@pytest.fixture
def submit(
    submit: Callable[..., tuple[Appeal, str]], django_capture_on_commit_callbacks: Any
) -> Callable[..., tuple[Appeal, str]]:
    """Intake as in production: the checks queued after the commit (the repeat check among
    them) run, inline here."""

    def make(*args: Any, **fields: Any) -> tuple[Appeal, str]:
        with django_capture_on_commit_callbacks(execute=True):
            return submit(*args, **fields)

    return make


def conclude(
    appeal: Appeal, dispatcher: Any, handler: Any, org_tree: Any, text: str = "已处理。"
) -> Appeal:
    """Take the appeal through the whole loop to 结案, answered with ``text``, rated satisfied."""
    services.do_register(appeal, dispatcher)
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    services.do_sign(appeal, handler)
    services.do_handle(appeal, handler)
    services.do_reply(appeal, handler, text=text)
    services.do_callback(appeal, dispatcher, rating="satisfied")
    services.do_close(appeal, dispatcher)
    return appeal


@pytest.fixture
def finding(
    submit: Callable[..., tuple[Appeal, str]], dispatcher: Any, handler: Any, org_tree: Any
) -> RepeatFinding:
    """A pending finding: the citizen's second appeal repeats their first, answered and closed."""
    first, _ = submit(contact_phone=PHONE)
    conclude(first, dispatcher, handler, org_tree, text=ANSWER)
    second, _ = submit(contact_phone=PHONE)
    return RepeatFinding.objects.get(appeal=second)
