"""Load and validate the YAML configuration in BOT_CONFIG (default config/).

Every problem is collected and reported at once as (file, key, reason), so `python -m bot check`
can show an admin everything that is wrong in one go. This module reads files; it never writes them
and never reads the environment beyond what `load_config`'s caller passes in.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo

import yarl
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from bot.config.yaml_file import read_config_file
from bot.core.durations import parse_duration
from bot.errors import ConfigError, RuleError

M = TypeVar("M", bound=BaseModel)
Seconds = Annotated[float, BeforeValidator(parse_duration)]


def _at_least_one_second(seconds: float) -> float:
    if seconds < 1:  # the scheduler refuses a sub-second tick at start; no feed needs polling faster
        raise ValueError("must be at least 1s")
    return seconds


Interval = Annotated[float, BeforeValidator(parse_duration), AfterValidator(_at_least_one_second)]
_RULE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_HEX_COLOR = re.compile(r"^#?[0-9a-fA-F]{6}$")
_COMMAND_NAME = re.compile(r"[a-z0-9_-]{1,32}")  # what both Slack and Discord accept
_HOST_NAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_HEADER_TEXT = re.compile(r"[\x20-\x7e]{1,200}")  # printable ASCII: sent as an HTTP header
_SNOWFLAKE = re.compile(r"[0-9]{17,20}")
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{1,20}")
_SLACK_CHANNEL = re.compile(r"[CGD][A-Z0-9]{1,20}")
# The adapter's own pattern (bot.deliver.adapters.discord._WEBHOOK_URL); repeated here so `check` need not
# import discord.py. A test keeps the two equal.
DISCORD_WEBHOOK_URL = re.compile(
    r"^https://(?:[a-z]+\.)?discord(?:app)?\.com/api(?:/v\d+)?/webhooks/(\d{15,21})/([\w-]{20,})/?$"
)

# Entries each list file may hold. Longer lists are refused before any entry is validated.
MAX_ENTRIES = {"feeds": 5_000, "rules": 500, "routes": 1_000, "facts": 1_000, "lists": 500}
MAX_PROBLEMS = 50  # listed by `check` and the log; the rest are counted
_KEY_PART_CHARS = 40  # a hostile mapping key is shown cut to this
_REASON_CHARS = 400


def _id_text(value: object) -> object:
    """YAML reads an unquoted id as an int; ids are kept and compared as text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _matching(pattern: re.Pattern[str], reason: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(reason)
        return value

    return AfterValidator(check)


_NOT_DISCORD_ID = "not a Discord id (17 to 20 digits)"


def _discord_id_text(value: object) -> object:
    value = _id_text(value)
    if not isinstance(value, str):
        raise ValueError(_NOT_DISCORD_ID)
    return value


DiscordId = Annotated[str, BeforeValidator(_discord_id_text), _matching(_SNOWFLAKE, _NOT_DISCORD_ID)]
SlackUserId = Annotated[
    str, _matching(_SLACK_USER, "not a Slack user id (U or W, then capital letters and digits: U0123456789)")
]
Platform = Literal["slack", "discord", "console"]
Channel = Annotated[str, BeforeValidator(_id_text), Field(min_length=1, max_length=300)]


def _channel_problem(platform: str, channel: str) -> str | None:
    """Why `channel` cannot be a channel on `platform`, or None. Console channels are any label."""
    if platform == "slack" and not _SLACK_CHANNEL.fullmatch(channel):
        return "not a Slack channel id (C, G or D, then capital letters and digits: C0123456789)"
    if platform == "discord" and not (
        _SNOWFLAKE.fullmatch(channel) or DISCORD_WEBHOOK_URL.fullmatch(channel)
    ):
        return "not a Discord channel id (17 to 20 digits) nor a webhook URL (https://discord.com/api/webhooks/...)"
    return None


def _channel_for_platform(channel: str, info: ValidationInfo) -> str:
    platform = info.data.get("platform")  # absent when the platform itself is invalid
    problem = _channel_problem(platform, channel) if platform else None
    if problem:
        raise ValueError(problem)
    return channel


def _date_text(value: object) -> object:
    """`added: 2025-11-17` is read by YAML as a date; keep it as the text written."""
    if value is None:
        return ""
    if isinstance(value, date | int) and not isinstance(value, bool):
        return str(value)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedConfig(_Strict):
    url: str = Field(max_length=2000)
    name: str | None = Field(default=None, max_length=1000)
    interval: Interval | None = None
    enabled: bool = True
    allow_private: bool = (
        False  # may reach loopback/private addresses (never metadata); see bot.net.url_safety
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not re.match(r"^https?://[^\s/]+", url):
            raise ValueError("must be an http:// or https:// URL")
        if any(c.isspace() or not c.isprintable() for c in url):
            raise ValueError("must not contain spaces or control characters")
        try:  # what aiohttp will make of it: an invalid host or port would fail every fetch
            parsed = yarl.URL(url)
            host, _ = parsed.raw_host, parsed.port
        except ValueError as error:
            raise ValueError(f"is not a valid URL ({error})") from None
        if not host:
            raise ValueError("must name a host")
        return url


class RuleConfig(_Strict):
    name: str
    query: str
    description: str = Field(default="", max_length=2000)
    color: str | None = None
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _slug(cls, name: str) -> str:
        if not _RULE_NAME.match(name):
            raise ValueError("use lower-case letters, digits, - and _ (at most 64)")
        return name

    @field_validator("query")
    @classmethod
    def _parses(cls, query: str, info: ValidationInfo) -> str:
        # Checked here, not only when rules are compiled, so a chat edit stored by an older version
        # whose query no longer parses is dropped like any invalid entry instead of failing a cycle.
        # The named lists it may use (`@bezos`) come in the validation context: rule_context().
        from bot.core.rules import compile_query  # the rule language lives in its own package

        try:
            compile_query(query, (info.context or {}).get("lists"))
        except RuleError as error:
            raise ValueError(str(error)) from None  # pydantic reports ValueErrors, not other errors
        return query

    @field_validator("color")
    @classmethod
    def _hex(cls, color: str | None) -> str | None:
        if color is not None and not _HEX_COLOR.match(color):
            raise ValueError('use a hex colour like "#E67E22"')
        return color


class RouteConfig(_Strict):
    platform: Platform
    channel: Channel
    rules: list[str] = Field(default_factory=lambda: ["all"], min_length=1, max_length=MAX_ENTRIES["rules"])

    @field_validator("channel")
    @classmethod
    def _fits_platform(cls, channel: str, info: ValidationInfo) -> str:
        return _channel_for_platform(channel, info)


class FactConfig(_Strict):
    text: str = Field(min_length=1, max_length=2000)
    source: str = Field(default="", max_length=2000)  # chat input is capped at 2,000 characters too
    added: Annotated[str, BeforeValidator(_date_text), Field(max_length=40)] = ""  # a date


class Admins(_Strict):
    slack: list[SlackUserId] = Field(default_factory=list, max_length=1000)
    discord: list[DiscordId] = Field(default_factory=list, max_length=1000)
    discord_roles: list[DiscordId] = Field(default_factory=list, max_length=1000)
    discord_manage_server: bool = True  # Manage Server permission counts as admin


class BacklogPolicy(_Strict):
    """What a newly added feed posts from the items it already carries."""

    mode: Literal["none", "newest"] = "none"
    count: int = Field(default=3, ge=0, le=50)
    hours: Seconds = 24 * 3600


class FetchSettings(_Strict):
    connect_timeout: Seconds = 10
    read_timeout: Seconds = 30
    total_timeout: Seconds = 30  # the whole fetch of one feed: bounds a server that drips bytes
    max_bytes: int = Field(default=5_000_000, ge=10_000, le=100_000_000)
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrency: int = Field(default=16, ge=1, le=256)
    user_agent: Annotated[
        str, _matching(_HEADER_TEXT, "use 1 to 200 printable ASCII characters (it is sent as an HTTP header)")
    ] = "PrometheusNewsBot/0.1 (+https://github.com/; RSS alert bot)"
    max_backoff: Seconds = 6 * 3600
    max_cache_age: Seconds = 3600  # honour Cache-Control max-age up to this long
    allow_private: bool = False  # every feed may reach loopback/private addresses (never metadata)


class ScheduleSettings(_Strict):
    """How often each feed is polled: its interval, or (adaptive) more often for busy feeds and less
    for quiet ones, at about the same requests per hour (bot.core.feed_policy.adaptive_intervals)."""

    adaptive: bool = True
    min_interval: Interval = 60  # never more often than this (unless a feed's own interval is shorter)
    max_interval: Interval = 10 * 60  # never less often than this (nor 4x the feed's interval)
    host_gap: Interval = 10  # one host is asked no more often than today, or once per host_gap if more
    window: Interval = 7 * 24 * 3600  # how far back a feed's publishing rate is counted


class HealthSettings(_Strict):
    """The operator HTTP endpoint (/healthz, /metrics). Loopback by default: metrics are not public."""

    port: int | None = Field(default=8080, ge=0, le=65535)  # None or 0: no health server
    host: str = "127.0.0.1"  # 0.0.0.0 in a container whose probes come from outside
    stall_after: Seconds = 15 * 60  # /healthz fails when polling or dispatch is older than this

    @field_validator("host")
    @classmethod
    def _address_or_name(cls, host: str) -> str:
        if not _is_ip_address(host) and not _HOST_NAME.fullmatch(host):
            raise ValueError("not an IP address or host name (e.g. 127.0.0.1 or 0.0.0.0)")
        return host


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class AdminChannel(_Strict):
    """Where operator notices (dead feeds, silent rules) are posted."""

    platform: Platform
    channel: Channel

    @field_validator("channel")
    @classmethod
    def _fits_platform(cls, channel: str, info: ValidationInfo) -> str:
        return _channel_for_platform(channel, info)


class NoticeSettings(_Strict):
    feed_down_after: Seconds = 24 * 3600  # a feed failing this long is reported
    rule_silent_after: Seconds = 7 * 24 * 3600  # a rule matching nothing this long is reported


class WebSubSettings(_Strict):
    """WebSub push (bot.poll.websub): off unless `public_url` is set. The hub must be able to reach
    `<public_url>/websub/<token>` on the bot's $PORT; see docs/operations.md, "WebSub push"."""

    public_url: str | None = Field(default=None, max_length=500)  # e.g. https://bot.example.com
    lease: Interval = 10 * 24 * 3600  # the lease asked of hubs; renewed at 80% of what a hub grants
    poll_interval: Interval = 3600  # the safety poll while pushes arrive (never faster than the feed's own)
    quiet_after: Interval = 3600  # no push this long and a poll finds new items: the hub went quiet

    @field_validator("public_url")
    @classmethod
    def _base_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        if any(c.isspace() or not c.isprintable() for c in url):
            raise ValueError("must not contain spaces or control characters")
        try:
            parsed = yarl.URL(url)
            host, _ = parsed.raw_host, parsed.port
        except ValueError as error:
            raise ValueError(f"is not a valid URL ({error})") from None
        if parsed.scheme not in ("http", "https") or not host:
            raise ValueError("must be an https:// (or http://) URL with a host, e.g. https://bot.example.com")
        if parsed.user is not None or parsed.password is not None or parsed.query_string or parsed.fragment:
            raise ValueError("must hold no user name, password, query or fragment")
        return url.rstrip("/")


class Settings(_Strict):
    poll_interval: Interval = 300
    tick: Interval = 10  # how often the scheduler looks for due feeds
    dispatch_interval: Interval = 5
    max_age: Seconds = 72 * 3600  # never alert on items older than this
    digest_after: Seconds = 2 * 3600  # alerts delayed longer (an outage) are sent as one digest per channel
    backlog: BacklogPolicy = Field(default_factory=BacklogPolicy)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    admins: Admins = Field(default_factory=Admins)
    command_name: Annotated[
        str,
        _matching(
            _COMMAND_NAME, "use 1 to 32 lower-case letters, digits, - or _ (Slack and Discord allow no more)"
        ),
    ] = "news"
    discord_guilds: list[DiscordId] = Field(default_factory=list, max_length=100)
    allow_private_feed_hosts: bool = False  # former name of fetch.allow_private, still honoured
    timezone: str = Field(default="UTC", max_length=64)
    health: HealthSettings = Field(default_factory=HealthSettings)
    admin_channel: AdminChannel | None = None
    notices: NoticeSettings = Field(default_factory=NoticeSettings)
    websub: WebSubSettings = Field(default_factory=WebSubSettings)
    # Story grouping also compares reports' sentence embeddings (all-MiniLM-L6-v2, installed apart:
    # requirements-embed.txt; docs/grouping.md). Off by default: words only.
    story_embeddings: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, timezone: str) -> str:
        try:
            ZoneInfo(timezone)
        except Exception:  # ZoneInfoNotFoundError, or ValueError/OSError for a name that is no path
            raise ValueError("not a known time zone; use a name like UTC or Europe/Paris") from None
        return timezone


def rule_context(lists: Mapping[str, str]) -> dict[str, Any]:
    """The validation context a `RuleConfig` needs: the named lists its query may use."""
    return {"lists": lists}


@dataclass(frozen=True)
class BotConfig:
    feeds: tuple[FeedConfig, ...] = ()
    rules: tuple[RuleConfig, ...] = ()
    # Named word lists the rules share (rules.yaml's `lists:`; a query says `@name`).
    rule_lists: Mapping[str, str] = field(default_factory=dict)
    routes: tuple[RouteConfig, ...] = ()
    facts: tuple[FactConfig, ...] = ()
    settings: Settings = field(default_factory=Settings)
    directory: Path | None = None


# file name -> (top-level key, item model); settings.yaml is the Settings mapping itself.
_LIST_FILES: dict[str, tuple[str, type[_Strict]]] = {
    "feeds.yaml": ("feeds", FeedConfig),
    "rules.yaml": ("rules", RuleConfig),
    "routes.yaml": ("routes", RouteConfig),
    "facts.yaml": ("facts", FactConfig),
}


CONFIG_FILES = (*_LIST_FILES, "settings.yaml")


def load_config(directory: str | Path) -> BotConfig:
    """Read and validate every config file in `directory`. Missing files mean "use defaults".

    Raises ConfigError listing every problem found (at most MAX_PROBLEMS, then a count), each with
    file, key and reason. Nothing else is raised, whatever the files hold.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError([(str(directory), "", "config directory does not exist")])
    problems = _Problems()
    files = {name: _read(directory / name, problems) for name in CONFIG_FILES}
    return _validated(files, directory, problems)


def validate_config(files: Mapping[str, Any], directory: Path | None = None) -> BotConfig:
    """Validate config already read from YAML: file name -> its data (None: missing or empty).

    `load_config` without the files; raises ConfigError the same way.
    """
    return _validated(files, directory, _Problems())


def _validated(files: Mapping[str, Any], directory: Path | None, problems: _Problems) -> BotConfig:
    lists: dict[str, list[Any]] = {}
    positions: dict[str, list[int]] = {}  # each valid entry's index in its file, for messages
    rules_file = files.get("rules.yaml")
    rule_lists: dict[str, str] = {}
    if isinstance(rules_file, dict) and "lists" in rules_file:
        rule_lists = _rule_lists(rules_file["lists"], problems)
        rules_file = {key: value for key, value in rules_file.items() if key != "lists"}
    for file_name, (key, model) in _LIST_FILES.items():
        raw = rules_file if file_name == "rules.yaml" else files.get(file_name)
        entries = _top_level_list(raw, file_name, key, problems)
        context = rule_context(rule_lists) if model is RuleConfig else None
        lists[key], positions[key] = _valid_entries(model, entries, file_name, key, problems, context)
    settings = _settings(files.get("settings.yaml"), problems)
    config = BotConfig(
        feeds=tuple(lists["feeds"]),
        rules=tuple(lists["rules"]),
        rule_lists=rule_lists,
        routes=tuple(lists["routes"]),
        facts=tuple(lists["facts"]),
        settings=settings,
        directory=directory,
    )
    # A route naming a rule that rules.yaml failed to give is not reported again: one cause, one line.
    rules_complete = "rules.yaml" not in problems.files
    for problem in cross_check(config, positions, check_route_rules=rules_complete):
        problems.add(*problem)
    problems.raise_if_any()
    return config


def cross_check(
    config: BotConfig, positions: dict[str, list[int]] | None = None, *, check_route_rules: bool = True
) -> list[tuple[str, str, str]]:
    """Problems that span entries or files: duplicate feeds and rule names, unknown rule names.

    `positions` maps each list to its entries' indices in the file (entries that failed validation
    are absent from `config`), so messages point at the right entry.
    """

    def at(kind: str, index: int) -> int:
        return positions[kind][index] if positions else index

    problems: list[tuple[str, str, str]] = []
    seen_urls: set[str] = set()
    for index, feed in enumerate(config.feeds):
        if feed.url in seen_urls:
            problems.append(("feeds.yaml", f"feeds[{at('feeds', index)}].url", f"duplicate feed {feed.url}"))
        seen_urls.add(feed.url)

    rule_names: set[str] = set()
    for index, rule in enumerate(config.rules):
        if rule.name in rule_names:
            problems.append(
                ("rules.yaml", f"rules[{at('rules', index)}].name", f"duplicate rule name {rule.name!r}")
            )
        rule_names.add(rule.name)

    for index, route in enumerate(config.routes if check_route_rules else ()):
        for name in route.rules:
            if name != "all" and name not in rule_names:
                problems.append(
                    ("routes.yaml", f"routes[{at('routes', index)}].rules", f"unknown rule {name!r}")
                )
    return problems


class _Problems:
    """The problems found so far. At most MAX_PROBLEMS are kept, each cut to a readable length, so a
    hostile file (thousands of bad entries, megabyte keys or values) cannot flood `check` or the log."""

    def __init__(self) -> None:
        self.kept: list[tuple[str, str, str]] = []
        self.total = 0
        self.files: set[str] = set()  # files with at least one problem

    def add(self, file: str, key: str, reason: str) -> None:
        self.total += 1
        self.files.add(file)
        if len(self.kept) < MAX_PROBLEMS:
            self.kept.append((file, _clip(key, 160), _clip(reason, _REASON_CHARS)))

    def raise_if_any(self) -> None:
        if not self.total:
            return
        listed = list(self.kept)
        if self.total > len(listed):
            listed.append(
                (
                    "",
                    "",
                    f"... and {self.total - len(listed)} more problems (the first {MAX_PROBLEMS} are listed)",
                )
            )
        raise ConfigError(listed)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _read(path: Path, problems: _Problems) -> Any:
    try:
        return read_config_file(path)
    except ConfigError as error:
        for problem in error.problems:
            problems.add(*problem)
        return None


def _top_level_list(raw: Any, file_name: str, key: str, problems: _Problems) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, dict) or key not in raw:
        problems.add(file_name, "", f"expected a mapping with a '{key}:' list at the top")
        return []
    for other in raw:
        if other != key:
            problems.add(file_name, _key_part(other), "unknown key (check the spelling)")
    value = raw[key]
    if value is None:
        return []
    if not isinstance(value, list):
        problems.add(file_name, key, "expected a list")
        return []
    if len(value) > MAX_ENTRIES[key]:
        problems.add(file_name, key, f"{len(value):,} entries; at most {MAX_ENTRIES[key]:,} are allowed")
        return []  # refused whole, before validating thousands of entries
    return value


def _rule_lists(raw: Any, problems: _Problems) -> dict[str, str]:
    """rules.yaml's `lists:`: name -> query text, each one parsing with the others. A list that
    is not valid is reported and left out (and so is any list that uses it)."""
    from bot.core.rules import compile_query  # the rule language lives in its own package
    from bot.core.rules.lexer import LIST_NAME

    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add("rules.yaml", "lists", "expected a mapping of list names to queries")
        return {}
    if len(raw) > MAX_ENTRIES["lists"]:
        problems.add(
            "rules.yaml", "lists", f"{len(raw):,} lists; at most {MAX_ENTRIES['lists']:,} are allowed"
        )
        return {}
    texts: dict[str, str] = {}
    for name, text in raw.items():
        where = f"lists.{_key_part(name)}"
        if not isinstance(name, str) or not LIST_NAME.fullmatch(name):
            problems.add("rules.yaml", where, "a list name: a lower-case letter, then letters, digits or _")
        elif not isinstance(text, str):
            problems.add("rules.yaml", where, "expected a query (words joined by OR, as in a rule)")
        else:
            texts[name] = text
    while True:  # drop the invalid ones until the rest all parse with each other
        bad = {}
        for name, text in texts.items():
            try:
                compile_query(text, texts)
            except RuleError as error:
                bad[name] = str(error)
        if not bad:
            return texts
        for name, reason in bad.items():
            problems.add("rules.yaml", f"lists.{name}", reason)
            del texts[name]


def _valid_entries(
    model: type[M],
    entries: list[Any],
    file_name: str,
    key: str,
    problems: _Problems,
    context: dict[str, Any] | None = None,
) -> tuple[list[M], list[int]]:
    """The entries that validate, and each one's index in the file."""
    valid: list[M] = []
    indices: list[int] = []
    for index, entry in enumerate(entries):
        parsed = _validate(model, entry, file_name, f"{key}[{index}]", problems, context)
        if parsed is not None:
            valid.append(parsed)
            indices.append(index)
    return valid, indices


def _settings(raw: Any, problems: _Problems) -> Settings:
    if raw is None:
        return Settings()
    if not isinstance(raw, dict):
        problems.add("settings.yaml", "", "expected a mapping of settings (key: value lines) at the top")
        return Settings()
    return _validate(Settings, raw, "settings.yaml", "", problems) or Settings()


def _validate(
    model: type[M],
    raw: Any,
    file_name: str,
    prefix: str,
    problems: _Problems,
    context: dict[str, Any] | None = None,
) -> M | None:
    try:
        return model.model_validate(raw, context=context)
    except ValidationError as error:
        for detail in error.errors(include_url=False, include_input=False):
            problems.add(file_name, _key(prefix, detail), _reason(detail))
        return None


def _key(prefix: str, detail: Any) -> str:
    """`prefix` and pydantic's location as written in YAML terms: `fetch.connect_timeout`, `rules[0]`."""
    location = list(detail["loc"])
    unknown_key = location.pop() if detail["type"] == "extra_forbidden" and location else None
    text = prefix
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else f".{_key_part(part)}"
    if unknown_key is not None:
        text += f".{_key_part(unknown_key)}"
    return text.lstrip(".")


def _key_part(part: object) -> str:
    return _clip(str(part), _KEY_PART_CHARS)


def _reason(detail: Any) -> str:
    if detail["type"] == "extra_forbidden":
        return "unknown key (check the spelling)"
    if detail["type"] == "missing":
        return "required key is missing"
    message = str(detail["msg"])
    return message.removeprefix("Value error, ")
