"""Charset detection on real page bytes: the bytes decide, not what the page declares."""

from __future__ import annotations

from pathlib import Path

import pytest
from opencc import OpenCC

from sources.encoding import canonical, chinese_score, decode_page
from sources.plugins.base import FetchError


def test_a_page_declaring_gb2312_but_stored_as_utf8_is_read_as_utf8(pages: Path) -> None:
    raw = (pages / "article_163_9.html").read_bytes()
    assert b"gb2312" in raw[:4096].lower()
    decoded = decode_page(raw, "text/html")
    assert decoded.encoding == "utf-8"
    assert "gb2312" in decoded.note
    assert "京沪高速" in decoded.text


def test_gbk_bytes_behind_a_latin1_header_are_read_as_gb18030(pages: Path) -> None:
    text = (pages / "article_xinhuanet_1.html").read_text(encoding="utf-8")
    decoded = decode_page(text.encode("gb18030"), "text/html; charset=ISO-8859-1")
    assert decoded.encoding == "gb18030"
    assert decoded.text == text


def test_big5_bytes_declared_as_gbk_are_read_as_big5(pages: Path) -> None:
    traditional = OpenCC("s2t").convert(
        (pages / "article_thepaper_2.html").read_text(encoding="utf-8")
    )
    data = traditional.encode("cp950", errors="ignore")
    decoded = decode_page(data, "text/html; charset=gbk")
    assert decoded.encoding == "cp950"
    assert decoded.text == data.decode("cp950")
    assert "gbk" in decoded.note


def test_gbk_bytes_declared_as_big5_are_read_as_gb18030(pages: Path) -> None:
    text = (pages / "article_other_1.html").read_text(encoding="utf-8")
    decoded = decode_page(text.encode("gb18030"), "text/html; charset=big5")
    assert decoded.encoding == "gb18030"
    assert decoded.text == text


def test_bytes_in_no_likely_encoding_are_a_bad_encoding() -> None:
    with pytest.raises(FetchError) as caught:
        decode_page(b"<html>\xff\xfe\xff\xff\x80\x80</html>", "text/html; charset=utf-8")
    assert caught.value.reason == "bad_encoding"


def test_charset_names_are_widened_to_the_codec_that_reads_real_pages() -> None:
    assert canonical("GB2312") == "gb18030"
    assert canonical("gbk") == "gb18030"
    assert canonical("Big5") == "cp950"
    assert canonical("no-such-charset") is None


def test_misread_text_scores_lower_than_the_right_reading() -> None:
    text = "市民反映东华街道夜间施工噪音扰民，希望有关部门尽快处理。"
    wrong = text.encode("gb18030").decode("cp950", errors="ignore")
    assert chinese_score(text) > chinese_score(wrong) + 0.5
