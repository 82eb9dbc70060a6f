"""Keep the index current: an appeal is (re)indexed when it is saved with a new title or text.

The write happens in the saving transaction, so an appeal and its index entry commit or roll
back together. ``QuerySet.update`` and ``bulk_create`` send no signal: code that writes appeal
texts that way (bulk import) calls ``search.index.index_ids`` itself, or the operator runs
``minsheng search reindex --missing``.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from appeals.models import Appeal
from search.index import index_appeals

INDEXED_FIELDS = frozenset({"title", "text"})


@receiver(post_save, sender=Appeal, dispatch_uid="search.index_appeal")
def index_saved_appeal(
    sender: type[Appeal],
    instance: Appeal,
    created: bool,
    update_fields: frozenset[str] | None = None,
    raw: bool = False,
    **kwargs: Any,
) -> None:
    if raw:  # loaddata: fixtures are indexed by ``minsheng search reindex``
        return
    if not created and update_fields is not None and not (INDEXED_FIELDS & set(update_fields)):
        return
    index_appeals([instance])
