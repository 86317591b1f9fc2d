"""Leases: one holder at a time for a named job among processes sharing the database.

Two processes on one database (the Procfile's `worker` and `web`, or a rolling deploy's old and new
process) must not both poll and dispatch. Each tries to take the `scheduler` lease at every job run;
the holder renews it, the others stand by (they still answer slash commands), and when the holder
stops renewing (stopped, killed, its host gone) the lease expires and another process takes it.
SQLite's write lock (BEGIN IMMEDIATE) makes the take-or-renew atomic between processes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

from bot.store.db import transaction

SCHEDULER = "scheduler"


@dataclass(frozen=True)
class Lease:
    holder: str
    renewed_at: float
    expires_at: float


def hold_lease(db: Database, name: str, holder: str, *, now: float, ttl: float) -> Lease:
    """Take the lease if it is free or expired, renew it if `holder` has it; return who holds it now."""
    with transaction(db):
        db.execute(
            "INSERT INTO leases (name, holder, renewed_at, expires_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, renewed_at = excluded.renewed_at,"
            " expires_at = excluded.expires_at WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
            [name, holder, now, now + ttl, now],
        )
        lease = current_lease(db, name)
    assert lease is not None  # just written, or held by another: a row either way
    return lease


def current_lease(db: Database, name: str) -> Lease | None:
    row = db.execute("SELECT holder, renewed_at, expires_at FROM leases WHERE name = ?", [name]).fetchone()
    return Lease(*row) if row else None


def release_lease(db: Database, name: str, holder: str) -> None:
    """Give the lease up at a clean stop, so a standby takes over at its next job run, not at expiry
    (also how a standby frees the lease of a holder whose process it knows has stopped)."""
    with transaction(db):
        db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", [name, holder])
