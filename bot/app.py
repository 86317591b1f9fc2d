"""The composition root: reads the environment, builds every concrete piece, and wires them.

`open_bot` builds every long-lived object of a process from the Environment and the config: the
database, the feed HTTP client, the parser pool, the pipeline, the platform senders, the command
core, the slash-command listeners and the scheduler. The service, `poll --once` and the operator's
`cmd` use it; the CLI's offline commands (status, match, rules explain, group) use `open_store` /
`scratch_store`. Nothing else in the bot reads os.environ, opens the database or constructs a
client or adapter; everything else receives them.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlite_utils import Database

from bot.commands import CommandCore
from bot.commands.interactive import InteractiveCore
from bot.config import BotConfig, Settings, load_config
from bot.core.platform import AlertSender
from bot.core.routing import Reachable
from bot.core.rules import RuleSet, RuleSpec
from bot.deliver.adapters.console import ConsoleAlertSender
from bot.errors import ConfigError
from bot.net.inbound import Mount, run_public_server
from bot.poll.feed_check import make_feed_validator
from bot.poll.fetch import FeedHttpClient
from bot.poll.parse_pool import ParsePool
from bot.poll.pipeline import Pipeline
from bot.poll.websub import WebSubscriber
from bot.store import open_database
from bot.store.db import database_problem
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
    discord_public_key: str | None = None  # answer /news at the HTTP interactions endpoint, not the gateway
    port: int = 3000
    log_level: str | None = None  # LOG_LEVEL; None: INFO

    def secrets(self) -> tuple[str, ...]:
        """Every secret this environment holds: the log filter masks each wherever it appears."""
        values = (
            self.slack_bot_token,
            self.slack_app_token,
            self.slack_signing_secret,
            self.discord_bot_token,
        )
        return tuple(value for value in values if value)

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
            discord_public_key=env.get("DISCORD_PUBLIC_KEY") or None,
            port=int(env.get("PORT") or 3000),
            log_level=env.get("LOG_LEVEL") or None,
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
        key = (tuple((r.name, r.query, r.enabled) for r in config.rules), tuple(config.rule_lists.items()))
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
                ],
                config.rule_lists,
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


Listener = Callable[[], Awaitable[None]]  # a slash-command listener to run beside the scheduler


@dataclass
class Bot:
    env: Environment
    db: Database
    config: ConfigSource
    http: FeedHttpClient  # the only client feeds are fetched with: the address guard is in it
    parser: ParsePool
    senders: dict[str, AlertSender] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    # One pipeline per bot: it knows which feeds are in flight, so overlapping cycles share it.
    pipeline: Pipeline = field(init=False)
    commands: CommandCore = field(init=False)  # set by build_bot
    listeners: list[Listener] = field(default_factory=list)
    scheduler: AsyncIOScheduler | None = None  # the service's; jobs are added when it runs
    websub: WebSubscriber | None = None  # WebSub push, when settings.websub.public_url is set

    def __post_init__(self) -> None:
        self.pipeline = Pipeline(
            db=self.db,
            http=self.http,
            parser=self.parser,
            load_config=self.config.effective,
            reachable=self.can_deliver,
            clock=lambda: self.clock(),  # read at each call: tests and the bench set their own clock
        )

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


class Connect(Enum):
    """What a use of the bot connects to beyond its own database."""

    NOTHING = "nothing"  # an operator command: alerts it queues are sent by the running service
    SENDERS = "senders"  # `poll --once`: post alerts, answer no commands
    SERVICE = "service"  # senders, slash-command listeners and the scheduler


async def open_bot(
    env: Environment,
    connect: Connect,
    *,
    slack_http: bool = False,
    db_path: Path | None = None,
    console: ConsoleAlertSender | None = None,
) -> Bot:
    """Every long-lived object of one process, built from `env` and the config."""
    bot = build_bot(env, db_path=db_path, console=console)
    try:
        if connect is Connect.NOTHING:
            # No platform is connected here: a command may queue alerts for the channels this
            # environment holds credentials for, and the running service sends them.
            bot.commands = build_command_core(bot, env.can_reach)
            return bot
        bot.listeners = await connect_platforms(bot, listen=connect is Connect.SERVICE, slack_http=slack_http)
        if connect is Connect.SERVICE:
            bot.scheduler = new_scheduler(bot.config.file_config().settings)
    except BaseException:
        await bot.close()
        raise
    return bot


def new_scheduler(settings: Settings) -> AsyncIOScheduler:
    """The service's scheduler: a late job runs once (coalesced) if it is at most a tick late."""
    return AsyncIOScheduler(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(settings.tick)}
    )


def build_bot(
    env: Environment, *, console: ConsoleAlertSender | None = None, db_path: Path | None = None
) -> Bot:
    """The pieces that need no network (nothing connects yet): database, config, HTTP client,
    parser pool, pipeline, command core and the console sender. `open_bot` connects the platforms
    and builds the scheduler; tests use this alone."""
    db = open_database(db_path or env.db_path)
    source = ConfigSource(env.config_dir, db)
    config = source.file_config()  # fail fast on a broken config at start
    http = FeedHttpClient(config.settings.fetch)
    bot = Bot(env=env, db=db, config=source, http=http, parser=ParsePool())
    bot.senders["console"] = console or ConsoleAlertSender()
    bot.commands = build_command_core(bot, bot.can_deliver)
    public_url = config.settings.websub.public_url
    if public_url:  # read at start: hubs are given callbacks under it
        bot.websub = WebSubscriber(
            db=db, http=http, pipeline=bot.pipeline, load_config=source.effective,
            clock=lambda: bot.clock(), public_url=public_url,
        )  # fmt: skip
    return bot


def build_command_core(bot: Bot, reachable: Reachable) -> CommandCore:
    """The command core over `bot`; `reachable` says which channels a command may queue alerts for.
    Its feed checks go through the bot's own HTTP client and address guard."""
    return CommandCore(
        db=bot.db,
        config_provider=bot.config.file_config,
        validate_feed=make_feed_validator(bot.config.file_config, bot.http),
        reachable=reachable,
    )


def build_interactions(bot: Bot) -> InteractiveCore:
    """The App Home / modal / alert-button core over `bot`, saving through its command core."""
    return InteractiveCore(
        db=bot.db, commands=bot.commands, config_provider=bot.config.effective, clock=lambda: bot.clock()
    )


# The public server's body cap: Slack's and Discord's requests (WebSub pushes are read with their own).
PUBLIC_MAX_BODY = 256 * 1024


async def connect_platforms(bot: Bot, *, listen: bool, slack_http: bool = False) -> list[Listener]:
    """Add a sender for each platform whose credentials are set; return listeners to run (slash
    commands, and the one public web server on $PORT when something is to be reached there: Slack
    HTTP mode, the Discord interactions endpoint, the WebSub callback)."""
    env = bot.env
    config = bot.config.effective()
    settings = config.settings
    listeners: list[Listener] = []
    public: list[Mount] = []  # routes of the public web server
    core = bot.commands if listen else None

    if env.slack_bot_token:
        from bot.deliver.adapters.slack import (
            SlackAlertSender,
            build_slack_app,
            make_slack_client,
            run_slack_socket_mode,
            slack_routes,
        )

        client = make_slack_client(env.slack_bot_token, env.slack_api_url)  # one client: alerts and commands
        # Alert buttons need someone to answer their clicks: the app (Socket Mode or HTTP mode).
        interactive = bool(env.slack_app_token or env.slack_signing_secret)
        bot.senders["slack"] = SlackAlertSender(client, buttons=interactive)
        if core is not None and interactive:
            app = build_slack_app(
                client,
                signing_secret=env.slack_signing_secret,
                handle_command=core.handle,
                command_name="/" + settings.command_name,
                interactions=build_interactions(bot),
            )
            if env.slack_app_token and not slack_http:
                token = env.slack_app_token
                listeners.append(lambda: run_slack_socket_mode(app, token))
            else:
                public.append(slack_routes(app, env.slack_signing_secret))

    has_webhook_route = any(
        route.platform == "discord" and route.channel.startswith("http") for route in config.routes
    )
    if env.discord_bot_token or has_webhook_route:
        from bot.deliver.adapters.discord import (
            DiscordAlertSender,
            set_discord_api_url,
            set_discord_gateway_url,
        )

        set_discord_api_url(env.discord_api_url)
        set_discord_gateway_url(env.discord_gateway_url)
        colors = {rule.name: int(rule.color.lstrip("#"), 16) for rule in config.rules if rule.color}
        # Alert buttons: on the bot's own posts, answered over the gateway or the HTTP endpoint.
        sender = DiscordAlertSender(
            token=env.discord_bot_token, rule_colors=colors, buttons=bool(env.discord_bot_token)
        )
        await sender.start()
        bot.senders["discord"] = sender
    if core is not None and (env.discord_public_key or env.discord_bot_token):
        public.extend(discord_commands(env, settings, core, listeners, build_interactions(bot)))
    websub = bot.websub
    if websub is not None:
        public.append(websub.add_routes)
    if listen and public:
        port = env.port
        db = bot.db
        listeners.append(
            lambda: run_public_server(
                public, "0.0.0.0", port, max_body=PUBLIC_MAX_BODY, problem=lambda: database_problem(db)
            )
        )
    return listeners


def discord_commands(
    env: Environment,
    settings: Settings,
    core: CommandCore,
    listeners: list[Listener],
    interactions: InteractiveCore,
) -> list[Mount]:
    """/news, the alert buttons and the rule editor on Discord: with DISCORD_PUBLIC_KEY, at the HTTP
    interactions endpoint (returned, to be mounted on the public server; the bot token, if set, only
    registers the commands at start, over REST); otherwise over the bot's gateway connection (a
    listener)."""
    from bot.deliver.adapters.discord_commands import run_discord_gateway, sync_discord_commands
    from bot.deliver.adapters.discord_ui import DiscordUI

    ui = DiscordUI(interactions)

    token = env.discord_bot_token
    guilds = [int(guild) for guild in settings.discord_guilds]
    roles = [int(role) for role in settings.admins.discord_roles]
    manage_server = settings.admins.discord_manage_server
    if env.discord_public_key:
        from bot.deliver.adapters.discord_interactions import DiscordInteractions, load_public_key

        try:
            key = load_public_key(env.discord_public_key)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        if token:
            listeners.append(
                lambda: sync_discord_commands(
                    token, core.handle, guild_ids=guilds, group_name=settings.command_name
                )
            )
        endpoint = DiscordInteractions(
            key,
            core.handle,
            group_name=settings.command_name,
            admin_role_ids=roles,
            manage_server_is_admin=manage_server,
            name_lookup=core.names,
            api_url=env.discord_api_url,
            ui=ui,
        )
        return [endpoint.add_routes]
    assert token is not None
    listeners.append(
        lambda: run_discord_gateway(
            token,
            core.handle,
            guild_ids=guilds,
            group_name=settings.command_name,
            admin_role_ids=roles,
            manage_server_is_admin=manage_server,
            name_lookup=core.names,
            ui=ui,
        )
    )
    return []


def open_store(env: Environment) -> tuple[Database, ConfigSource]:
    """The database and the effective config, for the CLI's offline commands (no clients, no workers)."""
    db = open_database(env.db_path)
    return db, ConfigSource(env.config_dir, db)


@contextmanager
def scratch_store() -> Iterator[Database]:
    """A fresh database in a temporary directory, deleted afterwards (`group` runs on one)."""
    with tempfile.TemporaryDirectory(prefix="bot-scratch-") as scratch:
        db = open_database(Path(scratch) / "scratch.db")
        try:
            yield db
        finally:
            db.conn.close()
