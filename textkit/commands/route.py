"""``minsheng text route …``: train, apply, evaluate and cross-validate the appeal router."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from textkit.cli import UserError
from textkit.route import (
    BASE_MODELS,
    Evaluation,
    ModelFormatError,
    RouteModel,
    RouteOptions,
    TrainingDataError,
    duplicate_groups,
    duplicate_pairs,
    evaluate,
    evaluation_markdown,
)
from textkit.tabular import Table, atomic_open, load_table, write_csv_atomic

PROG = "minsheng text route"


def _warn(msg: str) -> None:
    print(f"{PROG}: warning: {msg}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# argument parsing


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "route",
        help="suggest the responsible unit (category) for an appeal: train, predict, evaluate, cv",
        description=(
            "Route citizen appeals to a first-level category with a stacked linear model over "
            "character n-grams, one feature space per text column. Models are saved as JSON + "
            "numpy arrays (no pickle). A --text column may name alternatives separated by '|' "
            "(the first one present in a file is used), e.g. --text '留言详情|留言详情_clean'."
        ),
    )
    sub = parser.add_subparsers(dest="route_command", metavar="ACTION", required=True)

    train = sub.add_parser(
        "train",
        help="train a model from labelled rows",
        description="Train a routing model from one or more labelled CSV/XLSX files.",
    )
    _data_args(train, label=True, many_inputs=True)
    train.add_argument("--out", required=True, metavar="DIR", help="model folder to write")
    _extra_arg(train)
    _option_args(train)
    train.set_defaults(func=run_train)

    predict = sub.add_parser(
        "predict",
        help="suggest a label for each row",
        description=(
            "Write the input rows with two more columns, label and confidence (probability), "
            "plus topN_label/topN_score for the --top best. Rows without text keep an empty label."
        ),
    )
    predict.add_argument("--model", required=True, metavar="DIR", help="model folder")
    _data_args(predict, label=False, many_inputs=False, text_required=False)
    predict.add_argument("--out", required=True, metavar="OUT.csv", help="CSV file to write")
    predict.add_argument(
        "--top", type=int, default=0, metavar="K", help="also write the K best labels with scores"
    )
    predict.set_defaults(func=run_predict)

    ev = sub.add_parser(
        "evaluate",
        help="score a model on labelled rows",
        description=(
            "Accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix, as "
            "Markdown (--report R.md) and JSON beside it (R.json)."
        ),
    )
    ev.add_argument("--model", required=True, metavar="DIR", help="model folder")
    _data_args(ev, label=True, many_inputs=False, text_required=False)
    ev.add_argument("--report", required=True, metavar="R.md", help="Markdown report to write")
    ev.set_defaults(func=run_evaluate)

    cv = sub.add_parser(
        "cv",
        help="stratified k-fold cross-validation, with a TF-IDF + LinearSVC baseline",
        description=(
            "Stratified k-fold cross-validation on --input. Duplicate and near-duplicate rows "
            "are kept in the same fold; --extra rows only ever join the training folds, and any "
            "extra row that repeats an input row is dropped first, so no test text leaks. The "
            "report also shows a plain TF-IDF character 1-3-gram + LinearSVC baseline on the "
            "same folds."
        ),
    )
    _data_args(cv, label=True, many_inputs=False)
    cv.add_argument("--folds", type=int, default=5, help="number of folds (default 5)")
    cv.add_argument(
        "--ungrouped",
        action="store_true",
        help="plain stratified k-fold: duplicate rows may fall into different folds "
        "(for comparison with figures measured that way; grouped folds are the honest ones)",
    )
    cv.add_argument("--report", required=True, metavar="R.md", help="Markdown report to write")
    cv.add_argument(
        "--no-baseline", action="store_true", help="skip the TF-IDF + LinearSVC baseline"
    )
    _extra_arg(cv)
    _option_args(cv)
    cv.set_defaults(func=run_cv)


def _data_args(
    p: argparse.ArgumentParser, *, label: bool, many_inputs: bool, text_required: bool = True
) -> None:
    if many_inputs:
        p.add_argument(
            "--input",
            required=True,
            action="append",
            metavar="F",
            help="CSV or XLSX file (repeat to combine files)",
        )
    else:
        p.add_argument("--input", required=True, metavar="F", help="CSV or XLSX file")
    p.add_argument(
        "--text",
        action="append",
        required=text_required,
        metavar="COL",
        help=(
            "text column, repeat for several (e.g. subject then detail); 'A|B' accepts either "
            "name" + ("" if text_required else "; default: the columns the model was trained on")
        ),
    )
    if label:
        p.add_argument("--label", required=True, metavar="COL", help="label column")
    p.add_argument(
        "--encoding", default=None, help="CSV encoding hint; the bytes decide if it is wrong"
    )
    p.add_argument("--sheet", default=None, help="XLSX worksheet name (default: the first)")
    p.add_argument("--quiet", action="store_true", help="no progress or warnings on stderr")


def _extra_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="F",
        help=(
            "more labelled rows used for training only (repeatable); they may lack some text "
            "columns; rows repeating an --input row and labels absent from --input are dropped"
        ),
    )


def _option_args(p: argparse.ArgumentParser) -> None:
    d = RouteOptions()
    p.add_argument(
        "--ngram-max",
        type=int,
        nargs="+",
        default=list(d.ngram_max),
        help=f"longest character n-gram, per text column (default {d.ngram_max})",
    )
    p.add_argument(
        "--word-ngram-max",
        type=int,
        nargs="+",
        default=list(d.word_ngram_max),
        help=f"longest word n-gram, per text column; 0 reads no words (default {d.word_ngram_max})",
    )
    p.add_argument(
        "--max-chars",
        type=int,
        default=d.max_chars,
        help=f"characters read per column (default {d.max_chars})",
    )
    p.add_argument(
        "--min-df",
        type=int,
        default=d.min_df,
        help=f"drop n-grams seen in fewer rows (default {d.min_df})",
    )
    p.add_argument(
        "--base-models",
        nargs="+",
        choices=BASE_MODELS,
        default=list(d.base_models),
        help=f"stacked base models (default {' '.join(d.base_models)})",
    )
    p.add_argument("--svc-c", type=float, default=d.svc_c, help="LinearSVC C")
    p.add_argument("--lr-c", type=float, default=d.lr_c, help="logistic regression C")
    p.add_argument("--nb-alpha", type=float, default=d.nb_alpha, help="ComplementNB alpha")
    p.add_argument(
        "--stack-folds",
        type=int,
        default=d.stack_folds,
        help="inner folds for the meta-model's out-of-fold scores",
    )
    p.add_argument("--seed", type=int, default=d.seed, help="random seed")


def _options(args: argparse.Namespace) -> RouteOptions:
    for name in ("max_chars", "min_df", "stack_folds"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1")
    if any(n < 1 or n > 8 for n in args.ngram_max):
        raise UserError("--ngram-max values must be between 1 and 8")
    if any(n < 0 or n > 4 for n in args.word_ngram_max):
        raise UserError("--word-ngram-max values must be between 0 and 4")
    return RouteOptions(
        ngram_max=tuple(args.ngram_max),
        word_ngram_max=tuple(args.word_ngram_max),
        max_chars=args.max_chars,
        min_df=args.min_df,
        base_models=tuple(dict.fromkeys(args.base_models)),
        svc_c=args.svc_c,
        lr_c=args.lr_c,
        nb_alpha=args.nb_alpha,
        stack_folds=args.stack_folds,
        seed=args.seed,
    )


# ---------------------------------------------------------------------------------------------
# reading labelled data


@dataclass
class Rows:
    texts: list[tuple[str, ...]]
    labels: list[str]
    source: list[int] = field(default_factory=list)  # index into the table's rows
    skipped_empty: int = 0
    skipped_unlabelled: int = 0


def _resolve(table: Table, spec: str, *, required: bool) -> str | None:
    names = [n.strip() for n in spec.split("|") if n.strip()]
    for name in names:
        if name in table.fieldnames:
            return name
    if required:
        table.require([names[0]] if len(names) == 1 else names[:1])
        raise UserError(
            f"{table.path}: none of the columns {', '.join(map(repr, names))} is present; "
            f"the columns present are: {'、'.join(table.fieldnames)}"
        )
    return None


def _load(path: str, args: argparse.Namespace) -> Table:
    return load_table(path, encoding=args.encoding, sheet=args.sheet)


def _labelled(
    table: Table, text_specs: list[str], label: str | None, *, all_text_required: bool = True
) -> Rows:
    """Rows with at least one non-empty text field (and a label if ``label`` is given)."""
    cols = [_resolve(table, s, required=all_text_required) for s in text_specs]
    if not any(cols):
        raise UserError(
            f"{table.path}: none of the text columns {', '.join(text_specs)} is present; "
            f"the columns present are: {'、'.join(table.fieldnames)}"
        )
    if label is not None:
        table.require([label])
    out = Rows([], [])
    for i, row in enumerate(table.rows):
        texts = tuple(row[c].strip() if c else "" for c in cols)
        if not any(texts):
            out.skipped_empty += 1
            continue
        lab = row[label].strip() if label is not None else ""
        if label is not None and not lab:
            out.skipped_unlabelled += 1
            continue
        out.texts.append(texts)
        out.labels.append(lab)
        out.source.append(i)
    if not out.texts:
        what = "no row has text" if label is None or not out.skipped_unlabelled else "no usable row"
        raise UserError(
            f"{table.path}: {what} in {', '.join(text_specs)}"
            + (f" with a {label!r} label" if label else "")
            + f" ({out.skipped_empty} rows without text, {out.skipped_unlabelled} without label)"
        )
    return out


def _report_skips(rows: Rows, path: Path, quiet: bool) -> None:
    if quiet:
        return
    if rows.skipped_empty:
        _warn(f"{path}: skipped {rows.skipped_empty} row(s) whose text columns are all empty")
    if rows.skipped_unlabelled:
        _warn(f"{path}: skipped {rows.skipped_unlabelled} row(s) with an empty label")


def _check_classes(labels: list[str], path: str) -> None:
    counts = Counter(labels)
    if len(counts) < 2:
        only = next(iter(counts)) if counts else "none"
        raise UserError(
            f"{path}: the label column has only one class ({only!r}); routing needs at least two"
        )


def _extras(
    args: argparse.Namespace, base: Rows, label_set: set[str]
) -> tuple[Rows, dict[str, int]]:
    """Extra training rows, minus those repeating a base row or each other, or off-label."""
    texts: list[tuple[str, ...]] = []
    labels: list[str] = []
    stats = {"read": 0, "repeat_input": 0, "repeat_extra": 0, "unknown_label": 0}
    for path in args.extra:
        table = _load(path, args)
        rows = _labelled(table, args.text, args.label, all_text_required=False)
        _report_skips(rows, table.path, args.quiet)
        texts += rows.texts
        labels += rows.labels
    stats["read"] = len(texts)
    if not texts:
        return Rows([], []), stats
    drop = {j for _, j in duplicate_pairs(base.texts, texts)}
    stats["repeat_input"] = len(drop)
    # Among extras, a later row repeating an earlier one adds nothing but weight.
    within = {j for i, j in duplicate_pairs(texts) if i not in drop} - drop
    stats["repeat_extra"] = len(within)
    drop |= within
    off = {i for i, lab in enumerate(labels) if lab not in label_set} - drop
    stats["unknown_label"] = len(off)
    drop |= off
    keep = [i for i in range(len(texts)) if i not in drop]
    return Rows([texts[i] for i in keep], [labels[i] for i in keep]), stats


# ---------------------------------------------------------------------------------------------
# commands


def _progress(args: argparse.Namespace) -> Any:
    if args.quiet or not sys.stderr.isatty():
        return None
    return lambda msg: print(f"{PROG}: {msg}", file=sys.stderr)


def _train(
    texts: list[tuple[str, ...]],
    labels: list[str],
    fields: list[str],
    options: RouteOptions,
    args: argparse.Namespace,
) -> RouteModel:
    try:
        return RouteModel.train(
            texts, labels, fields=fields, options=options, progress=_progress(args)
        )
    except TrainingDataError as exc:
        raise UserError(str(exc)) from None


def _field_names(specs: list[str]) -> list[str]:
    return [s.split("|")[0].strip() for s in specs]


def run_train(args: argparse.Namespace) -> int:
    options = _options(args)
    texts: list[tuple[str, ...]] = []
    labels: list[str] = []
    for path in args.input:
        table = _load(path, args)
        rows = _labelled(table, args.text, args.label)
        _report_skips(rows, table.path, args.quiet)
        texts += rows.texts
        labels += rows.labels
    _check_classes(labels, ", ".join(args.input))
    base = Rows(texts, labels)
    extra, stats = _extras(args, base, set(labels))
    if args.extra and not args.quiet:
        _warn(_extra_summary(stats, len(extra.texts)))
    model = _train(
        texts + extra.texts, labels + extra.labels, _field_names(args.text), options, args
    )
    model.save(args.out)
    if not args.quiet:
        print(
            f"{PROG}: trained on {model.info['trained_rows']} rows, {len(model.labels)} labels "
            f"in {model.info['training_seconds']} s → {args.out}",
            file=sys.stderr,
        )
    return 0


def _extra_summary(stats: dict[str, int], kept: int) -> str:
    return (
        f"extra rows: {stats['read']} read, {stats['repeat_input']} repeat an input row, "
        f"{stats['repeat_extra']} repeat another extra row, {stats['unknown_label']} have a "
        f"label absent from the input; {kept} used"
    )


def _load_model(path: str) -> RouteModel:
    try:
        return RouteModel.load(path)
    except ModelFormatError as exc:
        raise UserError(str(exc)) from None


def run_predict(args: argparse.Namespace) -> int:
    if args.top < 0:
        raise UserError("--top must be 0 or more")
    model = _load_model(args.model)
    table = _load(args.input, args)
    specs = args.text or model.fields
    if len(specs) != len(model.fields):
        raise UserError(
            f"the model reads {len(model.fields)} text column(s) ({', '.join(model.fields)}); "
            f"--text gave {len(specs)}"
        )
    rows = _labelled(table, specs, None)
    _report_skips(rows, table.path, args.quiet)
    preds = model.predict(rows.texts, top=max(args.top, 1))
    by_row = dict(zip(rows.source, preds, strict=True))
    extra_cols = ["label", "confidence"]
    for k in range(1, args.top + 1):
        extra_cols += [f"top{k}_label", f"top{k}_score"]
    clash = [c for c in extra_cols if c in table.fieldnames]
    if clash:
        raise UserError(
            f"{table.path}: already has column(s) {', '.join(clash)}; rename them first"
        )

    def out_rows() -> Any:
        for i, row in enumerate(table.rows):
            out: dict[str, Any] = dict(row)
            p = by_row.get(i)
            out["label"] = p.label if p else ""
            out["confidence"] = f"{p.confidence:.4f}" if p else ""
            for k in range(args.top):
                has = p is not None and k < len(p.top)
                out[f"top{k + 1}_label"] = p.top[k][0] if p and has else ""
                out[f"top{k + 1}_score"] = f"{p.top[k][1]:.4f}" if p and has else ""
            yield out

    write_csv_atomic(args.out, out_rows(), table.fieldnames + extra_cols)
    return 0


def _write_report(path: str, markdown: str, data: dict[str, Any]) -> None:
    md = Path(path)
    js = md.with_suffix(".json")
    with atomic_open(js, "w") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    with atomic_open(md, "w") as fh:
        fh.write(markdown)


def run_evaluate(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    table = _load(args.input, args)
    specs = args.text or model.fields
    if len(specs) != len(model.fields):
        raise UserError(
            f"the model reads {len(model.fields)} text column(s) ({', '.join(model.fields)}); "
            f"--text gave {len(specs)}"
        )
    rows = _labelled(table, specs, args.label)
    _report_skips(rows, table.path, args.quiet)
    started = time.perf_counter()
    preds = model.predict(rows.texts)
    seconds = time.perf_counter() - started
    ev = evaluate(rows.labels, [p.label for p in preds], labels=model.labels)
    unknown = sorted(set(rows.labels) - set(model.labels))
    md = [
        "# Routing evaluation",
        "",
        f"- model: `{Path(args.model).name}` (labels: {'、'.join(model.labels)})",
        f"- data: `{table.path.name}`, text {', '.join(specs)}, label {args.label}",
        f"- rows skipped: {rows.skipped_empty} without text, {rows.skipped_unlabelled} without label",
        f"- prediction speed: {len(preds) / max(seconds, 1e-9):,.0f} rows/s",
    ]
    if unknown:
        md.append(f"- labels in the data the model does not know: {'、'.join(unknown)}")
    md += ["", evaluation_markdown(ev)]
    data = {
        "model": str(Path(args.model).name),
        "input": table.path.name,
        "skipped_empty": rows.skipped_empty,
        "skipped_unlabelled": rows.skipped_unlabelled,
        "rows_per_second": len(preds) / max(seconds, 1e-9),
        "unknown_labels": unknown,
        **ev.to_json(),
    }
    _write_report(args.report, "\n".join(md), data)
    if not args.quiet:
        print(
            f"{PROG}: accuracy {ev.accuracy:.4f}, macro-F1 {ev.macro_f1:.4f} on {ev.n} rows",
            file=sys.stderr,
        )
    return 0


def _baseline_predict(
    train_texts: list[tuple[str, ...]], train_labels: list[str], test_texts: list[tuple[str, ...]]
) -> list[str]:
    """The reference everyone starts from: joined text, char 1-3-gram TF-IDF, LinearSVC."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
    x = vec.fit_transform([" ".join(t) for t in train_texts])
    clf = LinearSVC(C=1.0).fit(x, train_labels)
    return [str(v) for v in clf.predict(vec.transform([" ".join(t) for t in test_texts]))]


def run_cv(args: argparse.Namespace) -> int:
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    options = _options(args)
    if args.folds < 2:
        raise UserError("--folds must be at least 2")
    table = _load(args.input, args)
    rows = _labelled(table, args.text, args.label)
    _report_skips(rows, table.path, args.quiet)
    _check_classes(rows.labels, args.input)
    counts = Counter(rows.labels)
    if min(counts.values()) < args.folds:
        small = ", ".join(f"{k} ({v})" for k, v in counts.items() if v < args.folds)
        raise UserError(
            f"{table.path}: {args.folds}-fold cross-validation needs at least {args.folds} rows "
            f"per label; too few for: {small}"
        )
    extra, stats = _extras(args, rows, set(counts))
    groups = duplicate_groups(rows.texts)
    n_groups = len(set(groups.tolist()))
    dup_rows = len(rows.texts) - n_groups
    y = np.array(rows.labels)
    if args.ungrouped:
        plain = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=options.seed)
        folds = list(plain.split(np.zeros(len(y)), y))
    else:
        splitter = StratifiedGroupKFold(
            n_splits=args.folds, shuffle=True, random_state=options.seed
        )
        folds = list(splitter.split(np.zeros(len(y)), y, groups))
    fields = _field_names(args.text)
    ours = np.empty(len(y), dtype=object)
    base = np.empty(len(y), dtype=object)
    train_seconds: list[float] = []
    train_cpu: list[float] = []
    predict_rate: list[float] = []
    predict_cpu_rate: list[float] = []
    fold_f1: list[tuple[float, float]] = []
    progress = _progress(args)
    started = time.perf_counter()
    for f, (tr, te) in enumerate(folds, start=1):
        if progress:
            progress(f"fold {f}/{len(folds)}")
        tr_texts = [rows.texts[i] for i in tr]
        te_texts = [rows.texts[i] for i in te]
        t0, c0 = time.perf_counter(), time.process_time()
        model = _train(
            tr_texts + extra.texts,
            [rows.labels[i] for i in tr] + extra.labels,
            fields,
            options,
            args,
        )
        train_seconds.append(time.perf_counter() - t0)
        train_cpu.append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        ours[te] = [p.label for p in model.predict(te_texts)]
        predict_rate.append(len(te) / max(time.perf_counter() - t0, 1e-9))
        predict_cpu_rate.append(len(te) / max(time.process_time() - c0, 1e-9))
        if not args.no_baseline:
            base[te] = _baseline_predict(tr_texts, [rows.labels[i] for i in tr], te_texts)
        fold_f1.append(
            (
                evaluate(list(y[te]), list(ours[te])).macro_f1,
                evaluate(list(y[te]), list(base[te])).macro_f1 if not args.no_baseline else 0.0,
            )
        )
    total = time.perf_counter() - started
    labels = sorted(counts)
    ev = evaluate(list(y), list(ours), labels)
    # One row per duplicate group: the figure a deduplicated data set would give.
    first = np.array(sorted({int(np.flatnonzero(groups == g)[0]) for g in set(groups.tolist())}))
    ev_dedup = evaluate(list(y[first]), list(ours[first]), labels)
    ev_base = ev_base_dedup = None
    if not args.no_baseline:
        ev_base = evaluate(list(y), list(base), labels)
        ev_base_dedup = evaluate(list(y[first]), list(base[first]), labels)

    md = _cv_markdown(
        args,
        table,
        rows,
        stats,
        extra,
        options,
        ev,
        ev_dedup,
        ev_base,
        ev_base_dedup,
        n_groups,
        dup_rows,
        train_seconds,
        train_cpu,
        predict_rate,
        predict_cpu_rate,
        fold_f1,
        total,
    )
    data: dict[str, Any] = {
        "input": table.path.name,
        "extra": [Path(p).name for p in args.extra],
        "text": args.text,
        "label": args.label,
        "folds": args.folds,
        "grouped_folds": not args.ungrouped,
        "rows": len(y),
        "skipped_empty": rows.skipped_empty,
        "skipped_unlabelled": rows.skipped_unlabelled,
        "duplicate_groups": n_groups,
        "rows_in_duplicate_groups_beyond_first": dup_rows,
        "extra_rows": {**stats, "used": len(extra.texts)},
        "options": options.to_json(),
        "model": ev.to_json(),
        "model_deduplicated": ev_dedup.to_json(),
        "baseline": ev_base.to_json() if ev_base else None,
        "baseline_deduplicated": ev_base_dedup.to_json() if ev_base_dedup else None,
        "per_fold_macro_f1": [{"model": a, "baseline": b} for a, b in fold_f1],
        "train_seconds_per_fold": train_seconds,
        "train_cpu_seconds_per_fold": train_cpu,
        "predict_rows_per_second_per_fold": predict_rate,
        "predict_rows_per_cpu_second_per_fold": predict_cpu_rate,
        "total_seconds": total,
    }
    _write_report(args.report, md, data)
    if not args.quiet:
        line = f"{PROG}: macro-F1 {ev.macro_f1:.4f} (accuracy {ev.accuracy:.4f})"
        if ev_base:
            line += f"; baseline macro-F1 {ev_base.macro_f1:.4f}"
        print(line, file=sys.stderr)
    return 0


def _cv_markdown(
    args: argparse.Namespace,
    table: Table,
    rows: Rows,
    stats: dict[str, int],
    extra: Rows,
    options: RouteOptions,
    ev: Evaluation,
    ev_dedup: Evaluation,
    ev_base: Evaluation | None,
    ev_base_dedup: Evaluation | None,
    n_groups: int,
    dup_rows: int,
    train_seconds: list[float],
    train_cpu: list[float],
    predict_rate: list[float],
    predict_cpu_rate: list[float],
    fold_f1: list[tuple[float, float]],
    total: float,
) -> str:
    def cell(e: Evaluation | None, attr: str) -> str:
        return f"{getattr(e, attr):.4f}" if e else "—"

    md = [
        f"# Routing: {args.folds}-fold cross-validation",
        "",
        f"- input: `{table.path.name}` — {len(rows.texts)} rows "
        f"(skipped {rows.skipped_empty} without text, {rows.skipped_unlabelled} without label); "
        f"text {', '.join(args.text)}; label {args.label}",
        f"- duplicates: {n_groups} groups; {dup_rows} rows repeat another (same subject/body "
        "after normalisation, or ≥ 60 % shared character 8-grams); "
        + (
            "**ungrouped folds** (plain stratified k-fold): a group may span folds"
            if args.ungrouped
            else "each group is kept in one fold (stratified group k-fold)"
        ),
    ]
    if args.extra:
        md.append(
            f"- training-only extra data: {', '.join(f'`{Path(p).name}`' for p in args.extra)} — "
            + _extra_summary(stats, len(extra.texts))
        )
    md += [
        f"- model options: `{json.dumps(options.to_json(), ensure_ascii=False)}`",
        f"- training time per fold: mean {np.mean(train_seconds):.1f} s wall, "
        f"{np.mean(train_cpu):.1f} s CPU; max {np.max(train_seconds):.1f} s wall "
        f"(on {len(extra.texts)} extra + ~"
        f"{int(len(rows.texts) * (args.folds - 1) / args.folds)} fold rows)",
        f"- prediction speed: median {np.median(predict_rate):,.0f} rows/s wall, "
        f"{np.median(predict_cpu_rate):,.0f} rows per CPU second (whole test fold per call, "
        "text normalisation included)",
        f"- total run time: {total:.0f} s",
        "",
        "## Summary",
        "",
        "| | accuracy | macro-F1 | macro-F1, one row per duplicate group |",
        "|---|---|---|---|",
        f"| this model | {cell(ev, 'accuracy')} | **{cell(ev, 'macro_f1')}** | {cell(ev_dedup, 'macro_f1')} |",
        f"| baseline: TF-IDF char 1-3-gram + LinearSVC, input rows only | {cell(ev_base, 'accuracy')} | {cell(ev_base, 'macro_f1')} | {cell(ev_base_dedup, 'macro_f1')} |",
        "",
        "Per fold macro-F1 (model / baseline): "
        + ", ".join(f"{a:.4f} / {b:.4f}" if ev_base else f"{a:.4f}" for a, b in fold_f1),
        "",
        "## This model",
        "",
        evaluation_markdown(ev),
    ]
    if ev_base:
        md += ["## Baseline", "", evaluation_markdown(ev_base)]
    return "\n".join(md)
