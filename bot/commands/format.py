"""Small text helpers shared by the subcommands: times, one-line summaries, story entries (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.model import ReplyEntry
from bot.core.render.text import truncate
from bot.store.lookups import StoryRow

SUMMARY_CHARS = 200


def format_time(epoch: float | None, timezone: str = "UTC") -> str:
    """ "2025-11-25 14:02 UTC" in the configured zone; "never" for None."""
    if epoch is None:
        return "never"
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    moment = datetime.fromtimestamp(epoch, UTC).astimezone(zone)
    return moment.strftime("%Y-%m-%d %H:%M ") + (moment.tzname() or timezone)


def format_age(seconds: float) -> str:
    """A rough age: "just now", "5m ago", "3h ago", "2d ago"."""
    if seconds < 60:
        return "just now"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def one_line(text: str, limit: int = SUMMARY_CHARS) -> str:
    """`text` on a single line, cut at a readable place to `limit` characters."""
    return truncate(" ".join(text.split()), limit)


def story_entry(story: StoryRow, timezone: str, *, show_rules: bool = True) -> ReplyEntry:
    parts = [story.source.strip() or "unknown source", format_time(story.story_at, timezone)]
    if show_rules and story.rules:
        parts.append("rules: " + ", ".join(story.rules))
    return ReplyEntry(
        title=one_line(story.title, 250) or "(untitled)",
        url=story.link,
        meta=" · ".join(parts),
        text=one_line(story.summary),
    )


def feed_health(enabled: bool, row: dict[str, Any] | None, now: float) -> tuple[str, str]:
    """(state, detail) of one feed: paused, not polled yet, failing or healthy."""
    if not enabled:
        return "paused", "paused by an admin"
    if row is None or row.get("last_fetch_at") is None:
        return "not polled yet", "waiting for the next poll"
    if row.get("disabled_reason"):
        return "failing", f"stopped: {row['disabled_reason']}"
    if row.get("error_count"):
        error = one_line(str(row.get("last_error") or row.get("last_error_kind") or "error"), 120)
        return "failing", f"{error} ({row['error_count']} failed polls in a row)"
    success = row.get("last_success_at")
    detail = "last success " + (format_age(now - success) if success else "never")
    warning = feed_warning(row)
    return "healthy", f"{detail}; {warning}" if warning else detail


def feed_warning(row: dict[str, Any] | None) -> str | None:
    """What a healthy feed's last parse warned about (entries cut at the limit, malformed XML)."""
    if row is None or row.get("last_error_kind") != "warning" or not row.get("last_error"):
        return None
    return one_line(str(row["last_error"]), 120)
