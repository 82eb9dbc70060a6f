"""Cleaning scraped pages: the seed page and the visible real web pages.

The manifest of the web pages is the judge where it carries a reference extraction; for the
others a table names a sentence of the article and a piece of the page's furniture.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from textkit.clean import InputError, clean_page
from textkit.cli import main
from textkit.normalise import normalise

REPO = Path(__file__).resolve().parents[2]

# Words of the seed page's SEO spam line; not one may survive in the body.
SPAM_WORDS = [
    "99热",
    "精品",
    "国产",
    "午夜",
    "性视频",
    "熟女",
    "老妇",
    "自拍",
    "亚洲",
    "黄色视频",
    "野战",
    "av",
    "中文字幕",
]
# County names from the place-name list after the article (a few of them).
COUNTY_NAMES = [
    "万山特区",
    "工布江达县",
    "柳州市",
    "沂南县",
    "焉耆",
    "西乌珠穆沁旗",
    "武清区",
    "涪陵区",
]


def key(text: str) -> str:
    """Text without whitespace and punctuation, for containment checks."""
    return re.sub(r"[\s\W_]+", "", normalise(text))


@pytest.fixture(scope="module")
def seed(shared_data: Path):  # type: ignore[no-untyped-def]
    path = shared_data / "seed_page" / "page.txt"
    return clean_page(path.read_bytes(), filename=path.name)


def test_the_seed_page_body_runs_from_the_first_paragraph_to_the_conclusion(seed) -> None:  # type: ignore[no-untyped-def]
    assert seed.paragraphs[0].startswith("群众工作是我党最大的政治优势。")
    assert seed.paragraphs[-1].startswith("总之,在新形势下,我们党员干部要牢记党的宗旨")
    assert seed.paragraphs[-1].endswith("真正做到权为民所用,利为民所谋。")
    assert any(p.startswith("3.2 加强学习提高自身素质") for p in seed.paragraphs)
    assert any(
        p.startswith("党员干部要转变观念,牢固树立为人民服务的宗旨意识") for p in seed.paragraphs
    )


def test_the_seed_page_body_is_simplified_without_pinyin(seed) -> None:  # type: ignore[no-untyped-def]
    body = seed.body
    assert "形势" in body and "群众" in body
    for traditional in ["勢", "眾", "黨", "關", "係", "(shì)", "(guān)"]:
        assert traditional not in body


def test_the_seed_page_body_has_no_spam_word_or_county_name(seed) -> None:  # type: ignore[no-untyped-def]
    body = seed.body.lower()
    for word in SPAM_WORDS + COUNTY_NAMES:
        assert word.lower() not in body, word
    reasons = {r.reason for r in seed.removed}
    assert {"SEO spam", "place-name list", "related links", "author bio", "references"} <= reasons


def test_the_seed_page_metadata_is_extracted(seed) -> None:  # type: ignore[no-untyped-def]
    assert seed.title == "新形势下群众工作浅探"
    assert seed.date == "2013-10-21 03:51"
    assert seed.author == "张燕"
    assert seed.source == "卷宗 2013年7期"
    assert seed.keywords == ["群众工作", "党群关系", "探索"]
    assert seed.abstract.startswith("改革开放纵深发展")
    assert "猜你喜欢" not in seed.body and "参考文献" not in seed.body and "1969" not in seed.body


def test_the_seed_page_garbled_spans_are_listed_not_repaired(seed) -> None:  # type: ignore[no-untyped-def]
    assert len(seed.garbled) == 4
    for g in seed.garbled:
        assert g.field == "paragraphs"
        text = seed.paragraphs[g.index]
        assert text[g.start : g.end] == g.sample
    assert any("\ue479" in g.sample for g in seed.garbled)
    assert sum("?yàn)" in g.sample for g in seed.garbled) == 3


# (file, a sentence of the article, furniture that must be gone)
PAGES = [
    ("article_163_9.html", "京沪高速施工就将进入第二阶段", "网易"),
    (
        "article_baijiahao_1.html",
        "英国汉普郡贝辛斯托克的一位女士放弃了她在殡仪馆的工作",
        "韩庚将在新西兰大婚",
    ),
    ("article_gzggw_1.html", "全县固定资产投资完成246.79亿元", "网站地图"),
    ("article_huanqiu_1.html", "西方世界的一些反华分子正试图串联起来", "感谢您的反馈"),
    (
        "article_njxfhn_1.html",
        "江门警方提示，接到自称是公安、检察院、法院、银行等单位人员的来电切勿轻易相信",
        "返回富达",
    ),
    ("article_other_1.html", "批准发行15500亿元特别国债购买外汇", "扫一扫在手机打开当前页"),
    ("article_sxmu_1.html", "第一条 为了深化国家监察体制改革", "设为首页"),
    ("article_thepaper_2.html", "广州南沙国际邮轮母港将于11月17日正式开港", "字号"),
    ("article_xds_1.html", "A股三大股指9月26日集体回调", "基金决策宝"),
    ("article_xinhuanet_1.html", "法国9日再次爆发全国跨行业大罢工", "加载更多"),
    ("article_zsnews_1.html", "佛山顺德区大良街道党工委委员", "打印本页"),
    ("article_zyyfy_1.html", "我院医技药剂党支部联合药剂科举办了2019年中药", "版权所有"),
    ("article_ifeng_2.html", "杭州市学军中学校长陈立群要退休了", "凤凰网"),
    ("article_163_2.html", "中国男篮以77比73战胜韩国队", "网友评论仅供其表达个人看法"),
    ("article_guancha_2.html", "中国半导体产业20年前腾飞", "小编最近文章"),
]


@pytest.fixture(scope="module")
def web(shared_data: Path) -> tuple[Path, dict[str, dict]]:  # type: ignore[type-arg]
    folder = shared_data / "web_pages_noisy_zh"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return folder, {Path(m["file"]).name: m for m in manifest}


def test_the_table_covers_every_visible_article_page(web) -> None:  # type: ignore[no-untyped-def]
    _, manifest = web
    articles = {name for name, m in manifest.items() if m["page_type"] == "article"}
    assert articles == {name for name, _, _ in PAGES}


@pytest.mark.parametrize(("name", "sentence", "furniture"), PAGES)
def test_each_web_page_yields_its_title_and_article_without_furniture(
    web, name: str, sentence: str, furniture: str
) -> None:  # type: ignore[no-untyped-def]
    folder, manifest = web
    page = clean_page((folder / "html" / name).read_bytes(), filename=name)
    assert page.title and len(key(page.title)) >= 6
    assert key(page.title) in key(manifest[name]["title_tag"])
    body = key(page.body)
    assert key(sentence) in body
    assert key(furniture) not in body
    assert key(page.title) not in key(page.paragraphs[0])[: len(key(page.title))]


@pytest.mark.parametrize(
    "name", ["article_163_2.html", "article_guancha_2.html", "article_ifeng_2.html"]
)
def test_the_body_matches_the_reference_extraction(web, name: str) -> None:  # type: ignore[no-untyped-def]
    folder, manifest = web
    reference = manifest[name]["gne_reference_output"]
    page = clean_page((folder / "html" / name).read_bytes(), filename=name)
    assert page.title is not None and key(page.title) == key(reference["title"])
    lines = [ln for ln in reference["content"].split("\n") if len(key(ln)) >= 40]
    body = key(page.body)
    found = sum(key(ln) in body for ln in lines)
    assert found >= 0.8 * len(lines), f"{found} of {len(lines)} reference paragraphs found"
    # Nothing much beyond the article: the body is at most 30% longer than the reference.
    assert len(body) <= 1.3 * len(key(reference["content"]))


def test_a_list_page_still_yields_its_title(web) -> None:  # type: ignore[no-untyped-def]
    folder, manifest = web
    page = clean_page(
        (folder / "html" / "listpage_tieba_1.html").read_bytes(), filename="listpage_tieba_1.html"
    )
    assert page.title and key(page.title) in key(manifest["listpage_tieba_1.html"]["title_tag"])


def test_garbled_characters_in_a_web_page_are_listed(web) -> None:  # type: ignore[no-untyped-def]
    folder, _ = web
    page = clean_page((folder / "html" / "article_thepaper_2.html").read_bytes(), filename="x.html")
    assert page.garbled and all(g.kind == "replacement_char" for g in page.garbled)


def test_the_json_has_exactly_the_agreed_keys(seed) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(seed.to_json())
    assert list(data) == [
        "title",
        "date",
        "author",
        "source",
        "keywords",
        "abstract",
        "paragraphs",
        "removed",
        "garbled",
    ]
    assert {"reason", "text", "line"} == set(data["removed"][0])
    assert {"field", "index", "start", "end", "kind", "sample"} == set(data["garbled"][0])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "is empty"),
        (b"\x00\x01\x02binary", "looks binary"),
        ("群众".encode("gbk") + b"\n", "not valid UTF-8"),
        (b"--- | ---\n", "no readable text"),
    ],
)
def test_clean_page_rejects_bad_input(raw: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        clean_page(raw, filename="bad.txt")


def test_the_cli_prints_json_for_the_seed_page(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["clean", str(shared_data / "seed_page" / "page.txt"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["title"] == "新形势下群众工作浅探"
    assert len(data["garbled"]) == 4


def test_the_cli_prints_readable_text_for_a_web_page(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            ["clean", str(shared_data / "web_pages_noisy_zh" / "html" / "article_xinhuanet_1.html")]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "法国全国大罢工再次严重影响交通" in out and "removed" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "is empty"),
        (b"\x7fELF\x00\x00", "looks binary"),
        ("群众工作".encode("gbk"), "not valid UTF-8"),
    ],
)
def test_the_cli_reports_bad_input_in_one_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    path = tmp_path / "page.txt"
    if content is not None:
        path.write_bytes(content)
    assert main(["clean", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and err.startswith("minsheng text clean: error:")


def test_the_normalise_cli_lists_garbled_spans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.txt"
    path.write_text("新形勢(shì)下，是因?yàn)椴糠贮h組織", encoding="utf-8")
    assert main(["normalise", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["text"].startswith("新形势下，")
    assert data["garbled"][0]["kind"] == "scrambled"


def test_the_installed_command_cleans_the_seed_page(shared_data: Path) -> None:
    exe = Path(sys.executable).parent / "minsheng"
    if not exe.exists():
        exe = REPO / ".venv" / "bin" / "minsheng"
    result = subprocess.run(
        [str(exe), "text", "clean", str(shared_data / "seed_page" / "page.txt"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["paragraphs"][0].startswith("群众工作是我党最大的政治优势")
