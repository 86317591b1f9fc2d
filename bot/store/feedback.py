"""Reader feedback on alerts and stories muted per channel: what the alert buttons write, and the
reads behind the App Home, the rule preview and the precision report.

Writes are idempotent by their unique keys (`INSERT ... ON CONFLICT DO NOTHING`), so a double click
or a retried request counts once. Plain SQL only: the store also runs on PostgreSQL. Nothing here
decides; callers pass the time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from bot.store.db import transaction

NOT_RELEVANT = "not_relevant"
PREVIEW_ITEMS = 5000  # a week of items to preview a rule on, at most


@dataclass(frozen=True)
class AlertTarget:
    """The alert a button sits on: which item, story and channel, and the rules that fired."""

    delivery_id: int
    item_id: str
    story_id: str
    platform: str
    channel: str
    rules: tuple[str, ...]


@dataclass(frozen=True)
class Feedback:
    id: int
    item_id: str
    title: str
    link: str | None
    rules: tuple[str, ...]
    platform: str
    channel: str
    user_id: str
    at: float


@dataclass(frozen=True)
class SentAlert:
    """An alert queued or sent since some time: for "which alerts would this rule stop"."""

    delivery_id: int
    item_id: str
    title: str
    summary: str
    rules: tuple[str, ...]
    platform: str
    channel: str


def alert_target(db: Database, delivery_id: int) -> AlertTarget | None:
    """The alert delivery `delivery_id` (not an update or digest row), or None if there is none."""
    row = db.execute(
        "SELECT d.id, d.item_id, COALESCE(i.story_id, i.id), d.platform, d.channel, d.rules"
        " FROM deliveries d JOIN items i ON i.id = d.item_id WHERE d.id = ? AND d.kind = 'alert'",
        [delivery_id],
    ).fetchone()
    if row is None:
        return None
    return AlertTarget(row[0], row[1], row[2], row[3], row[4], tuple(json.loads(row[5])))


def record_feedback(db: Database, target: AlertTarget, *, user_id: str, at: float) -> bool:
    """Store "not relevant" from `user_id` on the target's item; False when that user already did."""
    with transaction(db):
        row = db.execute(
            "INSERT INTO feedback (item_id, delivery_id, rules, platform, channel, user_id, kind, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            [
                target.item_id,
                target.delivery_id,
                json.dumps(list(target.rules)),
                target.platform,
                target.channel,
                user_id,
                NOT_RELEVANT,
                at,
            ],
        ).fetchone()
    return row is not None


def mute_story(db: Database, target: AlertTarget, *, user_id: str, at: float) -> bool:
    """Stop updates of the target's story in its channel; False when it was muted already."""
    with transaction(db):
        row = db.execute(
            "INSERT INTO story_mutes (platform, channel, story_id, user_id, at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING RETURNING story_id",
            [target.platform, target.channel, target.story_id, user_id, at],
        ).fetchone()
    return row is not None


def story_muted(db: Database, platform: str, channel: str, item_id: str) -> bool:
    """Whether the story of item `item_id` is muted in that channel."""
    row = db.execute(
        "SELECT 1 FROM story_mutes m JOIN items i ON m.story_id = COALESCE(i.story_id, i.id)"
        " WHERE i.id = ? AND m.platform = ? AND m.channel = ?",
        [item_id, platform, channel],
    ).fetchone()
    return row is not None


_FEEDBACK = (
    "SELECT f.id, f.item_id, COALESCE(i.title, ''), i.link, f.rules, f.platform, f.channel, f.user_id, f.at"
    " FROM feedback f LEFT JOIN items i ON i.id = f.item_id"
)


def _feedback(row: Iterable[Any]) -> Feedback:
    fid, item_id, title, link, rules, platform, channel, user_id, at = row
    return Feedback(fid, item_id, title, link, tuple(json.loads(rules)), platform, channel, user_id, at)


def feedback_since(db: Database, since: float) -> list[Feedback]:
    """Every "not relevant" given since `since`, newest first."""
    rows = db.execute(
        f"{_FEEDBACK} WHERE f.at >= ? AND f.kind = ? ORDER BY f.at DESC, f.id DESC", [since, NOT_RELEVANT]
    )
    return [_feedback(row) for row in rows.fetchall()]


def feedback_by_id(db: Database, feedback_id: int) -> Feedback | None:
    row = db.execute(f"{_FEEDBACK} WHERE f.id = ?", [feedback_id]).fetchone()
    return _feedback(row) if row else None


def feedback_on_item(db: Database, item_id: str) -> list[Feedback]:
    rows = db.execute(f"{_FEEDBACK} WHERE f.item_id = ? ORDER BY f.at, f.id", [item_id])
    return [_feedback(row) for row in rows.fetchall()]


def alerts_since(db: Database, since: float) -> list[SentAlert]:
    """Alerts (not updates, not failed) queued since `since`, oldest first."""
    rows = db.execute(
        "SELECT d.id, d.item_id, i.title, i.summary, d.rules, d.platform, d.channel"
        " FROM deliveries d JOIN items i ON i.id = d.item_id"
        " WHERE d.kind = 'alert' AND d.created_at >= ? AND d.status != 'failed' ORDER BY d.created_at, d.id",
        [since],
    ).fetchall()
    return [SentAlert(r[0], r[1], r[2], r[3], tuple(json.loads(r[4])), r[5], r[6]) for r in rows]


def items_since(
    db: Database, since: float, *, limit: int = PREVIEW_ITEMS
) -> list[tuple[str, str, str, str | None]]:
    """(id, title, summary, link) of items first seen since `since`, newest first, at most `limit`."""
    rows = db.execute(
        "SELECT id, title, summary, link FROM items WHERE seen_at >= ? ORDER BY seen_at DESC, id LIMIT ?",
        [since, limit],
    ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def match_counts_since(db: Database, since: float) -> dict[str, int]:
    """How many items each rule matched since `since`."""
    rows = db.execute(
        "SELECT rule, COUNT(*) FROM matches WHERE matched_at >= ? GROUP BY rule", [since]
    ).fetchall()
    return {rule: count for rule, count in rows}
