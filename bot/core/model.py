"""Plain data types passed between the pipeline's stages and the platform adapters.

No I/O here and no behaviour beyond small derived properties: each stage takes these in and
gives these out, so every stage can be tested with literal values.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Item:
    """One feed entry, normalised. `id` is stable across fetches and restarts."""

    id: str
    feed_url: str
    title: str
    link: str | None = None
    canonical_link: str | None = None
    guid: str | None = None
    summary: str = ""
    published: datetime | None = None  # UTC, None when the feed gave no usable date
    source: str = ""  # publisher name (Google News <source>, else the feed's title)
    story_key: str | None = None  # normalised headline; None when too short to be distinctive


@dataclass(frozen=True)
class RuleMatch:
    """One rule that fired on an item, with the terms (as they appear in the text) that made it fire."""

    rule: str
    terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportedCopy:
    """Another outlet's report of a story already alerted on ("also reported by Reuters")."""

    source: str
    title: str
    link: str | None = None


@dataclass(frozen=True)
class Alert:
    """What a channel is told about one item: platform-neutral, rendered by each adapter."""

    delivery_id: int
    item: Item
    rules: tuple[str, ...]
    terms: tuple[str, ...]
    feed_name: str = ""
    also_reported: tuple[ReportedCopy, ...] = ()  # later copies of the same story, oldest first


@dataclass(frozen=True)
class CommandRequest:
    """A slash command as every platform delivers it: who asked, where, and the raw text."""

    platform: str  # "slack" | "discord" | "console"
    user_id: str
    text: str  # everything after the command name, e.g. "latest 5 prometheus"
    channel_id: str = ""
    user_name: str = ""
    is_admin_hint: bool = False  # platform-level admin signal (Discord Manage Server, a role)


@dataclass(frozen=True)
class ReplyEntry:
    """One listed thing in a reply: a story, a fact, a feed, a rule, an audit record."""

    title: str
    url: str | None = None
    meta: str = ""  # e.g. "Reuters · 2026-11-25 14:02 UTC"
    text: str = ""  # e.g. a one-line summary


@dataclass(frozen=True)
class ReplyField:
    name: str
    value: str


@dataclass(frozen=True)
class Reply:
    """A command's answer as data; adapters render it (Block Kit, embed, plain text).

    All text is plain and unescaped: each platform's renderer escapes it for that platform.
    """

    title: str
    lines: tuple[str, ...] = ()
    entries: tuple[ReplyEntry, ...] = ()
    fields: tuple[ReplyField, ...] = ()
    footer: str = ""
    ephemeral: bool = True
    is_error: bool = False


@dataclass
class CycleReport:
    """What one poll cycle did. The pipeline fills it in and stores it (bot.store.cycles); the log
    line, `poll --once`, `status` and /metrics all read this one value, and `summary` is its one
    wording."""

    started_at: float
    finished_at: float | None = None
    feeds_due: int = 0  # the feeds this cycle polled
    skipped: dict[str, int] = field(default_factory=dict)  # why the other enabled feeds were not: count
    fetched: int = 0
    not_modified: int = 0
    unchanged_body: int = 0
    failed: int = 0
    new_items: int = 0
    matched_items: int = 0
    enqueued: int = 0
    offline: bool = False
    errors: dict[str, str] = field(default_factory=dict)  # feed URL -> "kind: message"

    def summary(self) -> str:
        skipped = ", ".join(f"{count} {why}" for why, count in sorted(self.skipped.items()))
        return (
            f"{self.feeds_due} feeds polled" + (f" (skipped: {skipped})" if skipped else "")
            + f", {self.fetched} fetched ({self.not_modified + self.unchanged_body} unchanged),"
            f" {self.failed} failed, {self.new_items} new items, {self.matched_items} matched,"
            f" {self.enqueued} alerts queued" + (" [network unreachable]" if self.offline else "")
        )  # fmt: skip

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CycleReport:
        data = json.loads(text)
        return cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})
