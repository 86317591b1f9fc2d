"""Read-side queries behind the slash commands: latest matched stories, full-text search, status.

Reads only; nothing here writes. Every query is bounded (LIMIT) and index-backed so commands
answer well inside the platforms' 3-second window (bench/bench_commands.py measures it).
A story's time is when it was published, or when first seen if the feed gave no date or a date
in the future: `MIN(COALESCE(published_at, seen_at), seen_at)`, the expression the
`items_story_at` index is built on (migration 2 in bot/store/db.py); keep the two identical.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlite_utils import Database

from bot.store.outbox import queue_depth

STORY_AT = "MIN(COALESCE(i.published_at, i.seen_at), i.seen_at)"
_STORY_COLUMNS = f"i.id, i.title, i.link, i.summary, i.source, i.feed_url, {STORY_AT} AS story_at"
# Below this many candidate matches, sorting them is cheaper than walking every item in time order.
_SMALL_MATCH_SET = 5000
SEARCH_CANDIDATES = 2000


@dataclass(frozen=True)
class StoryRow:
    id: str
    title: str
    link: str | None
    summary: str
    source: str
    feed_url: str
    story_at: float
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatusCounts:
    last_poll_at: float | None
    items_24h: int
    matched_24h: int
    alerts_sent_24h: int
    queue_depth: int
    items_total: int


def latest_matched(db: Database, *, limit: int, offset: int = 0, rule: str | None = None) -> list[StoryRow]:
    """Newest stories that matched `rule` (any rule when None), newest first, each story once."""
    where = "AND m.rule = ?" if rule else ""
    params: list[Any] = [rule] if rule else []
    candidates = _count_matches(db, rule)
    if candidates == 0:
        return []
    if candidates <= _SMALL_MATCH_SET:
        # Few matches: join them to their items and sort just those.
        sql = (
            f"SELECT {_STORY_COLUMNS} FROM items i WHERE i.id IN "
            f"(SELECT m.item_id FROM matches m WHERE 1 {where}) "
            "ORDER BY story_at DESC, i.rowid DESC LIMIT ? OFFSET ?"
        )
    else:
        # Many matches: walk items newest first on the items_story_at index, keep matched ones, stop early.
        sql = (
            f"SELECT {_STORY_COLUMNS} FROM items i WHERE EXISTS "
            f"(SELECT 1 FROM matches m WHERE m.item_id = i.id {where}) "
            f"ORDER BY {STORY_AT} DESC, i.rowid DESC LIMIT ? OFFSET ?"
        )
    rows = db.execute(sql, [*params, limit, offset]).fetchall()
    return _with_rules(db, [StoryRow(*row) for row in rows])


def search_items(db: Database, fts_query: str, *, limit: int, offset: int = 0) -> list[StoryRow]:
    """Stored items matching an FTS5 query (already safely quoted), best first, newest first on ties.

    Ranks the SEARCH_CANDIDATES most recently stored hits: every hit for a specific query, the
    recent ones for a word that is in nearly every story (ranking 100,000 hits takes ~175 ms).
    """
    sql = (
        "WITH hits AS (SELECT rowid, rank FROM items_fts WHERE items_fts MATCH ? ORDER BY rowid DESC LIMIT ?) "
        f"SELECT {_STORY_COLUMNS} FROM hits JOIN items i ON i.rowid = hits.rowid "
        "ORDER BY hits.rank, story_at DESC, i.rowid DESC LIMIT ? OFFSET ?"
    )
    rows = db.execute(sql, [fts_query, SEARCH_CANDIDATES, limit, offset]).fetchall()
    return _with_rules(db, [StoryRow(*row) for row in rows])


def recent_items(db: Database, *, limit: int, matched_only: bool = False) -> list[StoryRow]:
    """The newest stored items (optionally only matched ones), newest first: for `rules test` and facts."""
    if matched_only:
        return latest_matched(db, limit=limit)
    rows = db.execute(
        f"SELECT {_STORY_COLUMNS} FROM items i ORDER BY {STORY_AT} DESC, i.rowid DESC LIMIT ?", [limit]
    ).fetchall()
    return [StoryRow(*row) for row in rows]


def status_counts(db: Database, *, now: float) -> StatusCounts:
    since = now - 86400

    def one(sql: str, *params: Any) -> Any:
        return db.execute(sql, list(params)).fetchone()[0]

    return StatusCounts(
        last_poll_at=one("SELECT MAX(last_fetch_at) FROM feeds"),
        items_24h=int(one("SELECT count(*) FROM items WHERE seen_at >= ?", since)),
        matched_24h=int(one("SELECT count(DISTINCT item_id) FROM matches WHERE matched_at >= ?", since)),
        alerts_sent_24h=int(
            one("SELECT count(*) FROM deliveries WHERE sent_at >= ? AND status = 'sent'", since)
        ),
        queue_depth=queue_depth(db),
        items_total=int(one("SELECT count(*) FROM items")),
    )


def feed_rows(db: Database, urls: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Health columns of the `feeds` rows for `urls` (feeds never polled have no row)."""
    wanted = list(urls)
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    cursor = db.execute(
        "SELECT url, last_status, last_error, last_error_kind, error_count, last_fetch_at, last_success_at,"
        f" disabled_reason, items_seen FROM feeds WHERE url IN ({marks})",
        wanted,
    )
    columns = [c[0] for c in cursor.description]
    return {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}


def _count_matches(db: Database, rule: str | None) -> int:
    # Counting stops at the threshold: an exact count of a large set is not needed.
    where, params = ("WHERE rule = ?", [rule]) if rule else ("", [])
    sql = f"SELECT count(*) FROM (SELECT 1 FROM matches {where} LIMIT ?)"
    return int(db.execute(sql, [*params, _SMALL_MATCH_SET + 1]).fetchone()[0])


def _with_rules(db: Database, stories: Sequence[StoryRow]) -> list[StoryRow]:
    if not stories:
        return []
    marks = ",".join("?" * len(stories))
    rules: dict[str, list[str]] = {}
    for item_id, rule in db.execute(
        f"SELECT item_id, rule FROM matches WHERE item_id IN ({marks}) ORDER BY rule", [s.id for s in stories]
    ):
        rules.setdefault(item_id, []).append(rule)
    return [replace(s, rules=tuple(rules.get(s.id, ()))) for s in stories]
