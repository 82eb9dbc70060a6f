"""Bidirectional control characters are removed from user text before it is stored.

U+202A–U+202E (embeddings and overrides: LRE, RLE, PDF, LRO, RLO) and U+2066–U+2069 (isolates:
LRI, RLI, FSI, PDI) make a browser, a spreadsheet or an SMS reader show text in an order other
than the one it was typed in: "RLO gpj.exe" reads as "exe.jpg", and an override left open in an
address or a name reverses whatever the page prints after it. Chinese, the platform's language,
never needs them, so they are removed rather than isolated on every page that might show the text.

The one place is the ``pre_save`` signal (connected in ``minsheng.apps``): every ``CharField`` and
``TextField`` of every model is cleaned on ``save()``, whichever way the text came in (web form,
API, Open311, admin, agent's entry). Not covered: ``bulk_create`` and ``QuerySet.update`` (the
appeal importer, notices, scraped opinion items), and the audit trail, which keeps what was sent: its entries
are hash-chained and the auditor must see exactly what arrived.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import models

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_DROP = dict.fromkeys(map(ord, BIDI_CONTROLS))

# Apps whose rows must hold exactly what was sent (the hash-chained trail) or are not user text.
KEPT_AS_SENT = frozenset({"audit", "sessions", "contenttypes", "admin"})


def strip_bidi_controls(text: str) -> str:
    """``text`` without the nine explicit bidirectional formatting characters."""
    return text.translate(_DROP) if not BIDI_CONTROLS.isdisjoint(text) else text


@functools.cache
def _text_fields(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(
        f.attname
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField)
    )


def clean_on_save(
    sender: type[models.Model],
    instance: models.Model,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    if sender._meta.app_label in KEPT_AS_SENT:
        return
    for name in _text_fields(sender):
        if update_fields is not None and name not in update_fields:
            continue
        value = getattr(instance, name)
        if isinstance(value, str) and not BIDI_CONTROLS.isdisjoint(value):
            setattr(instance, name, value.translate(_DROP))
