"""Emotion and negativity model: real Weibo posts, a small model trained once, CLI errors."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from textkit.cli import main as cli_main
from textkit.sentiment import (
    DEFAULT_NEGATIVITY,
    ModelFormatError,
    SentimentModel,
    TrainingDataError,
    analyse,
    classification_metrics,
)

# Real posts from the SMP2020-EWECT test split (not used for training below), with obvious polarity.
OBVIOUS = [
    ("武汉也有逃跑的 我疯求了 什么傻逼啊", "negative"),
    ("微信居多，各种中医药方，能防到就有鬼了，祸害人的丧天良玩意", "negative"),
    ("救命，我还不想死。", "negative"),
    ("读完这个我确实也害怕了", "negative"),
    ("真的有点恐慌[允悲]", "negative"),
    ("太快了吧...我真的要哭了", "negative"),
    ("越刷越难过 又生气又难过", "negative"),
    ("[泪]那些不会用微博求助的老人该怎么办呀", "negative"),
    ("武汉人民要挺住起来。加油！", "positive"),
    ("武汉人民加油！白衣天使平安归来！", "positive"),
    ("[嘘][好喜欢][浮云]喜欢你没道理，么么[嘻嘻]", "positive"),
    ("#志愿者在行动# #严防死守冠状病毒#", "neutral"),
]

TRAIN_ROWS = 3000
TEST_ROWS = 1000


def _smp_rows(shared_data: Path) -> list[dict[str, str]]:
    path = shared_data / "smp2020_ewect" / "smp2020_ewect_weibo_emotion.csv"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _write_csv(path: Path, rows: list[dict[str, str]], fields: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def small(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A model trained once through the CLI on the first 3,000 training posts."""
    rows = _smp_rows(shared_data)
    train = [r for r in rows if r["split"] == "train"][:TRAIN_ROWS]
    test = [r for r in rows if r["split"] == "test"][:TEST_ROWS]
    folder = tmp_path_factory.mktemp("sentiment")
    train_csv = _write_csv(folder / "train.csv", train, ["id", "content", "label"])
    test_csv = _write_csv(folder / "test.csv", test, ["id", "content", "label"])
    model_dir = folder / "model"
    code = cli_main(
        [
            "sentiment",
            "train",
            "--input",
            str(train_csv),
            "--text",
            "content",
            "--label",
            "label",
            "--out",
            str(model_dir),
            "--quiet",
        ]
    )
    assert code == 0
    return {
        "dir": model_dir,
        "model": SentimentModel.load(model_dir),
        "test": test,
        "test_csv": test_csv,
        "folder": folder,
    }


def test_it_turns_weibo_markup_into_tokens() -> None:
    words, chars = analyse(["//@人民日报:太感动了[泪][心]！！！不开心 http://t.cn/A6vXyZ ??"])
    tokens = set(words[0])
    assert {"⟨repost⟩", "⟨url⟩", "⟨emoji⟩", "[泪]", "[心]", "⟨!!⟩"} <= tokens
    assert "¬开心" in tokens  # negation scope
    assert "http" not in chars[0] and "[泪]" not in chars[0]


def test_it_beats_chance_by_a_margin_on_unseen_posts(small: dict[str, object]) -> None:
    model = small["model"]
    assert isinstance(model, SentimentModel)
    test = small["test"]
    assert isinstance(test, list)
    preds = model.predict([r["content"] for r in test])
    gold = [r["label"] for r in test]
    ev = classification_metrics(gold, [p.emotion for p in preds])
    majority = Counter(gold).most_common(1)[0][1] / len(gold)
    # Chance for six classes is a macro-F1 near 1/6; the majority class alone gives about 0.12.
    assert ev["macro_f1"] > 0.40
    assert ev["accuracy"] > majority + 0.10
    neg_gold = [DEFAULT_NEGATIVITY[g] == "negative" for g in gold]
    neg_pred = [p.negativity == "negative" for p in preds]
    neg_acc = float(np.mean([a == b for a, b in zip(neg_gold, neg_pred, strict=True)]))
    assert neg_acc > max(np.mean(neg_gold), 1 - np.mean(neg_gold)) + 0.10


def test_it_reads_obvious_posts_right(small: dict[str, object]) -> None:
    model = small["model"]
    assert isinstance(model, SentimentModel)
    preds = model.predict([t for t, _ in OBVIOUS])
    right = sum(p.negativity == want for p, (_t, want) in zip(preds, OBVIOUS, strict=True))
    assert right >= len(OBVIOUS) - 3, [
        (t, p.negativity, p.emotion) for p, (t, _w) in zip(preds, OBVIOUS, strict=True)
    ]
    for p in preds:
        assert p.negativity == DEFAULT_NEGATIVITY[p.emotion] or p.negativity in (
            "negative",
            "neutral",
            "positive",
        )
        assert abs(sum(p.scores.values()) - 1.0) < 1e-6
        assert 0.0 < p.confidence <= 1.0


def test_it_gives_the_same_answers_after_save_and_load(
    small: dict[str, object], tmp_path: Path
) -> None:
    model = small["model"]
    assert isinstance(model, SentimentModel)
    texts = [t for t, _ in OBVIOUS]
    model.save(tmp_path / "copy")
    again = SentimentModel.load(tmp_path / "copy")
    np.testing.assert_allclose(model.probabilities(texts), again.probabilities(texts), atol=1e-6)
    meta = json.loads((tmp_path / "copy" / "model.json").read_text(encoding="utf-8"))
    assert meta["format_version"] == 1 and meta["negativity"]["surprise"] == "negative"
    assert meta["training"]["trained_rows"] == TRAIN_ROWS


def test_it_refuses_a_tampered_or_pickled_model(small: dict[str, object], tmp_path: Path) -> None:
    src = small["dir"]
    assert isinstance(src, Path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.json").write_bytes((src / "model.json").read_bytes())
    blob = bytearray((src / "arrays.npz").read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (bad / "arrays.npz").write_bytes(bytes(blob))
    with pytest.raises(ModelFormatError, match="checksum"):
        SentimentModel.load(bad)

    # An archive holding a pickled object array, with a matching checksum, is still refused.
    import io

    buf = io.BytesIO()
    np.savez(buf, word_terms=np.array([{"x": 1}], dtype=object))
    meta = json.loads((src / "model.json").read_text(encoding="utf-8"))
    meta["arrays_sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
    (bad / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    (bad / "arrays.npz").write_bytes(buf.getvalue())
    with pytest.raises(ModelFormatError):
        SentimentModel.load(bad)


def test_it_refuses_one_class_and_empty_texts() -> None:
    with pytest.raises(TrainingDataError, match="only one class"):
        SentimentModel.train(["太开心了", "好高兴"], ["happy", "happy"])
    with pytest.raises(TrainingDataError, match="empty"):
        SentimentModel.train(["太开心了", "  "], ["happy", "sad"])
    with pytest.raises(TrainingDataError, match="no negativity mapping"):
        SentimentModel.train(["太开心了", "气死了"], ["happy", "rage"])


def test_the_cli_predicts_and_evaluates(small: dict[str, object], tmp_path: Path) -> None:
    out = tmp_path / "pred.csv"
    code = cli_main(
        [
            "sentiment",
            "predict",
            "--model",
            str(small["dir"]),
            "--input",
            str(small["test_csv"]),
            "--text",
            "content",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == TEST_ROWS
    assert list(rows[0]) == ["id", "content", "label", "emotion", "negativity", "confidence"]
    assert {r["negativity"] for r in rows} <= {"negative", "neutral", "positive"}

    report = tmp_path / "r.md"
    code = cli_main(
        [
            "sentiment",
            "evaluate",
            "--model",
            str(small["dir"]),
            "--input",
            str(small["test_csv"]),
            "--text",
            "content",
            "--label",
            "label",
            "--report",
            str(report),
            "--quiet",
        ]
    )
    assert code == 0
    data = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["metrics"]["n"] == TEST_ROWS
    assert "macro-F1" in report.read_text(encoding="utf-8")


def test_the_cli_evaluates_polarity_codes_with_a_label_map(
    small: dict[str, object], tmp_path: Path
) -> None:
    reviews = tmp_path / "reviews.csv"
    _write_csv(
        reviews,
        [
            {"label": "1", "review": "房间很大，早餐丰富，服务热情，下次还来"},
            {"label": "0", "review": "太差了，房间又脏又吵，再也不会住了"},
        ],
        ["label", "review"],
    )
    report = tmp_path / "chn.md"
    code = cli_main(
        [
            "sentiment",
            "evaluate",
            "--model",
            str(small["dir"]),
            "--input",
            str(reviews),
            "--text",
            "review",
            "--label",
            "label",
            "--label-map",
            "0=negative,1=positive",
            "--report",
            str(report),
            "--quiet",
        ]
    )
    assert code == 0
    data = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))
    assert "emotion" not in data["metrics"] and data["metrics"]["negative_vs_rest"]["n"] == 2


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("content,label\n太开心了,happy\n好高兴,happy\n", [], "only one class"),
        ("content,label\n太开心了,happy\n,sad\n", [], "empty in 1 row(s): 3"),
        ("text,label\n太开心了,happy\n", [], "missing column 'content'"),
    ],
)
def test_the_cli_train_rejects_bad_input_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, extra: list[str], message: str
) -> None:
    data = tmp_path / "in.csv"
    data.write_text(content, encoding="utf-8")
    out = tmp_path / "model"
    code = cli_main(
        [
            "sentiment",
            "train",
            "--input",
            str(data),
            "--text",
            "content",
            "--label",
            "label",
            "--out",
            str(out),
            "--quiet",
            *extra,
        ]
    )
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_the_cli_rejects_a_binary_file_and_a_missing_model(
    small: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "photo.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    out = tmp_path / "pred.csv"
    code = cli_main(
        [
            "sentiment",
            "predict",
            "--model",
            str(small["dir"]),
            "--input",
            str(binary),
            "--text",
            "content",
            "--out",
            str(out),
        ]
    )
    assert code == 2 and str(binary) in capsys.readouterr().err
    code = cli_main(
        [
            "sentiment",
            "predict",
            "--model",
            str(tmp_path / "nope"),
            "--input",
            str(small["test_csv"]),
            "--text",
            "content",
            "--out",
            str(out),
        ]
    )
    assert code == 2 and "not a sentiment model folder" in capsys.readouterr().err
    assert not out.exists()


def test_the_console_command_is_wired() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "textkit.cli", "sentiment", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    for action in ("train", "predict", "evaluate", "benchmark"):
        assert action in done.stdout
