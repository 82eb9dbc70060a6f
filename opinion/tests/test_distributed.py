"""The 舆情 backfill on Dask: the same results as the single-process pipeline, bad input named.

The equivalence test runs a real two-worker LocalCluster over real Weibo posts (CED cascades and
SMP2020-EWECT posts) with near and exact copies added inside the dedupe window, cut into many
small chunks so that both workers take part and chunk borders fall inside cascades.
"""

from __future__ import annotations

import csv
import itertools
import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from opinion.distributed import (
    BackfillConfig,
    SignedDedupeIndex,
    byte_ranges,
    record,
    run_distributed,
    run_single,
    sign,
)
from opinion.engine import EngineOptions
from opinion.engine.replay import item_from_row
from opinion.management.commands.opinion import Command
from textkit.dedupe import DedupeIndex, Match
from textkit.normalise import normalise_many

from ..engine.tests.helpers import at

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA / "ced_weibo_rumor").is_dir(), reason=f"the shared data folder {DATA} is absent"
)

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def _real_posts(n_cascade: int, n_smp: int) -> list[dict[str, Any]]:
    """Reposts of the busiest CED cascades (with their parents) and SMP posts, one every 20 s,
    then a near or exact copy of every fifth post with text, within the dedupe window."""
    folder = DATA / "ced_weibo_rumor"
    reposts = _rows(folder / "ced_reposts_sample240.csv")
    counts: dict[str, int] = {}
    for r in reposts:
        counts[r["event_id"]] = counts.get(r["event_id"], 0) + 1
    busiest = sorted(counts, key=lambda e: -counts[e])[:6]
    sources = {
        r["event_id"]: r for r in _rows(folder / "ced_events.csv") if r["event_id"] in busiest
    }
    rows: list[dict[str, Any]] = [{"id": e, "text": sources[e]["text"]} for e in busiest]
    seen: set[str] = set(busiest)
    for r in reposts:
        if r["event_id"] in sources and r["mid"] not in seen and len(rows) < n_cascade:
            seen.add(r["mid"])
            rows.append(
                {"id": r["mid"], "text": r["text"], "parent_id": r["parent_mid"] or r["event_id"]}
            )
    smp = [
        r
        for r in _rows(DATA / "smp2020_ewect" / "smp2020_ewect_weibo_emotion.csv")
        if r["content"].strip()
    ]
    rng = random.Random(7)
    for r in rng.sample(smp, n_smp):
        rows.insert(
            rng.randrange(len(rows)), {"id": f"smp{r['domain']}{r['id']}", "text": r["content"]}
        )
    copies = []
    for i, row in enumerate(rows):
        text = row["text"]
        if i % 5 == 0 and len(text) > 25:
            cut = rng.randrange(len(text)) if i % 10 else len(text)
            copies.append({"id": f"{row['id']}~copy", "text": text[:cut] + text[cut + 1 :]})
    rows += copies
    for n, row in enumerate(rows):
        row["time"] = (at(0) + timedelta(seconds=20 * n)).isoformat()
    return rows


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    from textkit.route import RouteModel
    from textkit.sentiment import SentimentModel

    folder = tmp_path_factory.mktemp("models")
    rng = random.Random(3)
    emotion = [
        (r["content"], r["label"])
        for r in _rows(DATA / "smp2020_ewect" / "smp2020_ewect_weibo_emotion.csv")
        if r["split"] == "train" and r["content"].strip()
    ]
    texts, labels = zip(*rng.sample(emotion, 1500), strict=True)
    SentimentModel.train(list(texts), list(labels)).save(folder / "sentiment")
    route = [
        (r["留言详情_clean"], r["一级标签"])
        for r in _rows(DATA / "tipdm2020_c" / "attachment2_details_partial.csv")
        if r["留言详情_clean"].strip() and "|" not in r["一级标签"]
    ]
    texts, labels = zip(*rng.sample(route, 800), strict=True)
    RouteModel.train(list(texts), list(labels)).save(folder / "route")
    return str(folder / "route"), str(folder / "sentiment")


@needs_data
def test_the_dask_backfill_gives_exactly_the_single_process_results_on_real_posts(
    tmp_path: Path, models: tuple[str, str]
) -> None:
    route, sentiment = models
    path = _write(tmp_path / "posts.jsonl", _real_posts(1800, 500))
    config = BackfillConfig(route=route, sentiment=sentiment, options=EngineOptions().to_json())
    with (tmp_path / "single.jsonl").open("w", encoding="utf-8") as fh:
        single = run_single(path, config, fh, chunk_bytes=32 * 1024)
    with (tmp_path / "dask.jsonl").open("w", encoding="utf-8") as fh:
        dask = run_distributed(path, config, fh, workers=2, chunk_bytes=32 * 1024)
    a = (tmp_path / "single.jsonl").read_text(encoding="utf-8").splitlines()
    b = (tmp_path / "dask.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(a) == len(b) == single.posts == dask.posts > 2000
    assert a == b
    # The sample exercises every reduced step: exact and near duplicates, events, alerts.
    out = [json.loads(line) for line in b]
    exact = [r for r in out if r["id"].endswith("~copy") and r["duplicate_of"] == r["id"][:-5]]
    assert len(exact) > 20
    assert sum(1 for r in out if r["duplicate_of"]) > len(exact)
    assert dask.alerts > 0 and dask.events_started > 10
    assert {r["sentiment"] for r in out} >= {"negative", "positive"}
    assert len({r["category"] for r in out}) >= 3
    assert single.engine is not None and dask.engine is not None
    assert [e.to_json() for e in dask.engine.events(include_merged=True)] == [
        e.to_json() for e in single.engine.events(include_merged=True)
    ]
    assert [x.to_json() for x in dask.engine.alerts()] == [
        x.to_json() for x in single.engine.alerts()
    ]
    assert sorted(dask.worker_peak_mb) and len(dask.worker_peak_mb) == 2

    # run_single is the public engine: Engine.process (batches of 512, not chunks) agrees with
    # it, except that the route model's probabilities move by about 1e-6 with the batch a text
    # is scored in (float32 sums), so a text whose two best labels tie that closely may differ.
    engine = config.engine()
    items = [item_from_row(json.loads(line)) for line in path.read_text("utf-8").splitlines()]
    public = [record(o, [], [], tokens=False) for o in engine.process(items)]
    keys = ("id", "relevant", "duplicate_of", "sentiment", "emotion", "event_id")
    assert [{k: r[k] for k in keys} for r in public] == [{k: r[k] for k in keys} for r in out]
    assert engine.route is not None
    texts = {it.id: it.text for it in items}
    for p, d in zip(public, out, strict=True):
        if p["category"] != d["category"]:
            top = engine.route.predict(normalise_many([texts[p["id"]]]), top=2)[0].top
            assert top[0][1] - top[1][1] < 1e-4, (p["id"], top)


def test_signatures_computed_ahead_give_the_matches_the_index_finds_itself() -> None:
    texts = [
        "小区门口的垃圾已经堆了一个星期，物业一直不来清理，气味很大",
        "小区门口的垃圾已经堆了一个星期，物业一直不来清理，气味很大！",
        "小区门口垃圾已经堆了一个星期，物业一直不来清理，气味很大",
        "地铁四号线早高峰又停运了半个小时，请尽快给个说法",
        "小区门口的垃圾已经堆了一个星期，物业一直不来清理，气味很大",
        "地铁四号线早高峰又停运了半个小时，请尽快给出说法吧",
        "今天天气不错，去公园散步看到很多人在放风筝，心情很好",
    ] * 3
    ahead = SignedDedupeIndex(threshold=0.8, limit=1)
    plain = DedupeIndex(threshold=0.8, limit=1)
    signed = sign(DedupeIndex(threshold=0.8, limit=1), 20, texts)
    matches: list[Match] = []
    assert signed.rows.tolist() == list(range(len(texts)))
    for j, text in enumerate(texts):
        ahead.presigned[f"p{j}"] = (
            signed.hashes[j : j + 1],
            signed.sigs[j : j + 1],
            signed.bands[j : j + 1],
        )
        t = 3600.0 * j
        if j == 14:  # expiry behaves the same on both
            assert ahead.expire(t - 4 * 3600) == plain.expire(t - 4 * 3600) > 0
        found = ahead.add(f"p{j}", text, t)
        assert found == plain.add(f"p{j}", text, t)
        assert not ahead.presigned
        matches.extend(found)
    assert len(ahead) == len(plain)
    assert {m.exact for m in matches} == {True, False}


def test_byte_ranges_cover_the_file_in_whole_lines(tmp_path: Path) -> None:
    rng = random.Random(1)
    lines = ["行" * rng.randrange(0, 40) + str(i) for i in range(300)]
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")  # no newline after the last line
    data = path.read_bytes()
    for size in (1, 7, 100, 4096, len(data) + 10):
        ranges = list(byte_ranges(path, size))
        assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
        assert all(data[e - 1 : e] == b"\n" for _, e in ranges[:-1])


def _run(*args: str) -> None:
    call_command(Command(), "backfill", "--quiet", *args)


def test_the_command_skips_bad_lines_by_their_line_number_across_chunks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        json.dumps({"id": f"p{i}", "time": at(i).isoformat(), "text": f"第{i}条：道路积水严重"})
        for i in range(400)
    ]
    rows[3] = "{not json"
    rows[250] = json.dumps({"id": "p250", "text": "没有时间"})
    rows[251] = ""
    rows[399] = json.dumps({"id": "p399", "time": "昨天", "text": "时间读不懂"})
    path = tmp_path / "posts.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out" / "results.jsonl"
    report = tmp_path / "report.json"
    _run(
        "--input",
        str(path),
        "--out",
        str(out),
        "--workers",
        "2",
        "--chunk-mb",
        "0.004",
        "--report",
        str(report),
    )
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(results) == 396
    assert [r["id"] for r in results[:4]] == ["p0", "p1", "p2", "p4"]
    summary = json.loads(report.read_text(encoding="utf-8"))
    assert summary["workers"] == 2 and summary["posts"] == 396
    assert [b["line"] for b in summary["bad_line_list"]] == [4, 251, 400]
    err = capsys.readouterr().err
    assert f"{path}:4: skipped: malformed JSON" in err
    assert f"{path}:251: skipped: missing time" in err
    assert "昨天" in err
    assert not out.with_name(out.name + ".tmp").exists()


def test_a_csv_file_is_refused_with_what_to_give_instead(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text("id,time,text\n1,2024-05-01 08:00,停水\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"JSON Lines \(\.jsonl\)"):
        _run("--input", str(path), "--out", str(tmp_path / "o.jsonl"), "--workers", "0")
    assert not (tmp_path / "o.jsonl").exists()


def test_a_missing_model_folder_is_named(tmp_path: Path) -> None:
    path = tmp_path / "posts.jsonl"
    path.write_text("", encoding="utf-8")
    with pytest.raises(CommandError, match=r"--sentiment .*no such model folder"):
        _run(
            "--input",
            str(path),
            "--out",
            str(tmp_path / "o.jsonl"),
            "--sentiment",
            str(tmp_path / "nope"),
        )
