"""Helpers shared by the command tests (tests/commands/, and the Slack and Discord core tests) (no tests here).

A real SQLite file (bot.store.open_database) seeded through the store's own insert functions,
a config written as YAML and loaded by bot.config.load_config, and a CommandCore over both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bot.commands import CommandCore
from bot.config import BotConfig, load_config
from bot.core.model import CommandRequest, Item, Reply, RuleMatch
from bot.poll.feed_check import make_feed_validator
from bot.poll.fetch import FeedHttpClient
from bot.store import open_database, transaction
from bot.store.items import insert_new_items, record_matches

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC).timestamp()


def console(text: str) -> CommandRequest:
    return CommandRequest(platform="console", user_id="operator", text=text)


def slack(text: str, user: str = "UADMIN") -> CommandRequest:
    return CommandRequest(platform="slack", user_id=user, user_name="alice", text=text, channel_id="C1")


def add_story(
    db: Database,
    title: str,
    *,
    summary: str = "",
    source: str = "Example News",
    age: float = 3600.0,
    rules: tuple[str, ...] = (),
    link: str | None = None,
    published: bool = True,
) -> str:
    """Store one item `age` seconds old (and its matches) the way the pipeline does; return its id."""
    seen = NOW - age
    number = db.execute("SELECT count(*) FROM items").fetchone()[0]
    item_id = f"item-{number}"
    item = Item(
        id=item_id,
        feed_url="http://127.0.0.1/feed.xml",
        title=title,
        link=link or f"https://news.example/{number}",
        canonical_link=f"https://news.example/{number}",
        summary=summary,
        published=datetime.fromtimestamp(seen, UTC) if published else None,
        source=source,
        story_key=f"story-{number}",
    )
    with transaction(db):
        insert_new_items(db, [item], now=seen, backlog=False)
        record_matches(db, item_id, [RuleMatch(rule, (rule,)) for rule in rules], now=seen)
    return item_id


class Harness:
    """A CommandCore over a config directory and a database file, reopened like a restart."""

    def __init__(
        self,
        config_dir: Path,
        db_path: Path,
        validate_feed: Callable[[str], Awaitable[str | None]] | None = None,
    ) -> None:
        self.config_dir = config_dir
        self.db_path = db_path
        self.validate_feed = validate_feed
        self.db = open_database(db_path)
        self.core = self._core()

    def _core(self) -> CommandCore:
        return CommandCore(
            db=self.db,
            config_provider=self.file_config,
            validate_feed=self.validate_feed or self._check_feed,
            clock=lambda: NOW,
        )

    async def _check_feed(self, url: str) -> str | None:
        """The bot's own feed check, over a client of the harness's for each check (the bot passes
        its long-lived one)."""
        settings = self.file_config().settings
        async with FeedHttpClient(settings.fetch) as http:
            return await make_feed_validator(self.file_config, http)(url)

    def file_config(self) -> BotConfig:
        return load_config(self.config_dir)

    def restart(self) -> None:
        self.db.conn.close()
        self.db = open_database(self.db_path)
        self.core = self._core()

    async def run(self, text: str, request: Callable[[str], CommandRequest] = console) -> Reply:
        return await self.core.handle(request(text))


def snapshot(
    db: Database, *, tables: tuple[str, ...] = ("config_edits", "audit", "feeds", "items", "matches")
) -> Any:
    """Every row of the tables a command could change, for "nothing changed" assertions."""
    return {table: db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall() for table in tables}


def reply_text(reply: Reply) -> str:
    """All text of a reply, for assertions that do not care about layout."""
    parts = [reply.title, *reply.lines, reply.footer]
    for entry in reply.entries:
        parts += [entry.title, entry.url or "", entry.meta, entry.text]
    for field in reply.fields:
        parts += [field.name, field.value]
    return "\n".join(parts)
