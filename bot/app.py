"""The composition root: reads the environment, builds every concrete piece, and wires them.

Nothing else in the bot constructs clients, databases or adapters; everything else receives them.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from bot.config import BotConfig, load_config
from bot.core.platform import AlertSender
from bot.core.rules import RuleSet, RuleSpec
from bot.deliver.adapters.console import ConsoleAlertSender
from bot.errors import ConfigError
from bot.poll.fetch import FeedHttpClient
from bot.poll.parse_pool import ParsePool
from bot.poll.pipeline import Pipeline
from bot.store import open_database
from bot.store.overrides import apply_overrides

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Environment:
    """What the bot reads from the environment (secrets only ever come from here)."""

    config_dir: Path
    db_path: Path
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str | None = None
    discord_bot_token: str | None = None
    discord_api_url: str | None = None
    discord_gateway_url: str | None = None
    port: int = 3000

    def can_reach(self, platform: str, channel: str) -> bool:
        """Whether this environment holds what posting to (platform, channel) takes: nothing for the
        console, the bot token for Slack and for Discord channel ids; a Discord webhook URL carries
        its own secret."""
        if platform == "slack":
            return bool(self.slack_bot_token)
        if platform == "discord":
            return channel.startswith("https://") or bool(self.discord_bot_token)
        return platform == "console"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Environment:
        env = os.environ if env is None else env
        return cls(
            config_dir=Path(env.get("BOT_CONFIG") or "config"),
            db_path=Path(env.get("BOT_DB") or "data/bot.db"),
            slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
            slack_app_token=env.get("SLACK_APP_TOKEN") or None,
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            slack_api_url=env.get("SLACK_API_URL") or None,
            discord_bot_token=env.get("DISCORD_BOT_TOKEN") or None,
            discord_api_url=env.get("DISCORD_API_URL") or None,
            discord_gateway_url=env.get("DISCORD_GATEWAY_URL") or None,
            port=int(env.get("PORT") or 3000),
        )


class ConfigSource:
    """The effective config: the YAML files plus chat edits, current on every use.

    The files are parsed again only when one of them changed (every command, cycle and metrics
    scrape asks). A file edit that breaks the config does not stop the bot: the last valid config
    stays in force and the problem is logged once (and shown by `python -m bot check`).
    """

    def __init__(self, directory: Path, db: Database) -> None:
        self._directory = directory
        self._db = db
        self._last_good: BotConfig | None = None
        self._files_seen: tuple[tuple[str, int, int], ...] | None = None
        self._rules_key: tuple[object, ...] | None = None
        self._ruleset: RuleSet | None = None

    def file_config(self) -> BotConfig:
        files = _file_stamps(self._directory)
        if self._last_good is not None and files == self._files_seen:
            return self._last_good
        try:
            self._last_good = load_config(self._directory)
        except ConfigError as error:
            if self._last_good is None:
                raise
            log.error("config is invalid, keeping the last valid one:\n%s", error)
        except Exception:  # load_config raises only ConfigError; should a bug slip through, keep running
            if self._last_good is None:
                raise
            log.exception("config could not be loaded, keeping the last valid one")
        self._files_seen = files  # logged once per edit, not on every command and cycle
        return self._last_good

    def effective(self) -> BotConfig:
        return apply_overrides(self.file_config(), self._db)

    def ruleset(self, config: BotConfig) -> RuleSet:
        """Rules compiled once per distinct rule set, not once per cycle."""
        key = tuple((r.name, r.query, r.enabled) for r in config.rules)
        if key != self._rules_key or self._ruleset is None:
            self._ruleset = RuleSet.compile(
                [
                    RuleSpec(
                        name=r.name,
                        query=r.query,
                        enabled=r.enabled,
                        description=r.description,
                        color=r.color,
                    )
                    for r in config.rules
                ]
            )
            self._rules_key = key
        return self._ruleset


def _file_stamps(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """(name, modification time, size) of each config file: changes whenever a file is edited."""
    stamps = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            status = path.stat()
        except OSError:
            continue
        stamps.append((path.name, status.st_mtime_ns, status.st_size))
    return tuple(stamps)


@dataclass
class Bot:
    env: Environment
    db: Database
    config: ConfigSource
    http: FeedHttpClient  # the only client feeds are fetched with: the address guard is in it
    parser: ParsePool
    senders: dict[str, AlertSender] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    _pipeline: Pipeline | None = field(default=None, init=False, repr=False)

    @property
    def pipeline(self) -> Pipeline:
        """One pipeline per bot: it knows which feeds are in flight, so overlapping cycles share it."""
        if self._pipeline is None:
            self._pipeline = Pipeline(
                db=self.db,
                http=self.http,
                parser=self.parser,
                load_config=self.config.effective,
                reachable=self.can_deliver,
                clock=lambda: self.clock(),  # read at each call: tests and the bench set their own clock
            )
        return self._pipeline

    def can_deliver(self, platform: str, channel: str) -> bool:
        """Whether a connected adapter can post to this channel (Discord channel ids need the bot token)."""
        if platform not in self.senders:
            return False
        return platform != "discord" or self.env.can_reach(platform, channel)

    async def close(self) -> None:
        for sender in self.senders.values():
            closer = getattr(sender, "close", None)
            if closer is not None:
                await closer()
        await self.http.close()
        self.parser.close()
        self.db.conn.close()


def build_bot(
    env: Environment, *, console: ConsoleAlertSender | None = None, db_path: Path | None = None
) -> Bot:
    """Build the bot's pieces (no network activity yet). Platform senders are added by `connect_platforms`."""
    db = open_database(db_path or env.db_path)
    source = ConfigSource(env.config_dir, db)
    config = source.file_config()  # fail fast on a broken config at start
    http = FeedHttpClient(config.settings.fetch)
    bot = Bot(env=env, db=db, config=source, http=http, parser=ParsePool())
    bot.senders["console"] = console or ConsoleAlertSender()
    return bot
