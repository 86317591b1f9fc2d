"""The delivery outbox: one row per (item, platform, channel), unique, so an alert is queued once.

Row life: pending -> sending (claimed, attempt counted) -> sent (with the platform's message ref),
or back to pending with a later next_attempt_at after a retryable failure, or failed for good.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlite_utils import Database

from bot.model import Alert, Item
from bot.routing import PlannedDelivery
from bot.store.db import transaction


@dataclass(frozen=True)
class DueDelivery:
    platform: str
    channel: str
    attempts: int
    alert: Alert


def enqueue(db: Database, item_id: str, planned: Iterable[PlannedDelivery], *, now: float) -> int:
    """Queue deliveries for an item (inside the caller's transaction); returns how many were new."""
    added = 0
    for delivery in planned:
        cursor = db.execute(
            "INSERT INTO deliveries (item_id, platform, channel, rules, terms, next_attempt_at, created_at)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
            [
                item_id,
                delivery.platform,
                delivery.channel,
                json.dumps(list(delivery.rules)),
                json.dumps(list(delivery.terms)),
                now,
                now,
            ],
        )
        added += cursor.rowcount
    return added


def due_deliveries(
    db: Database, *, now: float, platforms: Collection[str], limit: int = 100
) -> list[DueDelivery]:
    """Pending rows whose time has come, oldest first, for the connected platforms."""
    if not platforms:
        return []
    marks = ",".join("?" * len(platforms))
    rows = db.execute(
        "SELECT d.id, d.platform, d.channel, d.rules, d.terms, d.attempts, i.id, i.feed_url, i.title, i.link,"
        " i.canonical_link, i.guid, i.summary, i.published_at, i.source, i.story_key, f.name"
        " FROM deliveries d JOIN items i ON i.id = d.item_id LEFT JOIN feeds f ON f.url = i.feed_url"
        f" WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND d.platform IN ({marks})"
        " ORDER BY d.created_at, d.id LIMIT ?",
        [now, *platforms, limit],
    ).fetchall()
    return [_due_from_row(row) for row in rows]


def _due_from_row(row: tuple) -> DueDelivery:  # type: ignore[type-arg]
    (
        delivery_id,
        platform,
        channel,
        rules,
        terms,
        attempts,
        item_id,
        feed_url,
        title,
        link,
        canonical,
        guid,
        summary,
        published_at,
        source,
        story_key,
        feed_name,
    ) = row
    item = Item(
        id=item_id,
        feed_url=feed_url,
        title=title,
        link=link,
        canonical_link=canonical,
        guid=guid,
        summary=summary,
        source=source,
        story_key=story_key,
        published=datetime.fromtimestamp(published_at, tz=UTC) if published_at is not None else None,
    )
    alert = Alert(
        delivery_id=delivery_id,
        item=item,
        rules=tuple(json.loads(rules)),
        terms=tuple(json.loads(terms)),
        feed_name=feed_name or "",
    )
    return DueDelivery(platform=platform, channel=channel, attempts=attempts, alert=alert)


def claim(db: Database, delivery_id: int, *, now: float) -> bool:
    """Mark a pending row as being sent; False if another worker got it first."""
    with transaction(db):
        cursor = db.execute(
            "UPDATE deliveries SET status = 'sending', attempts = attempts + 1 WHERE id = ? AND status = 'pending'",
            [delivery_id],
        )
    return cursor.rowcount == 1


def mark_sent(db: Database, delivery_id: int, *, message_ref: str, now: float) -> None:
    with transaction(db):
        db.execute(
            "UPDATE deliveries SET status = 'sent', message_ref = ?, sent_at = ?, last_error = NULL WHERE id = ?",
            [message_ref, now, delivery_id],
        )


def mark_retry(db: Database, delivery_id: int, *, error: str, next_attempt_at: float) -> None:
    with transaction(db):
        db.execute(
            "UPDATE deliveries SET status = 'pending', last_error = ?, next_attempt_at = ? WHERE id = ?",
            [error, next_attempt_at, delivery_id],
        )


def mark_failed(db: Database, delivery_id: int, *, error: str) -> None:
    with transaction(db):
        db.execute(
            "UPDATE deliveries SET status = 'failed', last_error = ? WHERE id = ?", [error, delivery_id]
        )


def release_interrupted(db: Database) -> int:
    """Rows left 'sending' by a crash go back to pending (see README: delivery guarantees)."""
    with transaction(db):
        cursor = db.execute("UPDATE deliveries SET status = 'pending' WHERE status = 'sending'")
    return cursor.rowcount


def queue_depth(db: Database) -> int:
    return int(
        db.execute("SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')").fetchone()[0]
    )
