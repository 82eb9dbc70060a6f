"""Retrain the dispatch router from the agency's own history (``minsheng appeals train-router``).

Each training row is one appeal: its title and text, labelled with the code of the unit of its
last dispatch, and only when that unit signed for it and did not give it back (a returned
dispatch was a wrong choice; an unsigned one is not known to be right). Units with fewer than
``min_per_unit`` such rows are left out: the model cannot learn them and would only add noise.

The model is written into a fresh folder beside the target, which then replaces the old folder,
so a reader never sees half of a model; ``appeals.suggest`` picks the new one up on its next use.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.db.models import Max

from appeals.models import Appeal, AppealEvent, Dispatch
from textkit.route import RouteModel, duplicate_groups, evaluate

FIELDS = ("title", "text")
CV_FOLDS = 5
# Fewer rows than this, or a unit with fewer rows than the folds, and no cross-validation is done.
CV_MIN_ROWS = 50

Progress = Callable[[str], None]


class NotEnoughHistory(ValueError):
    """Too little dispatch history to train a router."""


@dataclass
class History:
    texts: list[tuple[str, str]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    considered: int = 0  # appeals with at least one dispatch
    unsigned_or_returned: int = 0
    dropped_units: dict[str, int] = field(default_factory=dict)  # unit code → rows left out


@dataclass
class TrainResult:
    out: Path
    rows: int
    units: int
    macro_f1: float | None
    accuracy: float | None
    history: History
    seconds: float


def history(min_per_unit: int = 20, progress: Progress | None = None) -> History:
    """The labelled rows (see the module doc), read in chunks so a million appeals fit."""
    note = progress or (lambda _m: None)
    last: dict[int, tuple[str, Any]] = {}
    dispatches = Dispatch.objects.order_by("appeal_id", "at", "pk").values_list(
        "appeal_id", "unit__code", "at"
    )
    for n, (appeal_id, unit_code, at) in enumerate(dispatches.iterator(chunk_size=5000), 1):
        last[appeal_id] = (unit_code, at)  # ordered by time: the last one wins
        if n % 100_000 == 0:
            note(f"read {n:,} dispatches")
    returned = dict(
        AppealEvent.objects.filter(action="return")
        .values("appeal_id")
        .annotate(last=Max("at"))
        .values_list("appeal_id", "last")
    )
    out = History(considered=len(last))
    rows: list[tuple[tuple[str, str], str]] = []
    ids = sorted(last)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for appeal_id, title, text, signed_at in Appeal.objects.filter(pk__in=chunk).values_list(
            "pk", "title", "text", "signed_at"
        ):
            unit_code, dispatched_at = last[appeal_id]
            came_back = returned.get(appeal_id)
            if (
                signed_at is None
                or signed_at < dispatched_at
                or (came_back is not None and came_back >= dispatched_at)
            ):
                out.unsigned_or_returned += 1
                continue
            rows.append(((title, text), unit_code))
        note(f"read {min(start + 5000, len(ids)):,}/{len(ids):,} appeals")
    counts = Counter(label for _t, label in rows)
    keep = {u for u, c in counts.items() if c >= min_per_unit}
    out.dropped_units = {u: c for u, c in sorted(counts.items()) if u not in keep}
    for texts, label in rows:
        if label in keep:
            out.texts.append(texts)
            out.labels.append(label)
    return out


def cross_validate(
    h: History, folds: int = CV_FOLDS, progress: Progress | None = None
) -> dict[str, Any] | None:
    """Macro-F1 and accuracy over ``folds`` folds; near-duplicate texts stay in one fold.

    None when there is too little data for every unit to appear in every fold.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    counts = Counter(h.labels)
    if len(h.labels) < CV_MIN_ROWS or min(counts.values()) < folds:
        return None
    note = progress or (lambda _m: None)
    y = np.array(h.labels)
    groups = duplicate_groups(h.texts)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=0)
    predicted = np.empty(len(y), dtype=object)
    for f, (tr, te) in enumerate(splitter.split(np.zeros(len(y)), y, groups), start=1):
        note(f"cross-validation fold {f}/{folds}")
        model = RouteModel.train(
            [h.texts[i] for i in tr], [h.labels[i] for i in tr], fields=list(FIELDS)
        )
        predicted[te] = [p.label for p in model.predict([h.texts[i] for i in te])]
    ev = evaluate(list(y), [str(p) for p in predicted], sorted(counts))
    return {"macro_f1": ev.macro_f1, "accuracy": ev.accuracy, "folds": folds, "rows": ev.n}


def write_atomically(model: RouteModel, out: Path, metrics: dict[str, Any]) -> Path:
    """Save into a new sibling folder, then swap it in place of ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fresh = out.parent / f".{out.name}.new-{uuid.uuid4().hex[:8]}"
    model.save(fresh, metrics=metrics)
    old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
    if out.exists():
        os.replace(out, old)
    os.replace(fresh, out)
    shutil.rmtree(old, ignore_errors=True)
    return out


def train(
    out: Path,
    *,
    min_per_unit: int = 20,
    folds: int = CV_FOLDS,
    cv: bool = True,
    progress: Progress | None = None,
) -> TrainResult:
    started = time.perf_counter()
    note = progress or (lambda _m: None)
    h = history(min_per_unit, note)
    units = sorted(set(h.labels))
    if len(units) < 2:
        raise NotEnoughHistory(
            f"only {len(h.labels)} usable dispatches to {len(units)} unit(s) with at least "
            f"{min_per_unit} each; a router needs at least two units "
            "(lower --min-per-unit, or dispatch more appeals first)"
        )
    metrics = cross_validate(h, folds, note) if cv else None
    note(f"training on {len(h.labels):,} appeals for {len(units)} units")
    model = RouteModel.train(h.texts, h.labels, fields=list(FIELDS), progress=note)
    model.info["source"] = "database"
    write_atomically(model, out, metrics or {})
    return TrainResult(
        out=out,
        rows=len(h.labels),
        units=len(units),
        macro_f1=metrics["macro_f1"] if metrics else None,
        accuracy=metrics["accuracy"] if metrics else None,
        history=h,
        seconds=time.perf_counter() - started,
    )


# --- ``minsheng appeals train-router`` (the command file only registers and calls these) --------
def add_arguments(sub: Any) -> None:
    train_p = sub.add_parser(
        "train-router",
        help="train the dispatch router from the signed, not returned dispatches",
    )
    train_p.add_argument(
        "--min-per-unit",
        type=int,
        default=20,
        metavar="N",
        help="leave out units with fewer usable dispatches than this (default 20)",
    )
    train_p.add_argument(
        "--out", metavar="DIR", help="model folder (default: DATA_DIR/models/route)"
    )
    train_p.add_argument("--folds", type=int, default=CV_FOLDS, help="cross-validation folds (5)")
    train_p.add_argument("--no-cv", action="store_true", help="skip the cross-validation")


def run(command: Any, options: dict[str, Any]) -> None:
    from django.core.management.base import CommandError

    from appeals import suggest

    if options["min_per_unit"] < 1:
        raise CommandError("--min-per-unit must be at least 1")
    if options["folds"] < 2:
        raise CommandError("--folds must be at least 2")
    out = Path(options["out"]) if options.get("out") else suggest.model_dir()

    def progress(message: str) -> None:
        command.stderr.write(f"train-router: {message}")

    try:
        result = train(
            out,
            min_per_unit=options["min_per_unit"],
            folds=options["folds"],
            cv=not options["no_cv"],
            progress=progress,
        )
    except NotEnoughHistory as exc:
        raise CommandError(str(exc)) from exc
    h = result.history
    command.stdout.write(
        f"trained on {result.rows} appeals for {result.units} units "
        f"({h.considered} dispatched, {h.unsigned_or_returned} not signed or returned, "
        f"{sum(h.dropped_units.values())} in units below --min-per-unit) "
        f"in {result.seconds:.1f}s; written to {result.out}"
    )
    if options["no_cv"]:
        command.stdout.write("cross-validation skipped")
    elif result.macro_f1 is None:
        command.stdout.write(
            "cross-validated macro-F1: not computed (too little data for every unit in every fold)"
        )
    else:
        command.stdout.write(
            f"cross-validated macro-F1 {result.macro_f1:.4f} "
            f"(accuracy {result.accuracy:.4f}, {options['folds']} folds)"
        )
