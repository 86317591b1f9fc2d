"""Feed rows: which feeds exist, when each is due, and each one's health (last status and error)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from bot.core.feed_policy import FeedFetched, FetchOutcome
from bot.store.db import transaction


@dataclass(frozen=True)
class FeedState:
    url: str
    name: str | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    error_count: int
    first_success_at: float | None
    next_fetch_at: float | None
    disabled_reason: str | None
    warning: str | None  # what the last parse of the current body warned about (e.g. entries cut)

    @property
    def is_new(self) -> bool:
        """Never fetched successfully: its current items are backlog, not news."""
        return self.first_success_at is None


def ensure_feeds(db: Database, feeds: Iterable[tuple[str, str | None]], now: float) -> None:
    """Create rows for configured feeds that have none yet (due at once); refresh changed names.

    Runs every tick: rows that are already right are not rewritten, so an idle tick writes nothing."""
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO feeds (url, name, next_fetch_at) VALUES (?, ?, ?) "
            "ON CONFLICT (url) DO UPDATE SET name = excluded.name WHERE name IS NOT excluded.name",
            [(url, name, now) for url, name in feeds],
        )


def feed_states(db: Database, urls: Iterable[str]) -> dict[str, FeedState]:
    wanted = list(urls)
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    rows = db.execute(
        "SELECT url, name, etag, last_modified, body_hash, error_count, first_success_at, next_fetch_at,"
        " disabled_reason, CASE last_error_kind WHEN 'warning' THEN last_error END"
        f" FROM feeds WHERE url IN ({marks})",
        wanted,
    ).fetchall()
    return {row[0]: FeedState(*row) for row in rows}


def new_item_counts(db: Database, since: float) -> dict[str, int]:
    """Per feed, the items first seen since `since` that were news, not a new feed's backlog: how
    busy each feed is, for the adaptive schedule."""
    rows = db.execute(
        "SELECT feed_url, COUNT(*) FROM items WHERE seen_at >= ? AND backlog = 0 GROUP BY feed_url", [since]
    ).fetchall()
    return {url: count for url, count in rows}


def record_fetch(db: Database, url: str, outcome: FetchOutcome, *, now: float) -> None:
    """Apply one fetch's outcome to the feed's row (validators change only on success)."""
    with transaction(db):
        if isinstance(outcome, FeedFetched):
            db.execute(
                "UPDATE feeds SET last_status = ?, last_fetch_at = ?, next_fetch_at = ?, error_count = 0,"
                " last_error = ?, last_error_kind = ?, disabled_reason = NULL, last_success_at = ?,"
                " first_success_at = COALESCE(first_success_at, ?),"
                " etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified),"
                " body_hash = COALESCE(?, body_hash), items_seen = items_seen + ? WHERE url = ?",
                [
                    outcome.status, now, outcome.next_fetch_at, outcome.warning,
                    "warning" if outcome.warning else None, now, now, outcome.etag,
                    outcome.last_modified, outcome.body_hash, outcome.new_items, url,
                ],
            )  # fmt: skip
        else:
            db.execute(
                "UPDATE feeds SET last_status = ?, last_fetch_at = ?, next_fetch_at = ?, error_count = ?,"
                " last_error = ?, last_error_kind = ?, disabled_reason = ? WHERE url = ?",
                [
                    outcome.status, now, outcome.next_fetch_at, outcome.error_count, outcome.message,
                    outcome.kind, outcome.disabled_reason, url,
                ],
            )  # fmt: skip


def count_pushed_items(db: Database, url: str, new_items: int) -> None:
    """Items a WebSub push brought count as seen from the feed, as a fetch's do."""
    if new_items:
        with transaction(db):
            db.execute("UPDATE feeds SET items_seen = items_seen + ? WHERE url = ?", [new_items, url])


def postpone(db: Database, urls: Iterable[str], next_fetch_at: float, note: str) -> None:
    """Retry soon without counting an error (used when our own network is down)."""
    with transaction(db):
        for url in urls:
            db.execute(
                "UPDATE feeds SET next_fetch_at = ?, last_error = ?, last_error_kind = 'offline' WHERE url = ?",
                [next_fetch_at, note, url],
            )


def resume_feed(db: Database, url: str, now: float) -> None:
    with transaction(db):
        db.execute(
            "UPDATE feeds SET disabled_reason = NULL, error_count = 0, next_fetch_at = ? WHERE url = ?",
            [now, url],
        )


def feed_health(db: Database) -> list[dict[str, Any]]:
    """Every feed row, for `status`: name, last status and error, next fetch, items seen."""
    return list(
        db.query("SELECT * FROM feeds ORDER BY (error_count > 0 OR disabled_reason IS NOT NULL) DESC, url")
    )
