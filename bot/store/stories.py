"""Group items into stories across outlets: the near-duplicate index (bot.story) kept in SQLite.

A story's id is the id of its first item. Each indexed item stores its features (story_members)
and its LSH band keys under its story (story_bands, stamped with the story's first-seen time), so
finding the story of a new item is a handful of indexed lookups whatever the table's size:
candidates share a band and started within STORY_WINDOW, at most MAX_CANDIDATES of them are
verified with bot.story.is_same_story. Call these inside the caller's transaction.

Also here: the outbox side of grouping. A later copy of a story becomes an 'update' delivery
for each channel the story already alerted (its parent), not a second alert. And undoing a wrong
grouping: `split_from_story` makes a report a story of its own (`story split`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from sqlite_utils import Database

from bot.model import Item
from bot.routing import PlannedDelivery
from bot.store.outbox import enqueue, mark_sent
from bot.story import Sketch, StoryFeatures, is_groupable, is_same_story, similarity, story_sketch

STORY_WINDOW = 48 * 3600.0  # only stories first seen this recently take new copies
MAX_CANDIDATES = 20  # stories verified per item (most shared bands first): bounds the cost per item
MAX_MEMBERS_PER_STORY = 4  # copies compared per candidate story (its newest): a hot story with
# hundreds of copies must not make every further lookup slower


@lru_cache(maxsize=512)
def _sketch(title: str, summary: str, source: str) -> tuple[StoryFeatures, tuple[str, ...]]:
    """Features and band keys of one item (cached: find_story and add_to_story both need them)."""
    return story_sketch(title, summary, source)


def find_story(db: Database, item: Item, now: float, sketch: Sketch | None = None) -> str | None:
    """The id of the recent story `item` is another report of, or None if it is a new story.

    `sketch` is the item's `story_sketch`, when already computed (the parser workers do)."""
    features, bands = sketch or _sketch(item.title, item.summary, item.source)
    if not bands or not is_groupable(features):
        return None
    marks = ",".join("?" * len(bands))
    candidates = [
        row[0]
        for row in db.execute(
            "SELECT story_id FROM story_bands"
            f" WHERE band IN ({marks}) AND seen_at >= ? AND story_id != ?"
            " GROUP BY story_id ORDER BY count(*) DESC, max(seen_at) DESC LIMIT ?",
            [*bands, now - STORY_WINDOW, item.id, MAX_CANDIDATES],
        )
    ]
    if not candidates:
        return None
    marks = ",".join("?" * len(candidates))
    members = db.execute(
        "SELECT story_id, features FROM (SELECT story_id, features, row_number() OVER"
        " (PARTITION BY story_id ORDER BY seen_at DESC, item_id) AS newest"
        f" FROM story_members WHERE story_id IN ({marks})) WHERE newest <= ?",
        [*candidates, MAX_MEMBERS_PER_STORY],
    )
    best: tuple[float, str] | None = None
    for story_id, stored in members:
        other = StoryFeatures.from_json(stored)
        if is_same_story(features, other):
            score = similarity(features.combined, other.combined)
            if best is None or score > best[0]:
                best = (score, story_id)
    return best[1] if best else None


def add_to_story(db: Database, item: Item, story_id: str, now: float, sketch: Sketch | None = None) -> None:
    """Record `item` as part of `story_id` (its own id for a new story) and index it."""
    db.execute("UPDATE items SET story_id = ? WHERE id = ?", [story_id, item.id])
    features, bands = sketch or _sketch(item.title, item.summary, item.source)
    if not bands or not is_groupable(features):
        return  # too little text to group on: it stays a story of its own
    started = db.execute("SELECT min(seen_at) FROM story_members WHERE story_id = ?", [story_id]).fetchone()[
        0
    ]
    started = now if started is None else min(started, now)
    db.execute(
        "INSERT INTO story_members (item_id, story_id, seen_at, features) VALUES (?,?,?,?)"
        " ON CONFLICT DO NOTHING",
        [item.id, story_id, now, features.to_json()],
    )
    db.conn.executemany(
        "INSERT INTO story_bands (band, story_id, seen_at) VALUES (?,?,?) ON CONFLICT DO NOTHING",
        [(band, story_id, started) for band in bands],
    )


def prune_story_index(db: Database, now: float) -> int:
    """Drop index rows of stories too old to take new copies; returns how many band rows went."""
    cutoff = now - STORY_WINDOW
    removed = db.execute("DELETE FROM story_bands WHERE seen_at < ?", [cutoff]).rowcount
    db.execute("DELETE FROM story_members WHERE seen_at < ?", [cutoff])
    return int(removed)


def story_alerts(db: Database, story_id: str) -> dict[tuple[str, str], int]:
    """(platform, channel) -> the delivery id of the story's alert there (queued or sent)."""
    rows = db.execute(
        "SELECT d.platform, d.channel, min(d.id) FROM deliveries d JOIN items i ON i.id = d.item_id"
        " WHERE i.story_id = ? AND d.kind = 'alert' GROUP BY d.platform, d.channel",
        [story_id],
    )
    return {(platform, channel): delivery_id for platform, channel, delivery_id in rows}


def enqueue_update(
    db: Database, item_id: str, delivery: PlannedDelivery, parent_id: int, *, now: float
) -> int:
    """Queue "also reported by" for `item_id` in a channel whose story alert is `parent_id`."""
    cursor = db.execute(
        "INSERT INTO deliveries (item_id, platform, channel, rules, terms, next_attempt_at, created_at,"
        " kind, parent_id) VALUES (?,?,?,?,?,?,?, 'update', ?) ON CONFLICT DO NOTHING",
        [item_id, delivery.platform, delivery.channel, json.dumps(list(delivery.rules)),
         json.dumps(list(delivery.terms)), now, now, parent_id],
    )  # fmt: skip
    return int(cursor.rowcount)


def enqueue_copy(
    db: Database, item_id: str, story_id: str, planned: Iterable[PlannedDelivery], *, now: float
) -> int:
    """Queue a later copy of `story_id`: an update where the story already alerted, else an alert.

    Channels reached only through this copy's rules never saw the story, so they get the alert.
    Returns how many rows were queued.
    """
    parents = story_alerts(db, story_id)
    alerts: list[PlannedDelivery] = []
    added = 0
    for delivery in planned:
        parent_id = parents.get((delivery.platform, delivery.channel))
        if parent_id is None:
            alerts.append(delivery)
        else:
            added += enqueue_update(db, item_id, delivery, parent_id, now=now)
    return added + enqueue(db, item_id, alerts, now=now)


@dataclass(frozen=True)
class StoryReport:
    """One report (item) of a story, as `story show` lists it."""

    item_id: str
    title: str
    link: str | None
    source: str
    seen_at: float


def story_of(db: Database, item_id: str) -> str | None:
    """The story `item_id` belongs to (None for an item that matched no rule: it was never grouped)."""
    row = db.execute("SELECT story_id FROM items WHERE id = ?", [item_id]).fetchone()
    return row[0] if row else None


def story_reports(db: Database, story_id: str, *, limit: int) -> list[StoryReport]:
    """The story's reports in the order they arrived (its first report first), at most `limit`."""
    rows = db.execute(
        "SELECT id, title, link, source, seen_at FROM items WHERE story_id = ?"
        " ORDER BY id != ?, seen_at, rowid LIMIT ?",
        [story_id, story_id, limit],
    )
    return [StoryReport(*row) for row in rows]


SPLIT_MARK = "skipped: split from its story"


def split_from_story(db: Database, item: Item, now: float) -> list[int]:
    """Make `item`, a later report of another story, a story of its own (inside the caller's
    transaction). Returns the ids of its "also reported by" rows that had not gone out yet: they are
    dropped (marked sent with SPLIT_MARK), since it is no longer a copy of that story.

    Its index row moves to the new story, stamped with the time the item was first seen, so later
    copies of it join it rather than the story it was wrongly grouped with. The old story keeps the
    band keys the item added: they only make it a candidate, and candidates are verified against
    their members, of which the item no longer is one."""
    first_seen = db.execute("SELECT seen_at FROM items WHERE id = ?", [item.id]).fetchone()[0]
    db.execute("DELETE FROM story_members WHERE item_id = ?", [item.id])
    add_to_story(db, item, item.id, first_seen)
    unsent = [
        row[0]
        for row in db.execute(
            "SELECT id FROM deliveries WHERE item_id = ? AND kind = 'update' AND status = 'pending'",
            [item.id],
        )
    ]
    if unsent:
        mark_sent(db, unsent, message_ref=SPLIT_MARK, now=now)
    return unsent
