"""Exact and near-duplicate detection: real messages with small edits, expiry, memory, command."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from textkit.cli import main
from textkit.dedupe import DedupeIndex, canonical, lsh_params

# Written for these tests, in the style of the message board: same topic, different messages.
SAME_TOPIC_DIFFERENT_MESSAGES = [
    "我家楼下的烧烤店每天营业到凌晨两点，油烟和噪音严重扰民，希望城管部门尽快处理。",
    "小区门口的道路坑洼不平，下雨天积水严重，居民出行非常不便，请住建局尽快维修。",
    "公司拖欠我们三个月的工资，多次讨要无果，请人社局帮助农民工讨回血汗钱。",
    "学校强制学生在校补课并收取费用，家长敢怒不敢言，请教育局调查处理。",
    "小区物业擅自提高物业费，服务质量却越来越差，业主意见很大，请有关部门监管。",
    "附近工地夜间违规施工，噪音扰民，居民无法正常休息，请生态环境局查处。",
]


def _edit(text: str, rng: random.Random, edits: int) -> str:
    chars = list(text)
    for _ in range(edits):
        i = rng.randrange(len(chars))
        op = rng.random()
        if op < 0.4:
            chars[i] = rng.choice("的了是在有这")
        elif op < 0.7:
            del chars[i]
        else:
            chars.insert(i, rng.choice("，。！啊"))
    return "".join(chars)


def _shingles(text: str, k: int = 3) -> set[str]:
    c = canonical(text)
    return {c[i : i + k] for i in range(len(c) - k + 1)} or {c}


def _jaccard(a: str, b: str) -> float:
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb)


@pytest.fixture(scope="module")
def messages(shared_data: Path) -> list[str]:
    path = shared_data / "tipdm2020_c" / "attachment2_details_partial.csv"
    with path.open(encoding="utf-8") as fh:
        bodies = [row["留言详情_clean"] for row in csv.DictReader(fh)]
    seen: set[str] = set()
    unique = []
    for body in bodies:
        c = canonical(body)
        if len(c) >= 40 and c not in seen:
            seen.add(c)
            unique.append(body)
    return unique


def test_exact_copies_match_after_width_case_and_whitespace_are_folded() -> None:
    index = DedupeIndex()
    original = "A市12345热线：小区门口垃圾无人清运，已经三天了！"
    assert index.add("m1", original) == []
    for variant in (
        original,
        "Ａ市１２３４５热线：小区门口垃圾无人清运，已经三天了！",
        "  A市 12345热线：小区门口垃圾无人清运，\n已经三天了！ ",
        "a市12345热线：小区门口垃圾无人清运，已经三天了!",
    ):
        assert index.query(variant) == [index.query(original)[0]]
        (match,) = index.query(variant)
        assert (match.key, match.similarity, match.exact) == ("m1", 1.0, True)
    assert canonical("Ａ市 １２３\u200b！") == "a市123!"


def test_an_exact_copy_is_not_stored_twice_and_points_at_the_first_key() -> None:
    index = DedupeIndex()
    results = index.add_many(["a", "b", "c"], ["同一条留言内容"] * 3)
    assert results[0] == []
    assert [m.key for m in results[1]] == ["a"]
    assert [m.key for m in results[2]] == ["a"]
    assert index.add("d", "同一条留言内容")[0].key == "a"
    assert len(index) == 1


def test_near_copies_of_real_messages_with_small_edits_are_found(messages: list[str]) -> None:
    rng = random.Random(7)
    originals = rng.sample(messages, 400)
    index = DedupeIndex(threshold=0.8)
    index.add_many(list(range(len(originals))), originals, match=False)
    edited = [_edit(t, rng, edits=max(1, len(t) // 80)) for t in originals]
    truth = np.array([_jaccard(a, b) for a, b in zip(originals, edited, strict=True)])
    found = np.array([any(m.key == i for m in r) for i, r in enumerate(index.query_many(edited))])
    clear = truth >= 0.9
    assert clear.sum() >= 300
    assert found[clear].mean() >= 0.93, f"recall {found[clear].mean():.3f} at Jaccard ≥ 0.9"


def test_different_real_messages_are_not_matched(messages: list[str]) -> None:
    rng = random.Random(11)
    sample = rng.sample(messages, 2000)
    index = DedupeIndex(threshold=0.8)
    results = index.add_many(list(range(len(sample))), sample)
    for i, matches in enumerate(results):
        for m in matches:
            # a reported pair really is close: the estimate's error is far below 0.2
            assert isinstance(m.key, int)
            assert _jaccard(sample[i], sample[m.key]) >= 0.6


def test_messages_on_the_same_topic_are_not_duplicates() -> None:
    index = DedupeIndex(threshold=0.5)
    results = index.add_many(
        list(range(len(SAME_TOPIC_DIFFERENT_MESSAGES))), SAME_TOPIC_DIFFERENT_MESSAGES
    )
    assert results == [[] for _ in SAME_TOPIC_DIFFERENT_MESSAGES]


def test_near_copies_inside_one_batch_point_at_the_earlier_row() -> None:
    base = SAME_TOPIC_DIFFERENT_MESSAGES[0]
    texts = [base, SAME_TOPIC_DIFFERENT_MESSAGES[1], base.replace("两点", "三点"), base + "谢谢！"]
    results = DedupeIndex().add_many(["a", "b", "c", "d"], texts)
    assert results[0] == results[1] == []
    assert results[2][0].key == "a" and not results[2][0].exact
    assert {m.key for m in results[3]} >= {"a"}
    assert all(0.8 <= m.similarity < 1.0 for m in results[2] + results[3])


def test_the_threshold_is_respected(messages: list[str]) -> None:
    rng = random.Random(3)
    originals = rng.sample(messages, 300)
    edited = [_edit(t, rng, edits=max(1, int(len(t) * rng.uniform(0, 0.1)))) for t in originals]
    for threshold in (0.5, 0.7, 0.9):
        index = DedupeIndex(threshold=threshold)
        index.add_many(list(range(len(originals))), originals, match=False)
        results = index.query_many(edited)
        sims = [m.similarity for r in results for m in r]
        assert sims, f"nothing found at threshold {threshold}"
        assert min(sims) >= threshold
    loose, strict = DedupeIndex(threshold=0.5), DedupeIndex(threshold=0.95)
    for index in (loose, strict):
        index.add_many(list(range(len(originals))), originals, match=False)
    assert sum(map(len, loose.query_many(edited))) > sum(map(len, strict.query_many(edited)))


def test_items_expire_by_age_and_the_rest_are_still_found(messages: list[str]) -> None:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    texts = messages[:400]
    times = [start + timedelta(hours=i) for i in range(len(texts))]
    index = DedupeIndex()
    index.add_many(list(range(len(texts))), texts, times)
    assert len(index) == 400
    assert index.expire(start + timedelta(hours=50)) == 50
    assert len(index) == 350
    assert all(m.key >= 50 for m in index.query(texts[10]))  # type: ignore[operator]
    assert index.query(texts[60])[0].key == 60
    # dropping most of the index compacts it; ids are renumbered, keys are not
    assert index.expire(start + timedelta(hours=300)) == 250
    assert len(index) == 100
    assert all(m.key >= 300 for m in index.query(texts[299]))  # type: ignore[operator]
    assert index.query(texts[350])[0].key == 350
    assert index.query(_edit(texts[399], random.Random(1), 1))[0].key == 399


def test_an_exact_repeat_keeps_its_first_copy_inside_the_window() -> None:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    index = DedupeIndex()
    index.add("first", "同一条投诉反复出现", start)
    index.add("again", "同一条投诉反复出现", start + timedelta(days=10))
    assert index.expire(start + timedelta(days=5)) == 0
    assert index.query("同一条投诉反复出现")[0].key == "first"
    with pytest.raises(ValueError, match="time zone"):
        index.add("naive", "没有时区的时间", datetime(2024, 5, 1))  # noqa: DTZ001


def test_empty_texts_are_neither_matched_nor_stored() -> None:
    index = DedupeIndex()
    assert index.add_many(["a", "b", "c"], ["", "  \n", "\u3000"]) == [[], [], []]
    assert len(index) == 0
    assert index.query("") == []


def test_memory_per_item_stays_bounded(messages: list[str]) -> None:
    index = DedupeIndex()
    keys = [f"m{i:07d}" for i in range(len(messages))]
    for start in range(0, len(messages), 1000):
        index.add_many(keys[start : start + 1000], messages[start : start + 1000])
    assert len(index) > 5000
    per_item = index.memory_bytes() / len(index)
    # a million items must fit in 1 GB; the steady state is about 420 bytes per item
    assert per_item < 1000, f"{per_item:.0f} bytes per item"


def test_signatures_estimate_jaccard_without_bias(messages: list[str]) -> None:
    rng = random.Random(5)
    originals = rng.sample(messages, 500)
    edited = [_edit(t, rng, edits=max(1, len(t) // 15)) for t in originals]
    index = DedupeIndex(num_perm=128)
    a, b = index.signatures(originals), index.signatures(edited)
    assert a.dtype == np.uint32 and a.shape == (500, 128)
    estimate = (a == b).mean(axis=1)
    truth = np.array([_jaccard(x, y) for x, y in zip(originals, edited, strict=True)])
    assert abs(float((estimate - truth).mean())) < 0.01
    assert float((estimate - truth).std()) < 0.06


def test_recall_is_on_par_with_datasketch(messages: list[str]) -> None:
    datasketch = pytest.importorskip("datasketch")
    rng = random.Random(9)
    originals = rng.sample(messages, 300)
    edited = [_edit(t, rng, edits=max(1, len(t) // 25)) for t in originals]
    truth = np.array([_jaccard(a, b) for a, b in zip(originals, edited, strict=True)])
    lsh = datasketch.MinHashLSH(threshold=0.8, num_perm=128)

    def minhash(text: str) -> object:
        m = datasketch.MinHash(num_perm=128)
        m.update_batch([s.encode("utf-8") for s in _shingles(text)])
        return m

    for i, text in enumerate(originals):
        lsh.insert(i, minhash(text))
    theirs = np.array([i in lsh.query(minhash(t)) for i, t in enumerate(edited)])
    index = DedupeIndex(threshold=0.8)
    index.add_many(list(range(len(originals))), originals, match=False)
    ours = np.array([any(m.key == i for m in r) for i, r in enumerate(index.query_many(edited))])
    close = truth >= 0.85
    assert ours[close].mean() >= theirs[close].mean() - 0.05


def test_lsh_parameters_fit_the_signature() -> None:
    for threshold in (0.5, 0.8, 0.9):
        bands, rows = lsh_params(threshold, 64)
        assert bands * rows <= 64
    assert lsh_params(0.9, 64)[1] > lsh_params(0.5, 64)[1]
    with pytest.raises(ValueError, match="threshold"):
        DedupeIndex(threshold=0)


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_the_command_adds_duplicate_of_and_similarity(tmp_path: Path) -> None:
    base = SAME_TOPIC_DIFFERENT_MESSAGES
    rows = [
        {"编号": "101", "内容": base[0], "时间": "2024-05-01 08:00:00"},
        {"编号": "102", "内容": base[1], "时间": "2024-05-01 09:00:00"},
        {"编号": "103", "内容": base[0] + " ", "时间": "2024-05-02 08:00:00"},
        {"编号": "104", "内容": base[1] + "谢谢！", "时间": "2024-05-03 08:00:00"},
        {"编号": "105", "内容": base[2], "时间": "2024-05-04 08:00:00"},
    ]
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write_csv(src, rows)
    code = main(
        [
            "dedupe",
            str(src),
            "--text",
            "内容",
            "--key",
            "编号",
            "--time",
            "时间",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    with out.open(encoding="utf-8") as fh:
        got = list(csv.DictReader(fh))
    assert [r["duplicate_of"] for r in got] == ["", "", "101", "102", ""]
    assert got[2]["similarity"] == "1.000"
    assert 0.8 <= float(got[3]["similarity"]) < 1.0
    assert list(got[0]) == ["编号", "内容", "时间", "duplicate_of", "similarity"]


def test_the_command_uses_row_numbers_without_a_key_column(tmp_path: Path) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write_csv(src, [{"text": "路灯坏了很久"}, {"text": "路灯坏了很久"}])
    assert main(["dedupe", str(src), "--text", "text", "--out", str(out)]) == 0
    with out.open(encoding="utf-8") as fh:
        assert [r["duplicate_of"] for r in csv.DictReader(fh)] == ["", "2"]


def test_the_command_names_bad_input_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write_csv(
        src, [{"id": "1", "text": "甲", "t": "2024-05-01"}, {"id": "1", "text": "乙", "t": "昨天"}]
    )
    assert main(["dedupe", str(src), "--text", "body", "--out", str(out)]) == 2
    assert "missing column 'body'" in capsys.readouterr().err
    assert main(["dedupe", str(src), "--text", "text", "--key", "id", "--out", str(out)]) == 2
    assert "row 3, column 'id'" in capsys.readouterr().err
    assert main(["dedupe", str(src), "--text", "text", "--time", "t", "--out", str(out)]) == 2
    assert "row 3, column 't'" in capsys.readouterr().err
    assert (
        main(["dedupe", str(src), "--text", "text", "--threshold", "1.5", "--out", str(out)]) == 2
    )
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [src]


def test_the_command_only_matches_rows_inside_the_window(tmp_path: Path) -> None:
    text = SAME_TOPIC_DIFFERENT_MESSAGES[3]
    rows = [
        {"id": "a", "text": text, "t": "2024-05-01"},
        {"id": "b", "text": text + "谢谢！", "t": "2024-05-20"},
        {"id": "c", "text": text + "谢谢！！", "t": "2024-05-22"},
    ]
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    _write_csv(src, rows)
    args = ["dedupe", str(src), "--text", "text", "--key", "id", "--time", "t", "--out", str(out)]
    assert main([*args, "--window-days", "7"]) == 0
    with out.open(encoding="utf-8") as fh:
        assert [r["duplicate_of"] for r in csv.DictReader(fh)] == ["", "", "b"]
    assert main(args) == 0
    with out.open(encoding="utf-8") as fh:
        assert [r["duplicate_of"] for r in csv.DictReader(fh)] == ["", "a", "b"]


def test_matches_are_limited_and_best_first() -> None:
    base = SAME_TOPIC_DIFFERENT_MESSAGES[4]
    variants = [base + "！" * i for i in range(1, 16)]
    index = DedupeIndex(threshold=0.5, limit=3)
    index.add_many([f"v{i}" for i in range(len(variants))], variants)
    (*_, last) = index.add_many(["x"], [base + "！" * 16])
    assert len(last) == 3
    sims = [m.similarity for m in last]
    assert sims == sorted(sims, reverse=True)
    everything = DedupeIndex(threshold=0.5, limit=None)
    everything.add_many([f"v{i}" for i in range(len(variants))], variants)
    assert len(everything.query(base + "！" * 16)) > 3
