"""Items and their rule matches: store each story once, however many times and places it appears.

An incoming item is a duplicate when its id (from the guid), its canonical link, or its story key
(the normalised headline, seen within STORY_WINDOW) is already stored. Duplicates refresh the
stored story's last-seen time so a headline that keeps resurfacing keeps being recognised.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from sqlite_utils import Database

from bot.model import Item, RuleMatch

STORY_WINDOW = 7 * 86400.0  # an identical headline after a week is a new story ("Markets wrap")


def insert_new_items(db: Database, items: Sequence[Item], *, now: float, backlog: bool) -> list[Item]:
    """Insert the items not stored yet; return them (in input order). Call inside a transaction."""
    fresh: list[Item] = []
    for item in items:
        if _known_story(db, item, now):
            continue
        inserted = db.execute(
            "INSERT INTO items (id, feed_url, guid, link, canonical_link, story_key, title, summary, source,"
            " published_at, seen_at, last_seen_at, backlog) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT DO NOTHING RETURNING id",
            [
                item.id,
                item.feed_url,
                item.guid,
                item.link,
                item.canonical_link,
                item.story_key,
                item.title,
                item.summary,
                item.source,
                item.published.timestamp() if item.published else None,
                now,
                now,
                int(backlog),
            ],
        ).fetchone()
        if inserted:
            fresh.append(item)
    return fresh


def _known_story(db: Database, item: Item, now: float) -> bool:
    row = db.execute(
        "SELECT id FROM items WHERE id = ? OR (canonical_link IS NOT NULL AND canonical_link = ?) LIMIT 1",
        [item.id, item.canonical_link],
    ).fetchone()
    if row is None and item.story_key:
        row = db.execute(
            "SELECT id FROM items WHERE story_key = ? AND last_seen_at >= ? LIMIT 1",
            [item.story_key, now - STORY_WINDOW],
        ).fetchone()
    if row is None:
        return False
    db.execute("UPDATE items SET last_seen_at = ? WHERE id = ?", [now, row[0]])
    return True


def record_matches(db: Database, item_id: str, matches: Iterable[RuleMatch], *, now: float) -> None:
    for match in matches:
        db.execute(
            "INSERT INTO matches (item_id, rule, terms, matched_at) VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
            [item_id, match.rule, json.dumps(list(match.terms)), now],
        )


def count_items(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM items").fetchone()[0])
