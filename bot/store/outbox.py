"""The delivery outbox: one row per (item, platform, channel), unique, so an alert is queued once.

Row life: pending -> sending (claimed just before the send, attempt counted) -> sent (with the
platform's message reference), or back to pending with a later next_attempt_at after a retryable
failure, or failed for good. A row may stay 'sending' when nobody knows whether the platform took
it: a send whose answer was lost or unreadable (left so until next_attempt_at, a backoff), or one
interrupted by a crash. bot.deliver.recovery settles those without posting twice where it can look. Kinds: 'alert' (a story's first post to
a channel), 'update' (another outlet's copy of a story, sent after its parent alert), and rows folded
into a catch-up digest are marked sent with the digest's reference.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from bot.core.model import Alert, ReportedCopy
from bot.core.routing import PlannedDelivery
from bot.logs import redact_tokens
from bot.store.db import transaction
from bot.store.items import item_from_row


@dataclass(frozen=True)
class DueDelivery:
    platform: str
    channel: str
    attempts: int
    alert: Alert
    created_at: float
    kind: str = "alert"  # alert | update
    parent_id: int | None = None
    marker: str | None = None  # message_ref while 'sending': DIGEST_MARKER for rows folded into a digest


@dataclass(frozen=True)
class Parent:
    """The alert an update belongs to, as its channel received it."""

    status: str
    message_ref: str | None
    alert: Alert  # with also_reported filled in: every copy queued for this channel so far


def enqueue(db: Database, item_id: str, planned: Iterable[PlannedDelivery], *, now: float) -> int:
    """Queue deliveries for an item (inside the caller's transaction); returns how many were new."""
    added = 0
    for delivery in planned:
        cursor = db.execute(
            "INSERT INTO deliveries (item_id, platform, channel, rules, terms, next_attempt_at, created_at)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
            [item_id, delivery.platform, delivery.channel, json.dumps(list(delivery.rules)),
             json.dumps(list(delivery.terms)), now, now],
        )  # fmt: skip
        added += cursor.rowcount
    return added


def has_deliveries(db: Database, item_id: str) -> bool:
    """Whether the item was ever queued for a channel (as an alert or an update)."""
    return db.execute("SELECT 1 FROM deliveries WHERE item_id = ? LIMIT 1", [item_id]).fetchone() is not None


_SELECT = (
    "SELECT d.id AS delivery_id, d.platform, d.channel, d.rules, d.terms, d.attempts, d.kind, d.parent_id,"
    " d.status, d.message_ref, d.created_at, i.id AS item_id, i.feed_url, i.title, i.link, i.canonical_link,"
    " i.guid, i.summary, i.published_at, i.source, i.story_key, f.name AS feed_name"
    " FROM deliveries d JOIN items i ON i.id = d.item_id LEFT JOIN feeds f ON f.url = i.feed_url"
)


def due_deliveries(
    db: Database, *, now: float, platforms: Collection[str], limit: int = 200
) -> list[DueDelivery]:
    """Pending rows whose time has come, oldest first, for the connected platforms."""
    if not platforms:
        return []
    marks = ",".join("?" * len(platforms))
    rows = db.query(
        f"{_SELECT} WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND d.platform IN ({marks})"
        " ORDER BY d.created_at, d.id LIMIT ?",
        [now, *platforms, limit],
    )
    return [_due(row) for row in rows]


def _alert(row: dict[str, Any], also: tuple[ReportedCopy, ...] = ()) -> Alert:
    return Alert(
        delivery_id=row["delivery_id"], item=item_from_row(row, "item_id"), rules=tuple(json.loads(row["rules"])),
        terms=tuple(json.loads(row["terms"])), feed_name=row["feed_name"] or "", also_reported=also,
    )  # fmt: skip


def _due(row: dict[str, Any]) -> DueDelivery:
    return DueDelivery(
        platform=row["platform"], channel=row["channel"], attempts=row["attempts"], alert=_alert(row),
        created_at=row["created_at"], kind=row["kind"], parent_id=row["parent_id"],
        marker=row["message_ref"] if row["status"] == "sending" else None,
    )  # fmt: skip


def parent_of(db: Database, update: DueDelivery) -> Parent | None:
    """The alert an update row belongs to, with every copy queued for its channel up to this one.

    Copies an admin split out of the story since (the item is now a story of its own) are no
    longer listed, except the update's own copy."""
    parent_rows = list(db.query(f"{_SELECT} WHERE d.id = ?", [update.parent_id]))
    if not parent_rows:
        return None
    parent = parent_rows[0]
    copies = db.execute(
        "SELECT i.source, i.title, i.link FROM deliveries d JOIN items i ON i.id = d.item_id"
        " WHERE d.parent_id = ? AND d.kind = 'update' AND d.id <= ?"
        " AND (i.story_id IS NOT i.id OR d.id = ?) ORDER BY d.id",
        [update.parent_id, update.alert.delivery_id, update.alert.delivery_id],
    ).fetchall()
    also = tuple(ReportedCopy(source=source or "", title=title, link=link) for source, title, link in copies)
    return Parent(status=parent["status"], message_ref=parent["message_ref"], alert=_alert(parent, also))


def earlier_update_unsettled(db: Database, update: DueDelivery) -> bool:
    """Whether an older update of the same alert is still pending or being sent. Updates of one alert
    go out in order, so each edit's list of copies only grows (a late older one would shrink it)."""
    row = db.execute(
        "SELECT 1 FROM deliveries WHERE parent_id = ? AND kind = 'update' AND id < ?"
        " AND status IN ('pending', 'sending') LIMIT 1",
        [update.parent_id, update.alert.delivery_id],
    ).fetchone()
    return row is not None


DIGEST_MARKER = "digest"


def claim(db: Database, delivery_ids: Collection[int], *, now: float, marker: str | None = None) -> bool:
    """Mark pending rows as being sent (all or none); False if any was no longer pending.

    `marker` is kept in message_ref while sending, so recovery knows what kind of send was interrupted.
    """
    ids = list(delivery_ids)
    marks = ",".join("?" * len(ids))
    try:
        with transaction(db):
            cursor = db.execute(
                f"UPDATE deliveries SET status = 'sending', attempts = attempts + 1, claimed_at = ?,"
                f" message_ref = ? WHERE id IN ({marks}) AND status = 'pending'",
                [now, marker, *ids],
            )
            if cursor.rowcount != len(ids):
                raise _ClaimLost
    except _ClaimLost:
        return False
    return True


class _ClaimLost(Exception):
    """Another dispatcher claimed one of the rows first; the transaction is rolled back."""


def mark_sent(db: Database, delivery_ids: Collection[int], *, message_ref: str, now: float) -> None:
    ids = list(delivery_ids)
    marks = ",".join("?" * len(ids))
    with transaction(db):
        db.execute(
            f"UPDATE deliveries SET status = 'sent', message_ref = ?, sent_at = ?, last_error = NULL"
            f" WHERE id IN ({marks})",
            [message_ref, now, *ids],
        )


def mark_retry(db: Database, delivery_id: int, *, error: str, next_attempt_at: float) -> None:
    with transaction(db):
        db.execute(
            "UPDATE deliveries SET status = 'pending', last_error = ?, next_attempt_at = ? WHERE id = ?",
            [error, next_attempt_at, delivery_id],
        )


def mark_unsettled(db: Database, delivery_ids: Collection[int], *, error: str, settle_at: float) -> None:
    """Leave claimed rows 'sending' (the platform may have posted them) for bot.deliver.recovery to settle
    at `settle_at`: found -> sent; not found, or no way to look -> sent again."""
    ids = list(delivery_ids)
    marks = ",".join("?" * len(ids))
    with transaction(db):
        db.execute(
            f"UPDATE deliveries SET last_error = ?, next_attempt_at = ? WHERE id IN ({marks}) AND status = 'sending'",
            [error, settle_at, *ids],
        )


def mark_failed(db: Database, delivery_id: int, *, error: str) -> None:
    with transaction(db):
        db.execute(
            "UPDATE deliveries SET status = 'failed', last_error = ? WHERE id = ?", [error, delivery_id]
        )


def claimed_at(db: Database, delivery_id: int) -> float | None:
    row = db.execute("SELECT claimed_at FROM deliveries WHERE id = ?", [delivery_id]).fetchone()
    return row[0] if row else None


def unsettled(db: Database, *, now: float) -> list[DueDelivery]:
    """Rows left 'sending' whose time to be settled has come: each may or may not have reached the
    platform (a crash or kill mid-send: at once; an unknown outcome: after its backoff)."""
    rows = db.query(f"{_SELECT} WHERE d.status = 'sending' AND d.next_attempt_at <= ? ORDER BY d.id", [now])
    return [_due(row) for row in rows]


def queue_depth(db: Database) -> int:
    return int(
        db.execute("SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')").fetchone()[0]
    )


@dataclass(frozen=True)
class ChannelProblem:
    """A channel whose alerts fail or wait on errors: what operators see in `status`."""

    platform: str
    channel: str
    failed: int  # refused for good in the last week (bad channel, missing permission, bad token)
    retrying: int  # waiting to be tried (or settled) again after an error
    last_error: str


def channel_problems(db: Database, *, now: float, days: float = 7) -> list[ChannelProblem]:
    rows = db.execute(
        "SELECT platform, channel,"
        " sum(status = 'failed' AND created_at >= ?),"
        " sum(status IN ('pending', 'sending') AND last_error IS NOT NULL),"
        " (SELECT last_error FROM deliveries AS latest WHERE latest.platform = d.platform"
        "  AND latest.channel = d.channel AND latest.last_error IS NOT NULL ORDER BY latest.id DESC LIMIT 1)"
        " FROM deliveries AS d WHERE last_error IS NOT NULL AND status IN ('failed', 'pending', 'sending')"
        " GROUP BY platform, channel",
        [now - days * 86400],
    ).fetchall()
    return [
        ChannelProblem(platform, redact_tokens(channel), int(failed or 0), int(retrying or 0), error or "")
        for platform, channel, failed, retrying, error in rows
        if failed or retrying
    ]
