"""Which new items are news worth an alert (pure: takes `now`).

A feed seen for the first time carries a backlog; posting it would flood channels, so by default
none of it is posted (or only the newest few, by policy). Independently, an item older than
`max_age` is never posted: feeds re-date and re-id old items, and those are not news.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.core.model import Item


class Backlog(Protocol):
    """What a newly added feed posts from the items it already carries (bot.config's BacklogPolicy):
    nothing (`mode` "none"), or the newest `count` published within `hours` (seconds)."""

    @property
    def mode(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def hours(self) -> float: ...


def is_fresh(item: Item, *, now: datetime, max_age: float) -> bool:
    """False for items published longer than `max_age` seconds ago (undated items count as new)."""
    if item.published is None:
        return True
    return (now - item.published).total_seconds() <= max_age


def alertable_items(
    items: Sequence[Item], *, first_fetch: bool, now: datetime, max_age: float, backlog: Backlog
) -> list[Item]:
    """The subset of newly stored `items` that may be alerted on."""
    fresh = [item for item in items if is_fresh(item, now=now, max_age=max_age)]
    if not first_fetch:
        return fresh
    if backlog.mode == "none" or backlog.count == 0:
        return []
    recent = [
        item
        for item in fresh
        if item.published is not None and (now - item.published).total_seconds() <= backlog.hours
    ]
    recent.sort(key=lambda item: item.published or now, reverse=True)
    return recent[: backlog.count]
