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
