"""The appeal router: train → predict → evaluate through the CLI, safe model files, bad input."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from textkit.cli import main
from textkit.route import (
    FORMAT_VERSION,
    ModelFormatError,
    RouteModel,
    TrainingDataError,
    duplicate_pairs,
    evaluate,
)
from textkit.tabular import load_table, read_table, write_csv_atomic

TEXT = ["--text", "留言主题", "--text", "留言详情"]
LABEL = ["--label", "一级标签"]


@pytest.fixture(scope="module")
def real_rows(shared_data: Path) -> list[dict[str, str]]:
    table = load_table(
        shared_data / "tipdm2020_c" / "attachment2_rows_partial.csv",
        ["留言主题", "留言详情", "一级标签"],
    )
    return table.rows


@pytest.fixture(scope="module")
def files(real_rows: list[dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real training subset (first 400 rows) and a disjoint test subset (next 150)."""
    folder = tmp_path_factory.mktemp("route")
    fields = ["留言编号", "留言主题", "留言详情", "一级标签"]
    pick = [{k: r[k] for k in fields} for r in real_rows]
    write_csv_atomic(folder / "train.csv", pick[:400], fields)
    write_csv_atomic(folder / "test.csv", pick[400:550], fields)
    return folder


@pytest.fixture(scope="module")
def trained(files: Path) -> Path:
    model = files / "model"
    code = main(["route", "train", "--input", str(files / "train.csv"), *TEXT, *LABEL,
                 "--out", str(model), "--quiet"])  # fmt: skip
    assert code == 0
    return model


def test_a_model_trained_through_the_cli_predicts_and_evaluates(files: Path, trained: Path) -> None:
    out = files / "predicted.csv"
    code = main(["route", "predict", "--model", str(trained), "--input", str(files / "test.csv"),
                 *TEXT, "--out", str(out), "--top", "3", "--quiet"])  # fmt: skip
    assert code == 0
    rows = read_table(out)
    assert len(rows) == 150
    assert list(rows[0]) == [
        "留言编号", "留言主题", "留言详情", "一级标签", "label", "confidence",
        "top1_label", "top1_score", "top2_label", "top2_score", "top3_label", "top3_score",
    ]  # fmt: skip
    for row in rows:
        assert row["label"] == row["top1_label"]
        assert float(row["top1_score"]) >= float(row["top2_score"]) >= float(row["top3_score"])
        assert 0.0 < float(row["confidence"]) <= 1.0
    correct = sum(r["label"] == r["一级标签"] for r in rows)
    assert correct / len(rows) > 0.5  # seven classes: chance is about 0.2

    report = files / "eval.md"
    code = main(["route", "evaluate", "--model", str(trained), "--input", str(files / "test.csv"),
                 *TEXT, *LABEL, "--report", str(report), "--quiet"])  # fmt: skip
    assert code == 0
    data = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["n"] == 150
    assert data["accuracy"] == pytest.approx(correct / len(rows))
    assert set(data["per_class"]["城乡建设"]) == {"precision", "recall", "f1", "support"}
    assert sum(map(sum, data["confusion"]["rows_true_columns_predicted"])) == 150
    markdown = report.read_text(encoding="utf-8")
    assert "macro-F1" in markdown and "Confusion matrix" in markdown


def test_a_reloaded_model_gives_identical_predictions(files: Path, trained: Path) -> None:
    rows = read_table(files / "test.csv")
    texts = [(r["留言主题"], r["留言详情"]) for r in rows]
    first = RouteModel.load(trained).probabilities(texts)
    again = RouteModel.load(trained).probabilities(texts)
    assert np.array_equal(first, again)
    meta = json.loads((trained / "model.json").read_text(encoding="utf-8"))
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["fields"] == ["留言主题", "留言详情"]
    assert len(meta["training"]["training_data_sha256"]) == 64


def test_saving_a_model_in_memory_changes_nothing(
    files: Path, real_rows: list[dict[str, str]]
) -> None:
    texts = [(r["留言主题"], r["留言详情"]) for r in real_rows[:200]]
    labels = [r["一级标签"] for r in real_rows[:200]]
    model = RouteModel.train(texts, labels, fields=["留言主题", "留言详情"], stack_folds=2)
    model.save(files / "inmemory")
    loaded = RouteModel.load(files / "inmemory")
    probe = [(r["留言主题"], r["留言详情"]) for r in real_rows[600:650]]
    assert np.array_equal(model.probabilities(probe), loaded.probabilities(probe))


def _copy_model(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for name in ("model.json", "arrays.npz"):
        (dst / name).write_bytes((src / name).read_bytes())
    return dst


def _rehash(model: Path) -> None:
    """Make model.json vouch for whatever arrays.npz now holds, as an attacker would."""
    import hashlib

    meta = json.loads((model / "model.json").read_text(encoding="utf-8"))
    meta["arrays_sha256"] = hashlib.sha256((model / "arrays.npz").read_bytes()).hexdigest()
    (model / "model.json").write_text(json.dumps(meta), encoding="utf-8")


def test_a_tampered_array_file_is_refused(trained: Path, tmp_path: Path) -> None:
    model = _copy_model(trained, tmp_path / "m")
    blob = bytearray((model / "arrays.npz").read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (model / "arrays.npz").write_bytes(bytes(blob))
    with pytest.raises(ModelFormatError, match="checksum"):
        RouteModel.load(model)


class _Payload:
    """Unpickling this would create a marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.marker,))


def test_a_pickled_model_is_refused_without_running_it(trained: Path, tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    # 1. arrays.npz replaced by a raw pickle, checksum forged to match.
    raw = _copy_model(trained, tmp_path / "raw")
    (raw / "arrays.npz").write_bytes(pickle.dumps(_Payload(marker)))
    _rehash(raw)
    with pytest.raises(ModelFormatError):
        RouteModel.load(raw)
    # 2. a genuine npz whose arrays are pickled objects, checksum and shapes forged.
    objs = _copy_model(trained, tmp_path / "objs")
    with np.load(trained / "arrays.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["meta_coef"] = np.array([_Payload(marker)], dtype=object)
    np.savez(objs / "arrays.npz", **arrays)  # type: ignore[arg-type]
    _rehash(objs)
    with pytest.raises(ModelFormatError):
        RouteModel.load(objs)
    assert not marker.exists()


def test_a_model_from_a_future_format_is_refused(trained: Path, tmp_path: Path) -> None:
    model = _copy_model(trained, tmp_path / "m")
    meta = json.loads((model / "model.json").read_text(encoding="utf-8"))
    meta["format_version"] = 99
    (model / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelFormatError, match="format version 99"):
        RouteModel.load(model)


def test_the_cli_refuses_a_broken_model_in_one_line(
    trained: Path, files: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _copy_model(trained, tmp_path / "m")
    (model / "arrays.npz").write_bytes(b"not an archive")
    out = tmp_path / "p.csv"
    code = main(["route", "predict", "--model", str(model), "--input", str(files / "test.csv"),
                 "--out", str(out)])  # fmt: skip
    assert code == 2
    assert "checksum" in capsys.readouterr().err
    assert not out.exists()


def test_a_label_column_with_one_class_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "one.csv"
    write_csv_atomic(
        path,
        [
            {
                "留言主题": "小区垃圾站臭气熏天",
                "留言详情": "夏天垃圾站无人清理",
                "一级标签": "环境保护",
            },
            {"留言主题": "工厂夜间偷排废水", "留言详情": "河水发黑发臭", "一级标签": "环境保护"},
        ],
        ["留言主题", "留言详情", "一级标签"],
    )
    out = tmp_path / "model"
    code = main(["route", "train", "--input", str(path), *TEXT, *LABEL, "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "one.csv" in err and "only one class" in err and "环境保护" in err
    assert not out.exists()
    with pytest.raises(TrainingDataError):
        RouteModel.train(["a", "b"], ["x", "x"])


def test_a_missing_column_names_the_file_and_the_columns_present(
    files: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"
    code = main(["route", "train", "--input", str(files / "train.csv"), "--text", "留言正文",
                 *LABEL, "--out", str(out)])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert (
        "train.csv" in err
        and "'留言正文'" in err
        and "留言编号、留言主题、留言详情、一级标签" in err
    )
    assert not out.exists()


def test_rows_without_text_are_skipped_with_a_count_and_all_empty_is_an_error(
    files: Path, trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = read_table(files / "test.csv")[:20]
    for r in rows[:3]:
        r["留言主题"] = r["留言详情"] = "  "
    path = tmp_path / "gaps.csv"
    write_csv_atomic(path, rows, list(rows[0]))
    out = tmp_path / "p.csv"
    code = main(["route", "predict", "--model", str(trained), "--input", str(path),
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    assert "skipped 3 row(s)" in capsys.readouterr().err
    predicted = read_table(out)
    assert [r["label"] for r in predicted[:3]] == ["", "", ""]
    assert all(r["label"] for r in predicted[3:])

    for r in rows:
        r["留言主题"] = r["留言详情"] = ""
    write_csv_atomic(path, rows, list(rows[0]))
    out.unlink()
    code = main(["route", "predict", "--model", str(trained), "--input", str(path),
                 "--out", str(out)])  # fmt: skip
    assert code == 2
    assert "no row has text" in capsys.readouterr().err
    assert not out.exists()


def test_a_gbk_file_predicts_like_its_utf8_twin(files: Path, trained: Path, tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((files / "test.csv").read_bytes().decode("utf-8").encode("gb18030"))
    out_gbk, out_utf8 = tmp_path / "a.csv", tmp_path / "b.csv"
    for src, out in ((gbk, out_gbk), (files / "test.csv", out_utf8)):
        assert main(["route", "predict", "--model", str(trained), "--input", str(src),
                     "--out", str(out), "--quiet"]) == 0  # fmt: skip
    assert read_table(out_gbk) == read_table(out_utf8)


def test_quick_cross_validation_reaches_a_sane_macro_f1_with_the_baseline_beside(
    real_rows: list[dict[str, str]], tmp_path: Path
) -> None:
    path = tmp_path / "cv.csv"
    fields = ["留言主题", "留言详情", "一级标签"]
    write_csv_atomic(path, [{k: r[k] for k in fields} for r in real_rows[:600]], fields)
    report = tmp_path / "cv.md"
    code = main(["route", "cv", "--input", str(path), *TEXT, *LABEL, "--folds", "3",
                 "--stack-folds", "2", "--report", str(report), "--quiet"])  # fmt: skip
    assert code == 0
    data = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))
    assert data["rows"] == 600
    assert data["model"]["macro_f1"] > 0.6
    assert data["baseline"]["macro_f1"] > 0.4
    assert len(data["per_fold_macro_f1"]) == 3
    assert "Baseline" in report.read_text(encoding="utf-8")


def test_reposted_messages_are_found_as_duplicates_and_distinct_ones_are_not(
    real_rows: list[dict[str, str]],
) -> None:
    by_subject = {r["留言主题"]: (r["留言主题"], r["留言详情"]) for r in real_rows}
    # A real re-post: the subject gained a county name and a comma, the body was edited.
    repost = [
        by_subject["黑诊所呀取缔你为何这样难？"],
        by_subject["M2县黑诊所呀，取缔你为何这样难？"],
    ]
    assert repost[0][1] != repost[1][1]
    distinct = [
        by_subject["A市月湖大市场小区传销打击要立案判刑！"],
        by_subject["C5市滴水洞倒卖门票者要严厉打击"],
    ]
    assert duplicate_pairs(repost + distinct) == [(0, 1)]
    assert duplicate_pairs(distinct, repost) == []


@pytest.mark.parametrize(
    ("true", "predicted", "accuracy", "macro_f1"),
    [
        (["a", "a", "b", "b"], ["a", "a", "b", "b"], 1.0, 1.0),
        (["a", "a", "b", "b"], ["a", "b", "b", "b"], 0.75, (2 / 3 + 0.8) / 2),
        (["a", "b"], ["c", "c"], 0.0, 0.0),
    ],
)
def test_evaluation_figures_match_hand_computation(
    true: list[str], predicted: list[str], accuracy: float, macro_f1: float
) -> None:
    ev = evaluate(true, predicted)
    assert ev.accuracy == pytest.approx(accuracy)
    assert ev.macro_f1 == pytest.approx(macro_f1)
    assert sum(map(sum, ev.confusion)) == len(true)
