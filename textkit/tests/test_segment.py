"""Word segmentation: jieba compatibility on real messages, the user dictionary, the command."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from textkit.cli import main
from textkit.segment import DEFAULT_USERDICT, Segmenter, UserDictError, cut, parse_userdict_line

# jieba 0.42.1's own output (precise mode, HMM on) for text where the fast backend needs our fix:
# runs of ASCII letters, digits and symbols.
JIEBA_PRECISE = [
    (
        "2017.7.1-7.3填报志愿，电话0731-88888888",
        ["2017.7", ".", "1", "-", "7.3", "填报", "志愿", "，", "电话", "0731", "-", "88888888"],
    ),
    (
        "网址www.baidu.com，C++和AT&T",
        ["网址", "www", ".", "baidu", ".", "com", "，", "C++", "和", "AT&T"],
    ),
    ("占比30%左右，单价3.5元", ["占", "比", "30%", "左右", "，", "单价", "3.5", "元"]),
    (
        "小区门口的道路坑洼不平，下雨天积水严重",
        ["小区", "门口", "的", "道路", "坑洼", "不平", "，", "下雨天", "积水", "严重"],
    ),
    (
        "我们小区建于2000年代初，变压器为专用变压器",
        ["我们", "小区", "建于", "2000", "年代", "初", "，", "变压器", "为", "专用", "变压器"],
    ),
    ("iPhone6手机在天猫商城购买", ["iPhone6", "手机", "在", "天猫", "商城", "购买"]),
]

# Citizen-message sentences (written for these tests) and the dictionary words they must keep.
USER_WORDS = [
    ("楼下烧烤店油烟扰民，向城管执法局反映多次无果。", ["油烟扰民", "城管执法局"]),
    ("拨打12345热线后，住建局和人社局互相推诿。", ["12345热线", "住建局", "人社局"]),
    ("老旧小区改造迟迟不动工，希望生态环境局也来看看。", ["老旧小区改造", "生态环境局"]),
    ("卫健委回复说已转交信访局处理。", ["卫健委", "信访局"]),
    ("街道落实接诉即办，网格员当天就上门了。", ["接诉即办", "网格员"]),
    ("公司拖欠农民工工资半年，劳动监察不管。", ["农民工工资"]),
]


def _sample_texts(shared_data: Path, n_per_source: int = 300) -> list[str]:
    rng = random.Random(20240601)
    sources = [
        ("tipdm2020_c/attachment2_details_partial.csv", "留言详情_clean"),
        ("tipdm2020_c/attachment3_hot_issue_messages.csv", "留言详情"),
        ("smp2020_ewect/smp2020_ewect_weibo_emotion.csv", "content"),
        ("ced_weibo_rumor/ced_events.csv", "text"),
    ]
    texts: list[str] = []
    for name, column in sources:
        with (shared_data / name).open(encoding="utf-8") as fh:
            column_texts = [row[column] for row in csv.DictReader(fh) if row[column].strip()]
        texts += rng.sample(column_texts, min(n_per_source, len(column_texts)))
    return texts


def _spans(tokens: list[str]) -> set[tuple[int, int]]:
    spans, pos = set(), 0
    for tok in tokens:
        spans.add((pos, pos + len(tok)))
        pos += len(tok)
    return spans


@pytest.fixture(scope="module")
def plain() -> Segmenter:
    return Segmenter(userdict=None)


@pytest.fixture(scope="module")
def reference() -> Segmenter:
    return Segmenter(userdict=None, backend="jieba")


@pytest.fixture(scope="module")
def reference_with_dict() -> Segmenter:
    return Segmenter(backend="jieba")


def test_it_agrees_with_jieba_on_real_messages_and_posts(
    shared_data: Path, plain: Segmenter, reference: Segmenter
) -> None:
    texts = _sample_texts(shared_data)
    ours = plain.cut_many(texts)
    theirs = reference.cut_many(texts)
    total = sum(len(t) for t in theirs)
    agreeing = sum(len(_spans(a) & _spans(b)) for a, b in zip(ours, theirs, strict=True))
    assert plain.backend == "rjieba"
    assert agreeing / total >= 0.99, f"{agreeing}/{total} tokens agree with jieba"
    # every text is cut into pieces that put it back together
    assert all("".join(words) == text for words, text in zip(ours, texts, strict=True))


@pytest.mark.parametrize(("text", "expected"), JIEBA_PRECISE)
def test_it_cuts_ascii_runs_and_numbers_like_jieba(
    plain: Segmenter, text: str, expected: list[str]
) -> None:
    assert plain.cut(text) == expected
    assert plain.cut_many([text, text]) == [expected, expected]


@pytest.mark.parametrize(("text", "_expected"), JIEBA_PRECISE)
def test_it_matches_jieba_without_the_hmm_too(
    reference: Segmenter, text: str, _expected: list[str]
) -> None:
    fast = Segmenter(userdict=None, hmm=False)
    assert fast.cut(text) == list(reference._impl.cut(text, HMM=False))


@pytest.mark.parametrize(("text", "words"), USER_WORDS)
def test_the_shipped_user_dictionary_keeps_unit_names_and_policy_terms_whole(
    text: str, words: list[str]
) -> None:
    tokens = cut(text)
    for word in words:
        assert word in tokens, f"{word} not kept whole in {tokens}"


@pytest.mark.parametrize(("text", "_words"), USER_WORDS[:3])
def test_both_backends_agree_with_the_user_dictionary(
    reference_with_dict: Segmenter, text: str, _words: list[str]
) -> None:
    assert cut(text) == reference_with_dict.cut(text)


def test_a_word_added_at_run_time_is_kept_whole_from_then_on() -> None:
    seg = Segmenter(userdict=None)
    text = "欣胜园小区的变压器老化，夏天经常停电。"
    assert "欣胜园小区" not in seg.cut(text)
    freq = seg.add_word("欣胜园小区")
    assert freq > 0
    assert seg.has_word("欣胜园小区")
    assert "欣胜园小区" in seg.cut(text)


def test_words_added_to_one_segmenter_do_not_leak_into_another() -> None:
    one, other = Segmenter(userdict=None), Segmenter(userdict=None)
    one.add_word("雨花亭街道")
    assert "雨花亭街道" in one.cut("雨花亭街道办事处门前积水")
    assert "雨花亭街道" not in other.cut("雨花亭街道办事处门前积水")


def test_load_userdict_reads_jieba_format_from_lines_and_files(tmp_path: Path) -> None:
    seg = Segmenter(userdict=None)
    added = seg.load_userdict(["# 注释", "", "星沙中贸城 50 ns", "格子铺 nz", "网签"])
    assert added == 3
    assert seg.cut("星沙中贸城的格子铺迟迟不能网签") == [
        "星沙中贸城",
        "的",
        "格子铺",
        "迟迟",
        "不能",
        "网签",
    ]
    path = tmp_path / "words.txt"
    path.write_text("\ufeff松雅湖\n", encoding="utf-8")
    assert seg.load_userdict(path) == 1
    assert "松雅湖" in seg.cut("松雅湖边的路灯坏了")


def test_a_bad_user_dictionary_names_the_line_and_adds_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("望城区\n青竹湖 镇 ns\n", encoding="utf-8")
    seg = Segmenter(userdict=None)
    with pytest.raises(UserDictError, match=r"bad.txt line 2"):
        seg.load_userdict(path)
    assert not seg.has_word("望城区")
    with pytest.raises(UserDictError, match="does not exist"):
        seg.load_userdict(tmp_path / "missing.txt")
    (tmp_path / "gbk.txt").write_bytes("望城区\n".encode("gbk"))
    with pytest.raises(UserDictError, match="not UTF-8"):
        seg.load_userdict(tmp_path / "gbk.txt")


def test_add_word_rejects_blank_words_and_negative_frequencies() -> None:
    seg = Segmenter(userdict=None)
    with pytest.raises(ValueError, match="non-empty"):
        seg.add_word("  ")
    with pytest.raises(ValueError, match="negative"):
        seg.add_word("网格", -1)


def test_parse_userdict_line_splits_word_frequency_and_tag() -> None:
    assert parse_userdict_line("城管执法局 100 nt") == ("城管执法局", 100, "nt")
    assert parse_userdict_line("接诉即办 nz") == ("接诉即办", None, "nz")
    assert parse_userdict_line("12345热线") == ("12345热线", None, None)
    assert parse_userdict_line("# comment") is None
    assert parse_userdict_line("   ") is None


def test_the_shipped_dictionary_parses_cleanly() -> None:
    lines = DEFAULT_USERDICT.read_text(encoding="utf-8").splitlines()
    entries = [e for e in map(parse_userdict_line, lines) if e]
    assert len(entries) >= 50
    assert all(" " not in word for word, _, _ in entries)


def test_the_command_prints_one_line_of_words_per_input_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "in.txt"
    path.write_text("拨打12345热线反映噪音扰民\n\n卫健委已回复\n", encoding="utf-8")
    assert main(["segment", str(path), "--sep", "/"]) == 0
    assert capsys.readouterr().out == "拨打/12345热线/反映/噪音扰民\n\n卫健委/已/回复\n"


def test_the_command_loads_an_extra_user_dictionary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "in.txt"
    path.write_text("欣胜园小区停电\n", encoding="utf-8")
    words = tmp_path / "places.txt"
    words.write_text("欣胜园小区 ns\n", encoding="utf-8")
    assert main(["segment", str(path), "--userdict", str(words)]) == 0
    assert capsys.readouterr().out == "欣胜园小区 停电\n"


def test_the_command_names_a_missing_file_or_dictionary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["segment", str(tmp_path / "nope.txt")]) == 2
    assert "nope.txt" in capsys.readouterr().err
    path = tmp_path / "in.txt"
    path.write_text("文本\n", encoding="utf-8")
    assert main(["segment", str(path), "--userdict", str(tmp_path / "dict.txt")]) == 2
    assert "dict.txt does not exist" in capsys.readouterr().err
