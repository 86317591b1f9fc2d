"""WebSub subscriptions: one current row per feed (its hub, topic, callback token, secret, state and
lease), plus rows being unsubscribed after a feed dropped or changed its hub.

States: new (discovered, not asked yet), requested (subscribe sent, verification awaited), verified
(the hub confirmed; the lease runs), stale (verified, but the hub went quiet), expired (the lease ran
out unrenewed), failed (the hub refused or could not be reached; retried with backoff),
unsubscribing (no longer wanted). `pending` says a request was sent and its verification is awaited,
so a renewal keeps its row verified while it waits.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from sqlite_utils import Database

from bot.store.db import transaction

COLUMNS = (
    "id, feed_url, hub, topic, token, secret, state, pending, requested_at, verified_at, lease_seconds,"
    " lease_expires_at, last_push_at, failures, next_attempt_at"
)


@dataclass(frozen=True)
class Subscription:
    id: int
    feed_url: str
    hub: str
    topic: str
    token: str
    secret: str  # never logged
    state: str
    pending: str | None
    requested_at: float | None
    verified_at: float | None
    lease_seconds: int | None
    lease_expires_at: float | None
    last_push_at: float | None
    failures: int
    next_attempt_at: float | None

    def __repr__(self) -> str:  # the secret stays out of any log line or traceback that shows one
        return (
            f"Subscription(id={self.id}, feed_url={self.feed_url!r}, hub={self.hub!r}, state={self.state!r})"
        )

    @property
    def last_heard(self) -> float | None:
        """When the hub last showed it is alive for us: a push, else the verification."""
        return max((t for t in (self.last_push_at, self.verified_at) if t is not None), default=None)


def _rows(db: Database, where: str, params: Iterable[object] = ()) -> list[Subscription]:
    sql = f"SELECT {COLUMNS} FROM websub_subscriptions WHERE {where} ORDER BY id"
    return [Subscription(*row) for row in db.execute(sql, list(params)).fetchall()]


def by_token(db: Database, token: str) -> Subscription | None:
    found = _rows(db, "token = ?", [token])
    return found[0] if found else None


def current(db: Database, feed_url: str) -> Subscription | None:
    found = _rows(db, "feed_url = ? AND state != 'unsubscribing'", [feed_url])
    return found[0] if found else None


def all_subscriptions(db: Database) -> list[Subscription]:
    return _rows(db, "1")


def note_hub(db: Database, feed_url: str, hub: str | None, topic: str | None, now: float) -> bool:
    """Record what a poll of `feed_url` says about its hub. A new or changed (hub, topic) starts a
    fresh subscription (new token and secret) and retires the old one; no hub retires it. Returns
    whether anything changed. Rows that are already right are not rewritten."""
    with transaction(db):
        existing = current(db, feed_url)
        if existing is not None and hub is not None and (existing.hub, existing.topic) == (hub, topic):
            return False
        if existing is None and hub is None:
            return False
        if existing is not None:
            _retire(db, existing, now)
        if hub is not None and topic is not None:
            db.execute(
                "INSERT INTO websub_subscriptions (feed_url, hub, topic, token, secret, state, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?, 'new', ?)",
                [feed_url, hub, topic, secrets.token_urlsafe(32), secrets.token_hex(32), now],
            )
        return True


def _retire(db: Database, subscription: Subscription, now: float) -> None:
    """A subscription no longer wanted: unsubscribed from its hub if the hub knows it, else forgotten."""
    if subscription.state in ("new", "failed") and subscription.pending is None:
        db.execute("DELETE FROM websub_subscriptions WHERE id = ?", [subscription.id])
    else:
        db.execute(
            "UPDATE websub_subscriptions SET state = 'unsubscribing', pending = NULL, failures = 0,"
            " next_attempt_at = ? WHERE id = ?",
            [now, subscription.id],
        )


def retire_feeds_not_in(db: Database, feed_urls: Iterable[str], now: float) -> None:
    """Subscriptions of feeds no longer configured (or disabled) are retired."""
    wanted = set(feed_urls)
    with transaction(db):
        for subscription in _rows(db, "state != 'unsubscribing'"):
            if subscription.feed_url not in wanted:
                _retire(db, subscription, now)


def mark_requested(db: Database, subscription_id: int, mode: str, now: float) -> None:
    """The hub accepted a (un)subscribe request (202/204): its verification is awaited."""
    with transaction(db):
        db.execute(
            "UPDATE websub_subscriptions SET pending = ?, requested_at = ?,"
            " state = CASE WHEN state IN ('new', 'failed', 'expired') THEN 'requested' ELSE state END"
            " WHERE id = ?",
            [mode, now, subscription_id],
        )


def mark_failed(db: Database, subscription_id: int, error: str, next_attempt_at: float) -> None:
    """A request the hub refused or never answered, or a verification that never came."""
    with transaction(db):
        db.execute(
            "UPDATE websub_subscriptions SET pending = NULL, failures = failures + 1, last_error = ?,"
            " next_attempt_at = ?,"
            " state = CASE WHEN state IN ('unsubscribing', 'verified', 'stale') THEN state ELSE 'failed' END"
            " WHERE id = ?",
            [error[:300], next_attempt_at, subscription_id],
        )


def mark_verified(db: Database, subscription_id: int, lease_seconds: int, now: float) -> None:
    with transaction(db):
        db.execute(
            "UPDATE websub_subscriptions SET state = 'verified', pending = NULL, verified_at = ?,"
            " lease_seconds = ?, lease_expires_at = ?, failures = 0, last_error = NULL,"
            " next_attempt_at = NULL WHERE id = ?",
            [now, lease_seconds, now + lease_seconds, subscription_id],
        )


def mark_denied(db: Database, subscription_id: int, reason: str, next_attempt_at: float) -> None:
    """The hub denied the subscription (hub.mode=denied): retried later, with backoff."""
    mark_failed(db, subscription_id, f"denied by the hub: {reason}", next_attempt_at)
    with transaction(db):
        db.execute(
            "UPDATE websub_subscriptions SET state = 'failed', lease_expires_at = NULL WHERE id = ?"
            " AND state != 'unsubscribing'",
            [subscription_id],
        )


def delete(db: Database, subscription_id: int) -> None:
    with transaction(db):
        db.execute("DELETE FROM websub_subscriptions WHERE id = ?", [subscription_id])


def note_push(db: Database, subscription_id: int, now: float) -> None:
    """An authentic push arrived: the hub is alive, so a stale subscription is live again."""
    with transaction(db):
        db.execute(
            "UPDATE websub_subscriptions SET last_push_at = ?, pushes = pushes + 1,"
            " state = CASE WHEN state = 'stale' THEN 'verified' ELSE state END WHERE id = ?",
            [now, subscription_id],
        )


def note_bad_signature(db: Database, subscription_id: int) -> int:
    """Count a push whose signature did not check out; returns the count so far."""
    with transaction(db):
        db.execute(
            "UPDATE websub_subscriptions SET bad_signatures = bad_signatures + 1 WHERE id = ?",
            [subscription_id],
        )
    row = db.execute("SELECT bad_signatures FROM websub_subscriptions WHERE id = ?", [subscription_id])
    return int(row.fetchone()[0])


def mark_stale(db: Database, subscription_id: int) -> None:
    with transaction(db):
        db.execute(
            "UPDATE websub_subscriptions SET state = 'stale' WHERE id = ? AND state = 'verified'",
            [subscription_id],
        )


def expire_leases(db: Database, now: float) -> list[Subscription]:
    """Verified or stale leases that ran out unrenewed become expired (subscribed again at once)."""
    with transaction(db):
        ran_out = _rows(
            db,
            "state IN ('verified', 'stale') AND lease_expires_at IS NOT NULL AND lease_expires_at <= ?",
            [now],
        )
        for subscription in ran_out:
            db.execute(
                "UPDATE websub_subscriptions SET state = 'expired', pending = NULL, next_attempt_at = ?"
                " WHERE id = ?",
                [now, subscription.id],
            )
    return ran_out


def live_feeds(db: Database, now: float) -> set[str]:
    """Feeds whose subscription is verified with a lease still running: polled at the safety interval."""
    rows = db.execute(
        "SELECT feed_url FROM websub_subscriptions WHERE state = 'verified' AND lease_expires_at > ?", [now]
    ).fetchall()
    return {row[0] for row in rows}
