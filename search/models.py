"""The search index of appeals: one row per indexed appeal.

The terms themselves live where each database can search them fast, next to this table:
on PostgreSQL a ``document tsvector`` column of this table with a GIN index, on SQLite the FTS5
table ``search_appealfts`` (rowid = appeal id). Both are created by migration 0001 for the
database at hand; ``search.index`` writes them, ``search.appeals`` reads them.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appeals.models import Appeal


class AppealIndex(models.Model):
    appeal = models.OneToOneField(
        Appeal, primary_key=True, on_delete=models.CASCADE, related_name="search_index"
    )
    indexed_at = models.DateTimeField(_("索引时间"), default=timezone.now)

    class Meta:
        verbose_name = _("诉求检索索引")
        verbose_name_plural = _("诉求检索索引")

    def __str__(self) -> str:
        return str(self.appeal_id)
