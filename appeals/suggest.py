"""Dispatch suggestions: the router's best units for an appeal, and the category's default unit.

The router is a ``textkit.route.RouteModel`` kept in ``DATA_DIR/models/route`` (written by
``minsheng appeals train-router`` from the agency's own dispatch history, or by
``minsheng text route train`` on an export). It is loaded once per process and loaded again
when its ``model.json`` changes, so a retrained model is picked up without a restart.

A model predicts labels; a label becomes a unit in this order:

1. the code of an active unit (models trained from the database use unit codes);
2. the code of an active category → that category's responsible unit (its own, else the
   nearest ancestor's);
3. the name of an active category (models trained on exports use 一级分类 names such as
   "城乡建设"), the highest such category first → its responsible unit, else, when it has none,
   the unit responsible for most of its sub-categories.

Labels that map to no unit are dropped; two labels that map to the same unit add up. Without a
model there are no suggestions (``model`` is None): nothing is ever invented.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import F

from appeals.models import Appeal
from org.models import Category, Unit
from textkit.modelfile import ModelFormatError
from textkit.route import RouteModel

log = logging.getLogger("minsheng.appeals")

_lock = threading.Lock()
# model folder → (model.json's (mtime_ns, size), the model)
_cache: dict[Path, tuple[tuple[int, int], RouteModel]] = {}


def model_dir() -> Path:
    return Path(settings.DATA_DIR) / "models" / "route"


def load_model(directory: Path | None = None) -> RouteModel | None:
    """The router in ``directory`` (default ``model_dir()``), cached; None when there is none.

    A damaged model is logged and treated as absent: dispatch goes on without suggestions.
    """
    folder = directory or model_dir()
    meta = folder / "model.json"
    try:
        stat = meta.stat()
    except FileNotFoundError:
        _cache.pop(folder, None)
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        cached = _cache.get(folder)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            model = RouteModel.load(folder)
        except (ModelFormatError, OSError, ValueError) as exc:
            log.warning("router model in %s cannot be loaded: %s", folder.name, exc)
            _cache.pop(folder, None)
            return None
        _cache[folder] = (stamp, model)
        return model


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def responsible_unit(category: Category | None) -> Unit | None:
    """The category's responsible unit, else its nearest ancestor's."""
    node = category
    seen: set[int] = set()
    while node is not None and node.pk not in seen:
        seen.add(node.pk)
        if node.responsible_unit_id is not None and node.responsible_unit is not None:
            return node.responsible_unit
        node = node.parent
    return None


def _unit_below(category: Category) -> Unit | None:
    """For a category without a unit: the unit responsible for most of its sub-categories."""
    counts = Counter(
        Category.objects.active()
        .filter(parent=category, responsible_unit__active=True)
        .values_list("responsible_unit_id", flat=True)
    )
    if not counts:
        return None
    unit_id = max(counts, key=lambda pk: (counts[pk], -pk))
    return Unit.objects.filter(pk=unit_id).first()


def unit_for_label(label: str) -> Unit | None:
    """The unit a router label stands for (see the module doc), or None."""
    text = (label or "").strip()
    if not text:
        return None
    unit = Unit.objects.filter(code=text, active=True).first()
    if unit is not None:
        return unit
    categories = Category.objects.active().select_related("responsible_unit", "parent")
    category = categories.filter(code=text).first()
    if category is None:
        # A first-level category before a sub-category of the same name.
        category = (
            categories.filter(name=text)
            .order_by(F("parent_id").asc(nulls_first=True), "pk")
            .first()
        )
    if category is None:
        return None
    unit = responsible_unit(category)
    if unit is None:
        unit = _unit_below(category)
    return unit if unit is not None and unit.active else None


def _model_input(model: RouteModel, appeal: Appeal) -> list[Any]:
    """The appeal as the model reads it: (title, text) for two fields, joined for one."""
    if len(model.fields) == 1:
        return [f"{appeal.title}\n{appeal.text}"]
    values = [appeal.title, appeal.text] + [""] * max(0, len(model.fields) - 2)
    return [tuple(values[: len(model.fields)])]


def suggest(
    appeal: Appeal, top: int = 3, *, model: RouteModel | None = None
) -> list[dict[str, Any]]:
    """The router's ``top`` units, best first: ``{unit_id, unit_code, unit_name, confidence}``.

    Empty when no model is installed.
    """
    model = model or load_model()
    if model is None:
        return []
    # Ask for every label: several may map to one unit, and some to none.
    prediction = model.predict(_model_input(model, appeal), top=len(model.labels))[0]
    by_unit: dict[int, dict[str, Any]] = {}
    for label, probability in prediction.top:
        unit = unit_for_label(label)
        if unit is None:
            continue
        entry = by_unit.setdefault(
            unit.pk,
            {"unit_id": unit.pk, "unit_code": unit.code, "unit_name": unit.name, "confidence": 0.0},
        )
        entry["confidence"] += float(probability)
    ranked = sorted(by_unit.values(), key=lambda e: (-e["confidence"], e["unit_id"]))
    for entry in ranked:
        entry["confidence"] = round(min(1.0, entry["confidence"]), 4)
    return ranked[: max(0, top)]


def model_info(model: RouteModel | None) -> dict[str, Any] | None:
    if model is None:
        return None
    training = model.info or {}
    metrics = training.get("metrics") or {}
    return {
        "labels": len(model.labels),
        "fields": list(model.fields),
        "trained_rows": training.get("trained_rows"),
        "source": training.get("source", ""),
        "macro_f1": metrics.get("macro_f1"),
    }


def suggestions_for(appeal: Appeal, top: int = 3) -> dict[str, Any]:
    """What the dispatch screen shows: suggestions, the model used, the default unit."""
    from appeals.services import default_unit_for

    model = load_model()
    default = default_unit_for(appeal)
    return {
        "suggestions": suggest(appeal, top, model=model) if model is not None else [],
        "model": model_info(model),
        "default_unit": (
            None
            if default is None
            else {"unit_id": default.pk, "unit_code": default.code, "unit_name": default.name}
        ),
    }
