"""``minsheng text sentiment``: train, apply, evaluate and benchmark the emotion model."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from textkit.cli import UserError

OUTPUT_COLUMNS = ("emotion", "negativity", "confidence")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sentiment",
        help="emotion (six classes) and negativity of short posts: train, predict, evaluate, benchmark",
        description=(
            "Emotion and negativity (negative/neutral/positive) of short Chinese posts. The model "
            "stacks linear classifiers over word, negation-scope, emoticon and character n-gram "
            "features; negativity comes from the emotion probabilities through a stored mapping "
            "(default: happy→positive, neutral→neutral, angry/fear/sad/surprise→negative)."
        ),
    )
    sub = parser.add_subparsers(dest="sentiment_command", metavar="ACTION", required=True)

    train = sub.add_parser(
        "train",
        help="train a model from a labelled CSV/XLSX",
        description="Train an emotion model from a CSV/XLSX with a text and a label column.",
    )
    _input_args(train, label=True)
    train.add_argument(
        "--out", required=True, help="model folder to write (model.json + arrays.npz)"
    )
    train.add_argument(
        "--negativity",
        default=None,
        help="label→polarity mapping as label=polarity pairs separated by commas "
        "(default: angry/fear/sad/surprise=negative, happy=positive, neutral=neutral)",
    )
    train.add_argument("--quiet", action="store_true", help="no progress on stderr")
    train.set_defaults(func=run_train)

    predict = sub.add_parser(
        "predict",
        help="add emotion, negativity and confidence columns to a CSV/XLSX",
        description="Apply a model to a text column; writes the input columns plus "
        "emotion, negativity and confidence as CSV.",
    )
    predict.add_argument("--model", required=True, help="model folder from 'train'")
    _input_args(predict, label=False)
    predict.add_argument("--out", required=True, help="CSV file to write")
    predict.add_argument("--quiet", action="store_true", help="no progress on stderr")
    predict.set_defaults(func=run_predict)

    evaluate = sub.add_parser(
        "evaluate",
        help="measure a model on labelled data (Markdown + JSON report)",
        description=(
            "Measure a model on a labelled CSV/XLSX. Labels may be emotions (emotion and "
            "negativity metrics) or polarities negative/neutral/positive (negativity metrics); "
            "--label-map translates other codes, e.g. '0=negative,1=positive'."
        ),
    )
    evaluate.add_argument("--model", required=True, help="model folder from 'train'")
    _input_args(evaluate, label=True)
    evaluate.add_argument("--label-map", default=None, help="translate gold labels: code=label,…")
    evaluate.add_argument("--report", required=True, help="Markdown report to write")
    evaluate.add_argument(
        "--json", default=None, help="JSON report (default: the --report path with .json)"
    )
    evaluate.add_argument("--quiet", action="store_true", help="no progress on stderr")
    evaluate.set_defaults(func=run_evaluate)

    bench = sub.add_parser(
        "benchmark",
        help="train on SMP2020-EWECT train+eval, compare with a TF-IDF+LR baseline on test",
        description=(
            "End to end: train the model and a TF-IDF + logistic-regression baseline on the same "
            "rows (splits --train-splits), measure both on --test-splits (six-emotion macro-F1, "
            "negative-vs-rest accuracy), optionally check negativity on ChnSentiCorp hotel "
            "reviews, and write a Markdown + JSON report."
        ),
    )
    bench.add_argument("--input", required=True, help="smp2020_ewect_weibo_emotion.csv")
    bench.add_argument("--text", default="content", help="text column (content)")
    bench.add_argument("--label", default="label", help="emotion label column (label)")
    bench.add_argument("--split-col", default="split", help="split column (split)")
    bench.add_argument(
        "--domain-col", default="domain", help="domain column for a breakdown ('' for none)"
    )
    bench.add_argument(
        "--train-splits", default="train,eval", help="splits to train on (train,eval)"
    )
    bench.add_argument("--test-splits", default="test", help="splits to test on (test)")
    bench.add_argument(
        "--chnsenticorp", default=None, help="ChnSentiCorp_htl_all.csv for the out-of-domain check"
    )
    bench.add_argument("--chn-text", default="review", help="ChnSentiCorp text column (review)")
    bench.add_argument("--chn-label", default="label", help="ChnSentiCorp label column (label)")
    bench.add_argument(
        "--chn-label-map", default="0=negative,1=positive", help="ChnSentiCorp label codes"
    )
    bench.add_argument("--report", required=True, help="Markdown report to write")
    bench.add_argument("--json", default=None, help="JSON report (default: --report with .json)")
    bench.add_argument("--model-out", default=None, help="also save the trained model here")
    bench.add_argument("--quiet", action="store_true", help="no progress on stderr")
    bench.set_defaults(func=run_benchmark)


def _input_args(p: argparse.ArgumentParser, *, label: bool) -> None:
    p.add_argument("--input", required=True, help="CSV (UTF-8 or GBK) or XLSX file")
    p.add_argument("--text", required=True, help="name of the text column")
    if label:
        p.add_argument("--label", required=True, help="name of the label column")


def _say(quiet: bool) -> Callable[[str], None]:
    started = time.perf_counter()

    def note(msg: str) -> None:
        if not quiet:
            print(f"[{time.perf_counter() - started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    return note


def _pairs(spec: str | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    if not spec:
        return out
    for item in spec.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UserError(f"{what}: expected code=label pairs separated by commas, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _texts(path: str, text_col: str, label_col: str | None) -> tuple[list[str], list[str], Any]:
    """Texts (and labels) of a table; errors name the file, rows and column of empty cells."""
    from textkit.tabular import load_table

    cols = [text_col] + ([label_col] if label_col else [])
    table = load_table(path, cols)
    if not table.rows:
        raise UserError(f"{path}: no data rows")
    texts = [r[text_col] for r in table.rows]
    _no_blanks(path, text_col, texts, table.row_numbers)
    labels: list[str] = []
    if label_col:
        labels = [r[label_col].strip() for r in table.rows]
        _no_blanks(path, label_col, labels, table.row_numbers)
    return texts, labels, table


def _no_blanks(path: str, col: str, values: Sequence[str], numbers: Sequence[int]) -> None:
    blank = [numbers[i] for i, v in enumerate(values) if not v.strip()]
    if blank:
        shown = ", ".join(str(n) for n in blank[:5]) + (" …" if len(blank) > 5 else "")
        raise UserError(f"{path}: column {col!r} is empty in {len(blank)} row(s): {shown}")


def _load_model(path: str) -> Any:
    from textkit.sentiment import ModelFormatError, SentimentModel

    try:
        return SentimentModel.load(path)
    except ModelFormatError as exc:
        raise UserError(str(exc)) from None


def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder")
    if out.is_dir():
        foreign = [p.name for p in out.iterdir() if p.name not in ("model.json", "arrays.npz")]
        if foreign:
            raise UserError(
                f"{out}: folder holds other files ({', '.join(sorted(foreign)[:3])}); "
                "choose an empty or model folder"
            )
    elif not out.parent.is_dir():
        raise UserError(f"{out}: the folder {out.parent} does not exist")


def _check_file_target(*paths: Path) -> None:
    for p in paths:
        if not p.parent.is_dir():
            raise UserError(f"{p}: the folder {p.parent} does not exist")
        if p.is_dir():
            raise UserError(f"{p}: is a folder, expected a file name")


def run_train(args: argparse.Namespace) -> int:
    from textkit.sentiment import DEFAULT_NEGATIVITY, SentimentModel, TrainingDataError

    out = Path(args.out)
    _check_out_dir(out)
    mapping = dict(DEFAULT_NEGATIVITY)
    mapping.update(_pairs(args.negativity, "--negativity"))
    texts, labels, _table = _texts(args.input, args.text, args.label)
    note = _say(args.quiet)
    try:
        model = SentimentModel.train(texts, labels, negativity=mapping, progress=note)
    except TrainingDataError as exc:
        raise UserError(f"{args.input}: {exc}") from None
    model.save(out)
    counts = ", ".join(f"{k} {v}" for k, v in model.info["label_counts"].items())
    print(f"trained on {len(texts)} rows ({counts}); model in {out}", file=sys.stderr)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from textkit.tabular import write_csv_atomic

    out = Path(args.out)
    _check_file_target(out)
    model = _load_model(args.model)
    texts, _labels, table = _texts(args.input, args.text, None)
    clash = [c for c in OUTPUT_COLUMNS if c in table.fieldnames]
    if clash:
        raise UserError(
            f"{args.input}: already has column(s) {', '.join(clash)}; rename them so the "
            "predictions do not overwrite them"
        )
    note = _say(args.quiet)
    note(f"predicting {len(texts)} rows")
    preds = model.predict(texts)
    rows = [
        {
            **row,
            "emotion": p.emotion,
            "negativity": p.negativity,
            "confidence": f"{p.confidence:.4f}",
        }
        for row, p in zip(table.rows, preds, strict=True)
    ]
    n = write_csv_atomic(out, rows, [*table.fieldnames, *OUTPUT_COLUMNS], bom=True)
    print(f"wrote {n} rows to {out}", file=sys.stderr)
    return 0


def _gold(
    labels: list[str], label_map: dict[str, str], model_labels: Sequence[str], path: str
) -> list[str]:
    from textkit.sentiment import POLARITIES

    gold = [label_map.get(v, v) for v in labels]
    known = set(model_labels) | set(POLARITIES)
    unknown = sorted(set(gold) - known)
    if unknown:
        raise UserError(
            f"{path}: label(s) {', '.join(unknown[:5])} are neither the model's emotions "
            f"({', '.join(model_labels)}) nor polarities ({', '.join(POLARITIES)}); "
            "use --label-map"
        )
    is_emotion = all(v in model_labels for v in gold)
    if not is_emotion and not all(v in POLARITIES for v in gold):
        raise UserError(f"{path}: labels mix emotions and polarities; use one kind")
    if len(set(gold)) < 2:
        raise UserError(
            f"{path}: the label column has only one class ({gold[0]}); nothing to measure"
        )
    return gold


def _write_reports(md_path: Path, json_path: Path, markdown: str, data: dict[str, Any]) -> None:
    from textkit.tabular import atomic_open

    with atomic_open(json_path, "w") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    with atomic_open(md_path, "w") as fh:
        fh.write(markdown)


def run_evaluate(args: argparse.Namespace) -> int:
    from textkit.sentiment import evaluate_model, metrics_markdown

    md = Path(args.report)
    js = Path(args.json) if args.json else md.with_suffix(".json")
    _check_file_target(md, js)
    model = _load_model(args.model)
    texts, labels, _table = _texts(args.input, args.text, args.label)
    gold = _gold(labels, _pairs(args.label_map, "--label-map"), model.labels, args.input)
    note = _say(args.quiet)
    note(f"evaluating on {len(texts)} rows")
    metrics = evaluate_model(model, texts, gold)
    data = {"input": Path(args.input).name, "model": model.info, "metrics": metrics}
    markdown = "\n".join(
        [
            "# Sentiment evaluation",
            "",
            f"Model trained on {model.info.get('trained_rows')} rows; evaluated on "
            f"`{Path(args.input).name}` ({len(texts)} rows). Negativity mapping: "
            + ", ".join(f"{k}→{v}" for k, v in model.negativity.items())
            + ".",
            "",
            metrics_markdown("Model", metrics),
        ]
    )
    _write_reports(md, js, markdown, data)
    line = f"negative-vs-rest accuracy {metrics['negative_vs_rest']['accuracy']:.4f}"
    if "emotion" in metrics:
        line = f"emotion macro-F1 {metrics['emotion']['macro_f1']:.4f}, " + line
    print(f"{line}; report {md}", file=sys.stderr)
    return 0


def run_benchmark(args: argparse.Namespace) -> int:
    from textkit.sentiment import benchmark, benchmark_markdown
    from textkit.tabular import load_table

    md = Path(args.report)
    js = Path(args.json) if args.json else md.with_suffix(".json")
    _check_file_target(md, js)
    if args.model_out:
        _check_out_dir(Path(args.model_out))
    cols = [args.text, args.label, args.split_col] + ([args.domain_col] if args.domain_col else [])
    table = load_table(args.input, cols)
    train_splits = {s.strip() for s in args.train_splits.split(",") if s.strip()}
    test_splits = {s.strip() for s in args.test_splits.split(",") if s.strip()}
    if train_splits & test_splits:
        raise UserError("--train-splits and --test-splits overlap")
    rows = list(zip(table.row_numbers, table.rows, strict=True))
    train = [(n, r) for n, r in rows if r[args.split_col].strip() in train_splits]
    test = [(n, r) for n, r in rows if r[args.split_col].strip() in test_splits]
    for name, part, splits in (("train", train, train_splits), ("test", test, test_splits)):
        if not part:
            raise UserError(
                f"{args.input}: no {name} rows (column {args.split_col!r} has no value in "
                f"{', '.join(sorted(splits))})"
            )
        for col in (args.text, args.label):
            _no_blanks(args.input, col, [r[col] for _, r in part], [n for n, _ in part])
    chn: tuple[list[str], list[str]] | None = None
    if args.chnsenticorp:
        chn_table = load_table(args.chnsenticorp, [args.chn_text, args.chn_label])
        cmap = _pairs(args.chn_label_map, "--chn-label-map")
        # The corpus has one empty review; an empty text has no sentiment to check, so it is
        # left out and counted in the report rather than failing the benchmark.
        kept = [r for r in chn_table.rows if r[args.chn_text].strip()]
        bad = sorted({r[args.chn_label].strip() for r in kept} - set(cmap))
        if bad:
            raise UserError(
                f"{args.chnsenticorp}: label(s) {', '.join(bad)} not in --chn-label-map"
            )
        chn = ([r[args.chn_text] for r in kept], [cmap[r[args.chn_label].strip()] for r in kept])
    note = _say(args.quiet)
    result, model = benchmark(
        train_texts=[r[args.text] for _, r in train],
        train_labels=[r[args.label].strip() for _, r in train],
        test_texts=[r[args.text] for _, r in test],
        test_labels=[r[args.label].strip() for _, r in test],
        test_domains=[r[args.domain_col] for _, r in test] if args.domain_col else None,
        chnsenticorp=chn,
        progress=note,
    )
    result["input"] = Path(args.input).name
    result["train_splits"] = sorted(train_splits)
    result["test_splits"] = sorted(test_splits)
    if args.chnsenticorp:
        result["chnsenticorp_input"] = Path(args.chnsenticorp).name
    if args.model_out:
        model.save(args.model_out, metrics={"benchmark": result["model"]})
    _write_reports(md, js, benchmark_markdown(result), result)
    m, b = result["model"], result["baseline"]
    print(
        f"macro-F1 model {m['emotion']['macro_f1']:.4f} vs baseline {b['emotion']['macro_f1']:.4f}; "
        f"negative-vs-rest accuracy model {m['negative_vs_rest']['accuracy']:.4f} vs baseline "
        f"{b['negative_vs_rest']['accuracy']:.4f}; report {md}",
        file=sys.stderr,
    )
    return 0
