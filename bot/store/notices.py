"""The `notices` table (one row per notice key: raised, cleared or watching) and the reads that
feed the notice decisions: feeds' health, rules' last matches and chat-edit times, polling start,
channels' refusals.

Reads and writes only; what to raise or clear is decided in bot.core.notices.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

from bot.core.notices import ChannelRefusals, NoticeState
from bot.logs import redact_tokens
from bot.store.db import transaction


def notice_states(db: Database) -> dict[str, NoticeState]:
    rows = db.execute("SELECT key, state, changed_at, message FROM notices").fetchall()
    return {row[0]: NoticeState(key=row[0], state=row[1], changed_at=row[2], message=row[3]) for row in rows}


def set_notice(db: Database, key: str, *, state: str, at: float, message: str = "") -> None:
    """Record `key`'s new state (the message posted for it, if any)."""
    with transaction(db):
        db.execute(
            "INSERT INTO notices (key, state, changed_at, message) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET state = excluded.state, changed_at = excluded.changed_at,"
            " message = excluded.message",
            [key, state, at, message],
        )


def raised_count(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM notices WHERE state = 'raised'").fetchone()[0])


def feed_health_rows(
    db: Database, urls: Iterable[str]
) -> dict[str, tuple[int, float | None, int | None, str | None, str | None]]:
    """url -> (error_count, last_success_at, last_status, last_error, disabled_reason) for polled feeds."""
    wanted = list(urls)
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    rows = db.execute(
        "SELECT url, error_count, last_success_at, last_status, last_error, disabled_reason"
        f" FROM feeds WHERE url IN ({marks})",
        wanted,
    ).fetchall()
    return {row[0]: (int(row[1] or 0), row[2], row[3], row[4], row[5]) for row in rows}


def rule_last_matches(db: Database) -> dict[str, float]:
    """rule name -> when it last matched an item (the matches_rule index answers this)."""
    return {row[0]: row[1] for row in db.execute("SELECT rule, max(matched_at) FROM matches GROUP BY rule")}


def rule_edit_times(db: Database) -> dict[str, float]:
    """rule name -> when it was last added or edited in chat (rules only in the files: absent)."""
    rows = db.execute("SELECT key, at FROM config_edits WHERE kind = 'rules' AND value IS NOT NULL")
    return {row[0]: row[1] for row in rows}


def polling_since(db: Database) -> float | None:
    """When the bot first fetched any feed successfully: how long it has been watching."""
    value = db.execute("SELECT min(first_success_at) FROM feeds").fetchone()[0]
    return None if value is None else float(value)


def channel_refusals(db: Database, *, since: float) -> list[ChannelRefusals]:
    """Channels with an alert refused for good after `since` (a failed row that was sent, so not
    an update whose alert failed), with the latest error and the latest delivery there."""
    rows = db.execute(
        "SELECT f.platform, f.channel, f.refused_at,"
        " (SELECT last_error FROM deliveries WHERE platform = f.platform AND channel = f.channel"
        "  AND status = 'failed' AND claimed_at IS NOT NULL ORDER BY claimed_at DESC, id DESC LIMIT 1),"
        " (SELECT max(sent_at) FROM deliveries WHERE platform = f.platform AND channel = f.channel"
        "  AND status = 'sent')"
        " FROM (SELECT platform, channel, max(claimed_at) AS refused_at FROM deliveries"
        "  WHERE status = 'failed' AND claimed_at >= ? GROUP BY platform, channel) AS f"
        " ORDER BY f.platform, f.channel",
        [since],
    ).fetchall()
    return [
        ChannelRefusals(platform, redact_tokens(channel), refused_at, error or "", sent_at)
        for platform, channel, refused_at, error, sent_at in rows
    ]
