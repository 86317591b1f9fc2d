"""The platform-neutral slash-command core: one `/news` command with subcommands for every platform.

Slack, Discord and the console build a CommandRequest, call `CommandCore.handle`, and render the
Reply; they decide nothing. This module checks length and permissions, parses the text
(bot.commands.arguments), dispatches to the subcommand modules, and turns every user error into an
error Reply: `handle` never raises for bad input.

    arguments.py    text -> ParsedCommand; safe FTS query (pure)
    help.py         usages, examples, the help reply (pure)
    access.py       who is an admin (pure)
    read.py         latest, search, facts, status
    admin.py        rules, facts add/remove, routes, audit
    stories.py      story show, story split (undo a wrong grouping)
    feeds_admin.py  feeds list/add/remove/pause/resume/reset/export/import
    figures.py      key figures (amounts, people and roles, dates) from story text (pure)
    opml.py         feed lists to and from OPML (pure)
    feed_check.py   the default "fetch once and parse" feed validator

May import bot.core, bot.config, bot.store, bot.net (the address guard), bot.errors and bot.logs;
never polling, delivery or operations: adapters call in through `CommandCore.handle`, and the feed
check behind `feeds add` (bot.poll.feed_check) is passed in by the composition root.
"""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from sqlite_utils import Database

from bot.commands import admin, feeds_admin, read, stories
from bot.commands.access import is_admin
from bot.commands.arguments import ParsedCommand, parse_command
from bot.commands.context import Context, FeedValidator
from bot.commands.help import SUBCOMMANDS, help_reply, usage_of
from bot.config import BotConfig
from bot.core.model import CommandRequest, Reply
from bot.core.routing import Reachable
from bot.errors import BotError, CommandError
from bot.store import transaction
from bot.store.audit import record_audit
from bot.store.overrides import apply_overrides

log = logging.getLogger(__name__)

MAX_TEXT = 2000  # characters after the command name
MAX_IMPORT_TEXT = 100_000  # `feeds import` carries a whole OPML document
FACT_EDITS = ("add", "remove")
Handler = Callable[[Context, ParsedCommand], Reply | Awaitable[Reply]]


class CommandCore:
    """Answers `/news ...` requests from any platform. Build one per process; it holds no state."""

    def __init__(
        self,
        *,
        db: Database,
        config_provider: Callable[[], BotConfig],
        validate_feed: FeedValidator,
        clock: Callable[[], float] = time.time,
        reachable: Reachable | None = None,
    ) -> None:
        """`reachable` limits the channels a command queues alerts for (`story split`) to those an
        adapter can post to, like the poll cycle; None means every routed channel."""
        self._db = db
        self._config_provider = config_provider  # the FILE config; chat edits are applied here
        self._validate_feed = validate_feed  # the composition root's: through the bot's HTTP client
        self._clock = clock
        self._reachable: Reachable = reachable or _every_channel

    async def handle(self, request: CommandRequest) -> Reply:
        """The reply to one request. User errors become error replies; nothing is raised for them."""
        try:
            return await self._handle(request)
        except CommandError as error:
            return Reply(title="That did not work", lines=tuple(str(error).splitlines()), is_error=True)
        except BotError as error:
            log.warning("command %r failed: %s", request.text[:200], error)
            return Reply(title="That did not work", lines=(str(error),), is_error=True)
        except Exception:
            log.exception("command %r crashed", request.text[:200])
            return Reply(
                title="Something went wrong", lines=("The error was logged for the operator.",), is_error=True
            )

    def names(self, kind: Literal["rules", "feeds"]) -> list[str]:
        """Rule names or feed URLs in effect now, for autocomplete."""
        config = apply_overrides(self._config_provider(), self._db)
        if kind == "rules":
            return [rule.name for rule in config.rules]
        return [feed.url for feed in config.feeds]

    async def _handle(self, request: CommandRequest) -> Reply:
        file_config = self._config_provider()
        config = apply_overrides(file_config, self._db)
        command = config.settings.command_name
        text = request.text.strip()
        limit = MAX_IMPORT_TEXT if text[:12].lower().split() == ["feeds", "import"] else MAX_TEXT
        if len(text) > limit:
            raise CommandError(f"That is {len(text):,} characters; the limit is {limit:,}.")
        parsed = parse_command(text)
        admin_ok = is_admin(request, config.settings)
        ctx = Context(
            self._db,
            request,
            file_config,
            config,
            self._clock(),
            self._validate_feed,
            admin_ok,
            self._reachable,
        )
        if parsed.name in ("", "help"):
            if len(parsed.args) + bool(parsed.action) > 2:
                raise CommandError(f"Usage: /{command} help [subcommand]")
            topic = " ".join(w for w in (parsed.action, *parsed.args) if w).lower()
            if topic and topic.split()[0] not in SUBCOMMANDS:
                raise CommandError(f"There is no subcommand {topic!r}. Try /{command} help.")
            return help_reply(command, topic, show_admin=admin_ok)
        handler = self._handler(parsed)
        if handler is None:
            return self._unknown(parsed.name, command)
        if _needs_admin(parsed) and not admin_ok:
            return self._deny(ctx, parsed)
        result = handler(ctx, parsed)
        reply = await result if not isinstance(result, Reply) else result
        return reply

    @staticmethod
    def _handler(parsed: ParsedCommand) -> Handler | None:
        handlers: dict[str, Handler] = {
            "latest": read.latest,
            "search": read.search,
            "status": read.status,
            "rules": admin.rules,
            "feeds": feeds_admin.feeds,
            "routes": admin.routes,
            "audit": admin.audit,
            "story": stories.story,
        }
        if parsed.name == "facts":
            return admin.facts_edit if parsed.action in FACT_EDITS else read.facts
        return handlers.get(parsed.name)

    @staticmethod
    def _unknown(name: str, command: str) -> Reply:
        close = difflib.get_close_matches(name, SUBCOMMANDS, n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        shown = name if len(name) <= 40 else name[:40] + "…"
        return Reply(
            title=f"Unknown subcommand {shown!r}.{hint}",
            lines=(f"Subcommands: {', '.join(SUBCOMMANDS)}.", f"See /{command} help."),
            is_error=True,
        )

    def _deny(self, ctx: Context, parsed: ParsedCommand) -> Reply:
        what = " ".join(w for w in (parsed.name, parsed.action) if w)
        request = ctx.request
        log.warning("denied %s %s to %s user %s", ctx.command, what, request.platform, request.user_id)
        with transaction(self._db):
            record_audit(
                self._db,
                platform=request.platform,
                actor=ctx.actor,
                action="denied",
                target=request.text.strip()[:200],
                before=None,
                after=None,
                at=ctx.now,
            )
        return Reply(
            title=f"Only admins can use {what}.",
            lines=("Ask an admin, or see who they are in config/settings.yaml (admins:).",),
            is_error=True,
        )


def _every_channel(platform: str, channel: str) -> bool:
    return True


def _needs_admin(parsed: ParsedCommand) -> bool:
    if parsed.name == "facts":
        return parsed.action in FACT_EDITS
    if parsed.name == "story":
        return parsed.action == "split"
    return parsed.name in ("rules", "feeds", "routes", "audit")


__all__ = ["CommandCore", "usage_of"]
