"""Items and their rule matches: store each story once, however many times and places it appears.

An incoming item is a duplicate when its id (from the guid), its canonical link, or its story key
(the normalised headline, seen within STORY_WINDOW) is already stored. Duplicates refresh the
stored story's last-seen time so a headline that keeps resurfacing keeps being recognised.
Also here: loading a stored item back, and finding one by id, id prefix or link (`story` commands).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from bot.core.links import canonical_link
from bot.core.model import Item, RuleMatch

STORY_WINDOW = 7 * 86400.0  # an identical headline after a week is a new story ("Markets wrap")


KNOWN_PER_FEED = 1000  # more than any feed carries at once (a feed is cut to 500 entries)


def recent_item_ids(db: Database, feed_url: str) -> frozenset[str]:
    """The ids of the feed's most recently stored items: the ones its next body will carry again."""
    rows = db.execute(
        "SELECT id FROM items WHERE feed_url = ? ORDER BY seen_at DESC LIMIT ?", [feed_url, KNOWN_PER_FEED]
    ).fetchall()
    return frozenset(row[0] for row in rows)


def insert_new_items(db: Database, items: Sequence[Item], *, now: float, backlog: bool) -> list[Item]:
    """Insert the items not stored yet; return them (in input order). Call inside a transaction."""
    known_ids = _existing(db, "id", [item.id for item in items])
    known_links = _existing(db, "canonical_link", [item.canonical_link for item in items])
    known_keys = _existing(
        db, "story_key", [item.story_key for item in items], "last_seen_at >= ?", [now - STORY_WINDOW]
    )
    fresh: list[Item] = []
    seen_again: list[Item] = []
    for item in items:
        if item.id in known_ids or item.canonical_link in known_links or item.story_key in known_keys:
            seen_again.append(item)
            continue
        fresh.append(item)
        # the same story twice in one feed: the second copy is a duplicate of the first
        known_ids.add(item.id)
        if item.canonical_link:
            known_links.add(item.canonical_link)
        if item.story_key:
            known_keys.add(item.story_key)
    # every key was checked above inside this transaction, so nothing here can conflict
    db.conn.executemany(
        "INSERT INTO items (id, feed_url, guid, link, canonical_link, story_key, title, summary, source,"
        " published_at, seen_at, last_seen_at, backlog) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (item.id, item.feed_url, item.guid, item.link, item.canonical_link, item.story_key, item.title,
             item.summary, item.source, item.published.timestamp() if item.published else None, now, now,
             int(backlog))
            for item in fresh
        ],
    )  # fmt: skip
    _touch(db, seen_again, now)
    return fresh


def _existing(
    db: Database,
    column: str,
    values: list[str | None],
    extra: str = "1",
    extra_args: list[object] | None = None,
) -> set[str | None]:
    wanted = [value for value in dict.fromkeys(values) if value]
    if not wanted:
        return set()
    marks = ",".join("?" * len(wanted))
    rows = db.execute(
        f"SELECT {column} FROM items WHERE {column} IN ({marks}) AND {extra}", [*wanted, *(extra_args or [])]
    )
    return {row[0] for row in rows}


def _touch(db: Database, items: list[Item], now: float) -> None:
    """Refresh last_seen_at of stories seen again, so a resurfacing headline stays recognised."""
    for column, values in (
        ("id", [item.id for item in items]),
        ("canonical_link", [item.canonical_link for item in items if item.canonical_link]),
        ("story_key", [item.story_key for item in items if item.story_key]),
    ):
        if values:
            marks = ",".join("?" * len(values))
            db.execute(f"UPDATE items SET last_seen_at = ? WHERE {column} IN ({marks})", [now, *values])


def record_matches(db: Database, item_id: str, matches: Iterable[RuleMatch], *, now: float) -> None:
    for match in matches:
        db.execute(
            "INSERT INTO matches (item_id, rule, terms, matched_at) VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
            [item_id, match.rule, json.dumps(list(match.terms)), now],
        )


def count_items(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM items").fetchone()[0])


ITEM_COLUMNS = "id, feed_url, title, link, canonical_link, guid, summary, published_at, source, story_key"
MIN_ID_PREFIX = 8  # shorter id prefixes are too likely to name several items
_HEX = re.compile(r"[0-9a-f]+")


def item_from_row(row: Mapping[str, Any], id_column: str = "id") -> Item:
    """An Item from a row holding ITEM_COLUMNS (the id under `id_column`)."""
    published = row["published_at"]
    return Item(
        id=row[id_column], feed_url=row["feed_url"], title=row["title"], link=row["link"],
        canonical_link=row["canonical_link"], guid=row["guid"], summary=row["summary"], source=row["source"],
        story_key=row["story_key"], published=datetime.fromtimestamp(published, tz=UTC) if published else None,
    )  # fmt: skip


def load_item(db: Database, item_id: str) -> Item | None:
    rows = list(db.query(f"SELECT {ITEM_COLUMNS} FROM items WHERE id = ?", [item_id]))
    return item_from_row(rows[0]) if rows else None


def find_item_ids(db: Database, ref: str) -> list[str]:
    """Ids of the stored items `ref` names: an item id, a unique-looking id prefix (at least
    MIN_ID_PREFIX characters), or the item's link. At most two: more than one means ambiguous."""
    ref = ref.strip().strip("<>").split("|", 1)[0]  # Slack may wrap a pasted link as <url|label>
    exact = db.execute("SELECT id FROM items WHERE id = ?", [ref]).fetchone()
    if exact:
        return [exact[0]]
    if len(ref) >= MIN_ID_PREFIX and _HEX.fullmatch(ref.lower()):
        prefix = ref.lower()
        rows = db.execute(
            "SELECT id FROM items WHERE id >= ? AND id < ? ORDER BY id LIMIT 2", [prefix, prefix + "g"]
        ).fetchall()
        if rows:
            return [row[0] for row in rows]
    key = canonical_link(ref)
    rows = db.execute(
        "SELECT id FROM items WHERE link = ? OR canonical_link = ? ORDER BY seen_at LIMIT 2", [ref, key]
    ).fetchall()
    return [row[0] for row in rows]


def item_matches(db: Database, item_id: str) -> list[RuleMatch]:
    """The rules `item_id` matched when it was stored, with the terms that made each fire."""
    rows = db.execute("SELECT rule, terms FROM matches WHERE item_id = ? ORDER BY rule", [item_id])
    return [RuleMatch(rule, tuple(json.loads(terms))) for rule, terms in rows]
