"""Normalisation of scraped Chinese text, with tables of real sentences."""

from __future__ import annotations

from pathlib import Path

import pytest

from textkit.normalise import (
    InputError,
    analyse,
    decode_bytes,
    find_garbled,
    normalise,
    normalise_many,
    to_simplified,
)

TRADITIONAL = [
    ("群眾工作是我黨最大的政治優勢。", "群众工作是我党最大的政治优势。"),
    (
        "保持黨和群眾的血肉聯繫，是鞏固黨的執政基礎的迫切需要。",
        "保持党和群众的血肉联系，是巩固党的执政基础的迫切需要。",
    ),
    ("臺灣的乾淨街道", "台湾的干净街道"),
    ("頭髮與後來", "头发与后来"),
    ("網絡輿情傳遞快速、覆蓋廣", "网络舆情传递快速、覆盖广"),
]

PINYIN = [
    ("新形勢(shì)下群眾工作淺探", "新形势下群众工作浅探"),
    ("關(guān)鍵詞", "关键词"),
    ("形勢（shì）", "形势"),
    ("形勢(shi4)", "形势"),
    ("形勢（xíng shì）嚴峻", "形势严峻"),
    ("社會(huì)主義建設(shè)時(shí)期", "社会主义建设时期"),
]

FULL_WIDTH_AND_ENTITIES = [
    ("ＡＢＣ１２３", "ABC123"),
    ("同比增长１５．３％", "同比增长15.3%"),
    ("北京&nbsp;上海", "北京 上海"),
    ("A&amp;B公司", "A&B公司"),
    ("&lt;关于重庆谈判&gt;", "<关于重庆谈判>"),
    ("双重转义&amp;nbsp;空格", "双重转义 空格"),
    ("\u3000\u3000第十届全国人民代表大会常务委员会", "第十届全国人民代表大会常务委员会"),
    ("作为全国重点高中校长， 教育部中学校长", "作为全国重点高中校长，教育部中学校长"),
    ("零\u200b宽\ufeff字符", "零宽字符"),
    ("第一段\r\n\r\n\r\n\r\n第二段", "第一段\n\n第二段"),
]

UNCHANGED = [
    "人工智能(AI)与增强现实（AR）",
    "张燕(1969-),女,籍贯山东",
    "著名作家的著作",
    "乾隆皇帝",
    "姚明对周琦说了啥？周琦上下半场判若两人",
    "收盘播报：A股三大股指集体回调",
    "Sea Shepard组织",
    "第十一条（一）对公职人员开展廉政教育；",
    "港铁公司车务营运总监黄琨暐表示",
    "2019-09-07 15:14:21",
    "★★★好评↓↓↓",
    "你去哪?我在等你",
    "你还不知道？",
    "须赶紧匍匐于地，喏喏连声",
    "踌躇满志的魑魅魍魉",
    "五星好评★★★★★■■■■■",
]


@pytest.mark.parametrize(("raw", "expected"), TRADITIONAL)
def test_it_converts_traditional_to_simplified(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), PINYIN)
def test_it_removes_inline_pinyin_annotations(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), FULL_WIDTH_AND_ENTITIES)
def test_it_folds_full_width_forms_entities_and_whitespace(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize("text", UNCHANGED)
def test_it_leaves_clean_simplified_text_alone(text: str) -> None:
    assert normalise(text) == text
    assert find_garbled(text) == []


@pytest.mark.parametrize(
    ("raw", "kind", "sample"),
    [
        ("群众工作之所以难做,是因?yàn)椴糠贮h组织不接地气", "scrambled", "?yàn)椴糠贮h"),
        ("与群众敞开心扉谈形势、谈?wù)\ue479?、谈?wèn)题", "scrambled", "?wù)\ue479?、谈?wèn)"),
        ("页面里有私用区字符\ue479\ue480在中间", "private_use", "\ue479\ue480"),
        ("������据介绍，在航站楼内部", "replacement_char", "������"),
        ("这是??的问题", "question_marks", "??"),
        ("编码错了：ÖÐ¹úÈËÃñ读成拉丁文", "mojibake", "ÖÐ¹úÈËÃñ"),
        ("鍥犵偤閮ㄥ垎榛ㄧ祫绻是读错的", "scrambled", "锲犵偤閮ㄥ垎榛ㄧ祫绻"),
        ("符号汤※◆■〓出现在正文里", "symbol_soup", "※◆■〓"),
    ],
)
def test_it_reports_garbled_spans_with_offsets_into_the_normalised_text(
    raw: str, kind: str, sample: str
) -> None:
    result = analyse(raw)
    assert [g.kind for g in result.garbled] == [kind]
    span = result.garbled[0]
    assert result.text[span.start : span.end] == sample
    assert span.sample == sample


def test_it_never_repairs_a_garbled_span() -> None:
    raw = "是因?yàn)椴糠贮h组织"
    assert "?yàn)" in normalise(raw)


def test_the_seed_page_has_its_scrambled_spans_found(shared_data: Path) -> None:
    text = (shared_data / "seed_page" / "page.txt").read_text(encoding="utf-8")
    result = analyse(text)
    assert "形势" in result.text and "形勢" not in result.text and "(shì)" not in result.text
    samples = [result.text[g.start : g.end] for g in result.garbled]
    assert len(samples) == 4
    assert all("?" in s for s in samples)
    assert any("\ue479" in s for s in samples)


def test_normalise_many_matches_normalise_one_by_one() -> None:
    texts = [raw for raw, _ in TRADITIONAL + PINYIN] + UNCHANGED + ["", "纯英文 only"]
    assert normalise_many(texts) == [normalise(t) for t in texts]


def test_to_simplified_skips_text_without_traditional_characters() -> None:
    text = "群众工作是我党最大的政治优势"
    assert to_simplified(text) is text


def test_normalise_is_idempotent() -> None:
    for raw, _ in TRADITIONAL + PINYIN + FULL_WIDTH_AND_ENTITIES:
        once = normalise(raw)
        assert normalise(once) == once


@pytest.mark.parametrize(
    ("data", "encoding", "message"),
    [
        (b"", None, "is empty"),
        (b"  \n\t ", None, "is empty"),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", None, "looks binary"),
        ("群众工作".encode("gbk"), None, "is not valid UTF-8"),
        ('<meta charset="utf-8">群众'.encode("gbk"), None, "declares charset utf-8"),
        ("群众工作".encode(), "gbk", "is valid UTF-8, not gbk"),
        (b"abc", "no-such-codec", "unknown encoding"),
    ],
)
def test_it_rejects_bad_input_with_a_clear_message(
    data: bytes, encoding: str | None, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        decode_bytes(data, "page.txt", encoding)


def test_it_reads_gbk_when_told_or_declared() -> None:
    assert decode_bytes("群众工作".encode("gbk"), "a.txt", "gb18030")[0] == "群众工作"
    html = '<meta charset="gb2312"><p>群众工作</p>'.encode("gbk")
    assert "群众工作" in decode_bytes(html, "a.html")[0]


def test_a_utf8_page_that_declares_gb2312_is_read_as_utf8_with_a_warning() -> None:
    html = '<meta charset="gb2312"><p>群众工作</p>'.encode()
    text, warnings = decode_bytes(html, "a.html")
    assert "群众工作" in text
    assert warnings and "gb2312" in warnings[0]
