"""Small builders for engine tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from opinion.engine import Item
from opinion.engine.model import BEIJING

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=BEIJING)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def item(id: str, minutes: float, text: str, parent_id: str | None = None, reach: int = 0) -> Item:
    return Item(id=id, time=at(minutes), text=text, parent_id=parent_id, reach=reach)
