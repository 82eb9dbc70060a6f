"""Own text and features of social-media items."""

from __future__ import annotations

import pytest

from opinion.engine.text import own_text, own_text_length, term_counts


@pytest.mark.parametrize(
    ("text", "own", "length"),
    [
        ("说得好//@甲: 真的吗//@乙: 原文", "说得好", 3),
        ("回复@小明: 我也看到了，太吓人", "我也看到了，太吓人", 8),
        ("转发微博", "", 0),
        ("[泪][蜡烛] 一路走好 http://t.cn/zY1QWp0 @章立凡 @徐昕", "一路走好", 4),
        ("支持！！！！！！！！！！", "支持！！！！！！！！！！", 2),
        ("Google要靠阿里巴巴了", "Google要靠阿里巴巴了", 13),
    ],
)
def test_own_text_drops_chain_mentions_links_emoticons_and_stock_phrases(
    text: str, own: str, length: int
) -> None:
    assert own_text(text) == own
    assert own_text_length(text) == length


def test_terms_are_character_ngrams_within_runs_plus_mentions_and_hashtags() -> None:
    counts = term_counts("#暴雨#积水，好 @江岸发布", 2, 3)
    assert counts["@江岸发布"] == 1 and counts["#暴雨#"] == 1
    assert counts["积水"] == 1 and counts["好"] == 1
    assert "水，" not in counts and "水好" not in counts
