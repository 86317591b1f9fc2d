"""Load and validate the YAML configuration in BOT_CONFIG (default config/).

Every problem is collected and reported at once as (file, key, reason), so `python -m bot check`
can show an admin everything that is wrong in one go. This module reads files; it never writes them
and never reads the environment beyond what `load_config`'s caller passes in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from bot.durations import parse_duration
from bot.errors import ConfigError, RuleError

M = TypeVar("M", bound=BaseModel)
Seconds = Annotated[float, BeforeValidator(parse_duration)]
_RULE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_HEX_COLOR = re.compile(r"^#?[0-9a-fA-F]{6}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedConfig(_Strict):
    url: str
    name: str | None = None
    interval: Seconds | None = None
    enabled: bool = True
    allow_private: bool = False  # may reach loopback/private addresses (never metadata); see bot.url_safety

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not re.match(r"^https?://[^\s/]+", url):
            raise ValueError("must be an http:// or https:// URL")
        return url


class RuleConfig(_Strict):
    name: str
    query: str
    description: str = ""
    color: str | None = None
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _slug(cls, name: str) -> str:
        if not _RULE_NAME.match(name):
            raise ValueError("use lower-case letters, digits, - and _ (at most 64)")
        return name

    @field_validator("color")
    @classmethod
    def _hex(cls, color: str | None) -> str | None:
        if color is not None and not _HEX_COLOR.match(color):
            raise ValueError('use a hex colour like "#E67E22"')
        return color


class RouteConfig(_Strict):
    platform: Literal["slack", "discord", "console"]
    channel: str
    rules: list[str] = Field(default_factory=lambda: ["all"], min_length=1)


class FactConfig(_Strict):
    text: str = Field(min_length=1)
    source: str = ""
    added: Annotated[str, BeforeValidator(lambda value: "" if value is None else str(value))] = ""  # a date


class Admins(_Strict):
    slack: list[str] = Field(default_factory=list)
    discord: list[str] = Field(default_factory=list)
    discord_roles: list[str] = Field(default_factory=list)
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
    max_bytes: int = Field(default=5_000_000, ge=10_000)
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrency: int = Field(default=16, ge=1, le=256)
    user_agent: str = "PrometheusNewsBot/0.1 (+https://github.com/; RSS alert bot)"
    max_backoff: Seconds = 6 * 3600
    max_cache_age: Seconds = 3600  # honour Cache-Control max-age up to this long
    allow_private: bool = False  # every feed may reach loopback/private addresses (never metadata)


class HealthSettings(_Strict):
    """The operator HTTP endpoint (/healthz, /metrics). Loopback by default: metrics are not public."""

    port: int | None = Field(default=8080, ge=0, le=65535)  # None or 0: no health server
    host: str = "127.0.0.1"  # 0.0.0.0 in a container whose probes come from outside
    stall_after: Seconds = 15 * 60  # /healthz fails when polling or dispatch is older than this


class AdminChannel(_Strict):
    """Where operator notices (dead feeds, silent rules) are posted."""

    platform: Literal["slack", "discord", "console"]
    channel: str = Field(min_length=1)


class NoticeSettings(_Strict):
    feed_down_after: Seconds = 24 * 3600  # a feed failing this long is reported
    rule_silent_after: Seconds = 7 * 24 * 3600  # a rule matching nothing this long is reported


class Settings(_Strict):
    poll_interval: Seconds = 300
    tick: Seconds = 30  # how often the scheduler looks for due feeds
    dispatch_interval: Seconds = 5
    max_age: Seconds = 72 * 3600  # never alert on items older than this
    digest_after: Seconds = 2 * 3600  # alerts delayed longer (an outage) are sent as one digest per channel
    backlog: BacklogPolicy = Field(default_factory=BacklogPolicy)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    admins: Admins = Field(default_factory=Admins)
    command_name: str = "news"
    discord_guilds: list[str] = Field(default_factory=list)
    allow_private_feed_hosts: bool = False  # former name of fetch.allow_private, still honoured
    timezone: str = "UTC"
    health: HealthSettings = Field(default_factory=HealthSettings)
    admin_channel: AdminChannel | None = None
    notices: NoticeSettings = Field(default_factory=NoticeSettings)


@dataclass(frozen=True)
class BotConfig:
    feeds: tuple[FeedConfig, ...] = ()
    rules: tuple[RuleConfig, ...] = ()
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


def load_config(directory: str | Path) -> BotConfig:
    """Read and validate every config file in `directory`. Missing files mean "use defaults".

    Raises ConfigError listing every problem found, each with file, key and reason.
    """
    directory = Path(directory)
    problems: list[tuple[str, str, str]] = []
    if not directory.is_dir():
        raise ConfigError([(str(directory), "", "config directory does not exist")])

    lists: dict[str, list[Any]] = {}
    positions: dict[str, list[int]] = {}  # each valid entry's index in its file, for messages
    for file_name, (key, model) in _LIST_FILES.items():
        raw = _read_yaml(directory / file_name, problems)
        entries = _top_level_list(raw, file_name, key, problems)
        lists[key], positions[key] = [], []
        for index, entry in enumerate(entries):
            parsed = _validate(model, entry, file_name, f"{key}[{index}]", problems)
            if parsed is not None:
                lists[key].append(parsed)
                positions[key].append(index)

    raw_settings = _read_yaml(directory / "settings.yaml", problems)
    if raw_settings is None:
        raw_settings = {}
    settings = _validate(Settings, raw_settings, "settings.yaml", "", problems) or Settings()

    config = BotConfig(
        feeds=tuple(lists["feeds"]),
        rules=tuple(lists["rules"]),
        routes=tuple(lists["routes"]),
        facts=tuple(lists["facts"]),
        settings=settings,
        directory=directory,
    )
    problems.extend(cross_check(config, positions))
    if problems:
        raise ConfigError(problems)
    return config


def cross_check(
    config: BotConfig, positions: dict[str, list[int]] | None = None
) -> list[tuple[str, str, str]]:
    """Problems that span entries or files: duplicates, unknown rule names, rules that do not parse.

    `positions` maps each list to its entries' indices in the file (entries that failed validation
    are absent from `config`), so messages point at the right entry.
    """
    from bot.rules import compile_query  # the rule language lives in its own package

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
        try:
            compile_query(rule.query)
        except RuleError as error:
            problems.append(
                ("rules.yaml", f"rules[{at('rules', index)}].query", f"rule {rule.name!r}: {error}")
            )

    for index, route in enumerate(config.routes):
        for name in route.rules:
            if name != "all" and name not in rule_names:
                problems.append(
                    ("routes.yaml", f"routes[{at('routes', index)}].rules", f"unknown rule {name!r}")
                )
    return problems


def _read_yaml(path: Path, problems: list[tuple[str, str, str]]) -> Any:
    if not path.exists():
        return None
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append((path.name, where, f"not valid YAML: {getattr(error, 'problem', error)}"))
    except (OSError, UnicodeDecodeError) as error:
        problems.append((path.name, "", f"cannot read: {error}"))
    return None


def _top_level_list(raw: Any, file_name: str, key: str, problems: list[tuple[str, str, str]]) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, dict) or key not in raw:
        problems.append((file_name, key, f"expected a mapping with a '{key}:' list at the top"))
        return []
    value = raw[key]
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append((file_name, key, "expected a list"))
        return []
    return value


def _validate(
    model: type[M], raw: Any, file_name: str, prefix: str, problems: list[tuple[str, str, str]]
) -> M | None:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        for detail in error.errors():
            path = ".".join(str(part) for part in detail["loc"])
            key = ".".join(part for part in (prefix, path) if part)
            problems.append((file_name, key, _reason(detail)))
        return None


def _reason(detail: Any) -> str:
    if detail["type"] == "extra_forbidden":
        return "unknown key (check the spelling)"
    if detail["type"] == "missing":
        return "required key is missing"
    message = str(detail["msg"])
    return message.removeprefix("Value error, ")
