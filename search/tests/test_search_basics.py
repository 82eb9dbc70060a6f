"""Keywords find appeals through the index; filters and visibility narrow them."""

from __future__ import annotations

from typing import Any

from appeals import services
from search.appeals import search


def test_a_two_character_word_finds_the_appeal_that_contains_it(
    submit: Any, dispatcher: Any
) -> None:
    noisy, _ = submit(text="楼下烧烤店每晚噪音扰民到凌晨两点。", title="烧烤店噪音")
    submit(text="小区路灯坏了一个月没人修。", title="路灯不亮")
    page = search(dispatcher, q="噪音")
    assert [a.pk for a in page] == [noisy.pk]
