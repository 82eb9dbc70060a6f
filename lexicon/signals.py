"""A changed word or unit name makes every process rebuild its segmenter on next use."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from lexicon import services
from lexicon.models import Word
from org.models import Unit


@receiver(post_save, sender=Word)
@receiver(post_delete, sender=Word)
@receiver(post_save, sender=Unit)
@receiver(post_delete, sender=Unit)
def _dictionary_changed(**kwargs: Any) -> None:
    # After commit: a rolled-back edit must not make other processes rebuild for nothing, and
    # a rebuild started before the commit would miss the word.
    transaction.on_commit(services.bump_version)
