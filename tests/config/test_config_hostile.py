"""Hostile and broken config: any value of any type in any file is a ConfigError naming file, key and
reason (never another exception); big files and lists are refused before they cost time; messages
stay short; a running bot keeps its last valid config."""

from __future__ import annotations

import copy
import logging
import math
import re
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import BotConfig, load_config, validate_config
from bot.config.settings import MAX_ENTRIES, MAX_PROBLEMS
from bot.config.yaml_file import MAX_FILE_BYTES, read_config_file
from bot.core.model import CommandRequest
from bot.core.rules import compile_query
from bot.errors import ConfigError, RuleError
from tests.conftest import ConfigDir, TestClock
from tests.fakes.feed_server import rss

WEBHOOK = "https://discord.com/api/webhooks/123456789012345678/abcdefghijklmnopqrstuvwxyz0123456789"

# A valid config that sets every key, so every path through it can be mutated.
VALID: dict[str, Any] = {
    "feeds.yaml": {
        "feeds": [{"url": "https://example.com/rss", "name": "Example", "interval": "5m", "enabled": True}]
    },
    "rules.yaml": {
        "rules": [
            {
                "name": "prometheus",
                "query": '"Project Prometheus" OR (Prometheus AND Bezos)',
                "description": "the venture",
                "color": "#E67E22",
                "enabled": True,
            }
        ]
    },
    "routes.yaml": {
        "routes": [
            {"platform": "slack", "channel": "C0123456789", "rules": ["prometheus"]},
            {"platform": "discord", "channel": "123456789012345678", "rules": ["all"]},
            {"platform": "discord", "channel": WEBHOOK, "rules": ["all"]},
            {"platform": "console", "channel": "stdout", "rules": ["all"]},
        ]
    },
    "facts.yaml": {"facts": [{"text": "Founded in 2025.", "source": "NYT", "added": "2025-11-17"}]},
    "settings.yaml": {
        "poll_interval": "5m",
        "tick": "30s",
        "dispatch_interval": "5s",
        "max_age": "72h",
        "digest_after": "2h",
        "backlog": {"mode": "newest", "count": 3, "hours": "24h"},
        "fetch": {
            "connect_timeout": "10s",
            "read_timeout": "30s",
            "max_bytes": 5_000_000,
            "max_redirects": 5,
            "concurrency": 16,
            "user_agent": "TestBot/1.0",
            "max_backoff": "6h",
            "max_cache_age": "1h",
        },
        "admins": {
            "slack": ["U0123456789"],
            "discord": ["123456789012345678"],
            "discord_roles": [234567890123456789],
            "discord_manage_server": True,
        },
        "command_name": "news",
        "discord_guilds": ["345678901234567890"],
        "allow_private_feed_hosts": False,
        "timezone": "Europe/Paris",
        "health": {"port": 8080, "host": "127.0.0.1", "stall_after": "15m"},
        "admin_channel": {"platform": "slack", "channel": "C0ADMIN"},
        "notices": {"feed_down_after": "1d", "rule_silent_after": "7d"},
    },
}

Path_ = tuple[str | int, ...]


def paths_in(value: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every path through nested mappings and lists, the root () included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_in(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths_in(child, (*prefix, index))
    return found


ALL_PATHS = [(name, path) for name, content in VALID.items() for path in paths_in(content)]


def value_at(content: Any, path: Path_) -> Any:
    for part in path:
        content = content[part]
    return content


MAPPING_PATHS = [(name, path) for name, path in ALL_PATHS if isinstance(value_at(VALID[name], path), dict)]


def with_value(name: str, path: Path_, value: Any) -> dict[str, Any]:
    files = copy.deepcopy(VALID)
    if not path:
        files[name] = value
        return files
    parent = value_at(files[name], path[:-1])
    parent[path[-1]] = value
    return files


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump(content: Any) -> str:
    return yaml.dump(content, Dumper=_DUMPER, allow_unicode=True)


def write(directory: Path, files: dict[str, Any]) -> None:
    for name, content in files.items():
        (directory / name).write_text(dump(content), encoding="utf-8")


class Scratch:
    """A config directory for many examples: only files that differ from the last example are written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written: dict[str, str] = {}

    def write(self, files: dict[str, Any]) -> Path:
        for name, content in files.items():
            text = dump(content)
            if self.written.get(name) != text:
                (self.path / name).write_text(text, encoding="utf-8")
                self.written[name] = text
        return self.path


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Scratch:
    return Scratch(tmp_path_factory.mktemp("config"))


def load_or_config_error(directory: Path) -> BotConfig | ConfigError:
    """load_config's whole contract: a config, or a ConfigError of bounded size. Anything else fails."""
    try:
        return load_config(directory)
    except ConfigError as error:
        return bounded(error)


def validate_or_config_error(files: dict[str, Any]) -> BotConfig | ConfigError:
    try:
        return validate_config(files)
    except ConfigError as error:
        return bounded(error)


def bounded(error: ConfigError) -> ConfigError:
    assert len(error.problems) <= MAX_PROBLEMS + 1
    assert len(str(error)) < (MAX_PROBLEMS + 1) * 700
    return error


# One value of every YAML type (str: empty, huge, unicode; nested list and mapping).
EVERY_TYPE: list[Any] = [
    None,
    True,
    0,
    -7,
    10**400,
    1.5,
    math.nan,
    math.inf,
    "",
    "x" * 20_000,
    "Prométhée 普罗米修斯 🔥\u200b",
    date(2025, 11, 17),
    datetime(2025, 11, 17, 10, 30),
    b"\x00binary",
    {"a", "b"},
    [],
    [[1, [None]], "a"],
    {},
    {"a": {"b": [{}]}, 1: "one", None: 2.5},
]


def test_the_valid_config_used_for_mutation_is_valid(tmp_path: Path) -> None:
    write(tmp_path, VALID)
    config = load_config(tmp_path)
    assert config.settings.admins.discord_roles == ["234567890123456789"]  # an int id is kept as text
    assert len(ALL_PATHS) > 60 and len(MAPPING_PATHS) > 10


def test_every_path_given_every_yaml_type_validates_or_is_a_config_error() -> None:
    for name, path in ALL_PATHS:
        for value in EVERY_TYPE:
            validate_or_config_error(with_value(name, path, value))


# Text from an explicit alphabet (ASCII, YAML syntax, control, wide and invisible characters): without
# one, hypothesis first builds a table of all of Unicode (a 200+ MB peak, once per checkout), and a
# child process inherits its parent's peak, which tests/poll/test_parse.py measures.
CHARACTERS = st.sampled_from(
    list("aZ09 _-.,:;#&*!|>%@`'\"?~{}[]()/\\\t\n\r\x00\x07\x7f\x85éß漢字🔥\u200b\u2028\ufeff")
)
TEXT = st.text(CHARACTERS, max_size=40)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**300), max_value=10**300),
    st.floats(),
    TEXT,
    st.sampled_from(["", "x" * 30_000, "é" * 5_000, "5m", "0s", "-1m", "1e400", "366d", "2025-11-17"]),
    st.sampled_from(["C0123", "U0ABC", "123456789012345678", WEBHOOK, "#E67E22", "yes", "~", "NaN"]),
    st.sampled_from(["Bezos AND (", "(" * 60, "title:", "https://[::1", "http://a:99999/", "Mars/Base"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(TEXT, st.integers(), st.none()), children, max_size=4),
    ),
    max_leaves=12,
)
BOUNDED = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.slow
@BOUNDED
@given(where=st.sampled_from(ALL_PATHS), value=VALUES)
def test_any_value_anywhere_loads_or_is_a_config_error(
    scratch: Scratch, where: tuple[str, Path_], value: Any
) -> None:
    load_or_config_error(scratch.write(with_value(*where, value)))


@pytest.mark.slow
@BOUNDED
@given(where=st.sampled_from(MAPPING_PATHS), key=SCALARS, value=VALUES)
def test_any_extra_key_anywhere_is_a_config_error(where: tuple[str, Path_], key: Any, value: Any) -> None:
    name, path = where
    files = copy.deepcopy(VALID)
    value_at(files[name], path)[key] = value
    assert isinstance(validate_or_config_error(files), ConfigError)  # no mapping takes extra keys


@pytest.mark.slow
@BOUNDED
@given(text=st.text(CHARACTERS, max_size=300))
def test_any_text_as_a_file_reads_or_is_a_config_error(scratch: Scratch, text: str) -> None:
    path = scratch.path / "any.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        read_config_file(path)
    except ConfigError as error:
        bounded(error)


@pytest.mark.slow
@BOUNDED
@given(query=st.text(alphabet=st.sampled_from(list('()"*:/ abAND OR NOT NEAR/3 title:')), max_size=200))
def test_any_query_compiles_or_is_a_rule_error(query: str) -> None:
    try:
        compile_query(query)
    except RuleError as error:
        assert len(str(error)) < 400


# --- each kind of problem, as an admin would meet it ---------------------------------------------


def problems_in(directory: Path) -> list[tuple[str, str, str]]:
    with pytest.raises(ConfigError) as caught:
        load_config(directory)
    return caught.value.problems


def write_raw(directory: Path, name: str, text: str | bytes) -> None:
    write(directory, VALID)
    path = directory / name
    path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text, encoding="utf-8")


def settings_text(**lines: str) -> str:
    """settings.yaml as text, with some top-level keys replaced by the given raw YAML."""
    settings_only = {k: v for k, v in VALID["settings.yaml"].items() if k not in lines}
    return yaml.safe_dump(settings_only) + "".join(f"{line}\n" for line in lines.values())


def test_a_duration_with_no_value_is_reported(tmp_path: Path) -> None:
    write_raw(tmp_path, "settings.yaml", settings_text(digest_after="digest_after:"))
    assert problems_in(tmp_path) == [
        ("settings.yaml", "digest_after", "no value given; expected a duration like 30s, 5m, 2h or 1d")
    ]


def test_a_duration_given_a_list_is_reported(tmp_path: Path) -> None:
    write_raw(tmp_path, "settings.yaml", settings_text(fetch="fetch:\n  connect_timeout: []"))
    [(file, key, reason)] = problems_in(tmp_path)
    assert (file, key) == ("settings.yaml", "fetch.connect_timeout") and "duration" in reason


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('discord_guilds: ["abc"]', "discord_guilds[0]"),
        ("discord_guilds: [12]", "discord_guilds[0]"),
        ("admins: {discord_roles: [{}]}", "admins.discord_roles[0]"),
        ('admins: {discord: ["1000"]}', "admins.discord[0]"),
        ('admins: {slack: ["alice"]}', "admins.slack[0]"),
        ("admin_channel: {platform: discord, channel: general}", "admin_channel.channel"),
        ("command_name: News Bot", "command_name"),
        ("timezone: Mars/Base", "timezone"),
        ('health: {host: "not a host"}', "health.host"),
        ('fetch: {user_agent: "bot\\r\\nX-Evil: 1"}', "fetch.user_agent"),
        ("tick: 0.5s", "tick"),  # APScheduler refuses it when `run` starts
        ("max_age: 400d", "max_age"),
        ("poll_interval: .nan", "poll_interval"),
    ],
)
def test_values_are_validated_as_what_they_are(tmp_path: Path, line: str, key: str) -> None:
    name = line.split(":")[0]
    write_raw(tmp_path, "settings.yaml", settings_text(**{name: line}))
    assert [k for _, k, _ in problems_in(tmp_path)] == [key]


def test_discord_ids_may_be_written_as_numbers(tmp_path: Path) -> None:
    write_raw(tmp_path, "settings.yaml", settings_text(discord_guilds="discord_guilds: [345678901234567890]"))
    assert load_config(tmp_path).settings.discord_guilds == ["345678901234567890"]


@pytest.mark.parametrize(
    ("route", "valid"),
    [
        ({"platform": "slack", "channel": "C0123456789"}, True),
        ({"platform": "slack", "channel": "#general"}, False),
        ({"platform": "slack", "channel": "123456789012345678"}, False),
        ({"platform": "discord", "channel": 123456789012345678}, True),
        ({"platform": "discord", "channel": WEBHOOK}, True),
        ({"platform": "discord", "channel": "C0123456789"}, False),
        ({"platform": "discord", "channel": WEBHOOK.replace("https", "http")}, False),
        ({"platform": "console", "channel": "any label"}, True),
    ],
)
def test_route_channels_are_validated_per_platform(
    tmp_path: Path, route: dict[str, Any], valid: bool
) -> None:
    write(tmp_path, with_value("routes.yaml", ("routes",), [route]))
    result = load_or_config_error(tmp_path)
    assert isinstance(result, BotConfig) == valid
    if not valid:
        assert isinstance(result, ConfigError) and result.problems[0][1] == "routes[0].channel"


def test_the_webhook_pattern_is_the_discord_adapters() -> None:
    from bot.config.settings import DISCORD_WEBHOOK_URL
    from bot.deliver.adapters.discord import _WEBHOOK_URL

    assert DISCORD_WEBHOOK_URL.pattern == _WEBHOOK_URL.pattern


def test_a_duplicate_key_is_refused_with_both_lines(tmp_path: Path) -> None:
    write_raw(tmp_path, "settings.yaml", "poll_interval: 5m\ntick: 30s\npoll_interval: 10m\n")
    assert problems_in(tmp_path) == [
        (
            "settings.yaml",
            "line 3, column 1",
            "not valid YAML: duplicate key 'poll_interval' (first given on line 1)",
        )
    ]


def test_a_duplicate_key_inside_an_entry_is_refused(tmp_path: Path) -> None:
    write_raw(
        tmp_path, "feeds.yaml", "feeds:\n  - url: https://a.example/rss\n    url: https://b.example/rss\n"
    )
    [(file, where, reason)] = problems_in(tmp_path)
    assert (file, where) == ("feeds.yaml", "line 3, column 5") and "duplicate key 'url'" in reason


def test_a_megabyte_rule_query_gives_a_short_message_with_the_caret_in_place(tmp_path: Path) -> None:
    query = "Bezos AND " * 104_000 + "(unclosed"  # 1 MB, just under the file limit
    write_raw(tmp_path, "rules.yaml", f'rules:\n  - name: prometheus\n    query: "{query}"\n')
    assert 1_000_000 < (tmp_path / "rules.yaml").stat().st_size <= MAX_FILE_BYTES
    [(file, key, reason)] = problems_in(tmp_path)
    message = str(ConfigError([(file, key, reason)]))
    assert (file, key) == ("rules.yaml", "rules[0].query")
    assert len(message) < 300 and "Bezos AND Bezos" in message
    snippet, caret = message.splitlines()[-2:]
    assert caret.endswith("^") and len(caret) - 1 < len(snippet)


def test_the_caret_points_at_the_error_inside_a_long_query() -> None:
    query = "a " * 2000 + "AND AND " + "b " * 2000
    with pytest.raises(RuleError) as caught:
        compile_query(query)
    error = caught.value
    snippet, caret = str(error).splitlines()[-2:]
    assert len(snippet) <= 78 and snippet.startswith("…") and snippet.endswith("…")
    assert snippet[len(caret) - 1 :].startswith("AND")  # the caret is under the token at fault
    assert query[error.position :].startswith("AND")


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    write(tmp_path, VALID)
    chunk = "  - url: https://example.com/rss/a-long-path-to-a-feed\n" * 10_000
    with (tmp_path / "feeds.yaml").open("w") as file:
        file.write("feeds:\n")
        for _ in range(52_000_000 // len(chunk)):  # the 52 MB file of the report, written in parts:
            file.write(chunk)  # one 52 MB string would raise this process's peak memory for good
    assert (tmp_path / "feeds.yaml").stat().st_size > 50_000_000
    started = time.perf_counter()
    assert problems_in(tmp_path) == [
        ("feeds.yaml", "", f"larger than {MAX_FILE_BYTES:,} bytes; refused unread")
    ]
    assert time.perf_counter() - started < 2


def test_a_list_over_its_limit_is_refused_before_validation(tmp_path: Path) -> None:
    feeds = [{"url": f"https://example.com/{n}"} for n in range(MAX_ENTRIES["feeds"] + 1)]
    write(tmp_path, with_value("feeds.yaml", ("feeds",), feeds))
    assert problems_in(tmp_path) == [("feeds.yaml", "feeds", "5,001 entries; at most 5,000 are allowed")]


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    write_raw(tmp_path, "facts.yaml", "facts:\n  - text: caf\xe9\n".encode("latin-1"))
    assert problems_in(tmp_path) == [("facts.yaml", "byte 20", "not UTF-8 text (byte 0xe9)")]


def test_a_list_where_a_mapping_belongs_is_reported(tmp_path: Path) -> None:
    write_raw(tmp_path, "settings.yaml", "- poll_interval: 5m\n")
    [(file, _, reason)] = problems_in(tmp_path)
    assert file == "settings.yaml" and "expected a mapping" in reason
    write_raw(tmp_path, "routes.yaml", "- platform: console\n  channel: x\n")
    [(file, _, reason)] = problems_in(tmp_path)
    assert file == "routes.yaml" and "expected a mapping with a 'routes:' list" in reason


def test_an_unknown_top_level_key_in_a_list_file_is_reported(tmp_path: Path) -> None:
    write_raw(tmp_path, "feeds.yaml", "feeds: []\nfeed: [{url: https://a.example/rss}]\n")
    assert problems_in(tmp_path) == [("feeds.yaml", "feed", "unknown key (check the spelling)")]


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        ("feeds:\n  - url: [unclosed\n", "line 3, column 1", "expected ',' or ']'"),
        ("feeds:\n\t- url: x\n", "line 2, column 1", "cannot start any token"),
        (
            "feeds:\n  - url: https://a.example/\n - name: x\n",
            "line 3, column 2",
            "while parsing a block mapping",
        ),
        ("feeds: &a [*a]\n", "line 1, column 12", "aliases (*name) are not allowed"),
        ("feeds: " + "[" * 100 + "]" * 100 + "\n", "line 1, column 39", "nested more than 32 levels"),
        (
            "feeds:\n  - url: https://a.example/\n    added: 2025-13-45\n",
            "line 3, column 12",
            "month must be",
        ),
        ("feeds: !!timestamp nope\n", "line 1, column 8", "cannot read this value"),
        ("feeds: !!python/object:os.system {}\n", "line 1, column 8", "could not determine a constructor"),
        (
            "feeds: []\n---\nfeeds: []\n",
            "line 2, column 1",
            "expected a single document in the stream, but found another document",
        ),
        ("feeds: [\x00]\n", "character 9", "U+0000 is not allowed"),
    ],
)
def test_yaml_errors_name_line_and_column(tmp_path: Path, text: str, where: str, reason: str) -> None:
    write_raw(tmp_path, "feeds.yaml", text)
    [(file, found_where, found_reason)] = problems_in(tmp_path)
    assert (file, found_where) == ("feeds.yaml", where)
    assert found_reason.startswith("not valid YAML: ") and reason in found_reason


def test_the_number_of_problems_listed_is_capped(tmp_path: Path) -> None:
    feeds = [{"url": f"ftp://example.com/{n}", "interval": "soon"} for n in range(1000)]
    write(tmp_path, with_value("feeds.yaml", ("feeds",), feeds))
    found = problems_in(tmp_path)
    assert len(found) == MAX_PROBLEMS + 1
    assert found[-1] == ("", "", f"... and {2000 - MAX_PROBLEMS} more problems (the first 50 are listed)")


def test_a_huge_unknown_key_is_shown_cut(tmp_path: Path) -> None:
    write_raw(tmp_path, "settings.yaml", "k" * 1000 + ": 1\n")  # YAML allows 1,024 characters
    [(file, key, reason)] = problems_in(tmp_path)
    assert file == "settings.yaml" and len(key) <= 40 and reason == "unknown key (check the spelling)"


# --- the running bot -----------------------------------------------------------------------------


def story(n: int) -> dict[str, str]:
    return {
        "title": f"Bezos's Project Prometheus story number {n}",
        "link": f"https://news.example.com/story-{n}",
        "guid": f"story-{n}",
        "description": "About Vik Bajaj.",
        "pubDate": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
    }


async def test_a_running_bot_keeps_its_last_valid_config_and_says_so_once(
    feed_server, config_dir: ConfigDir, make_bot, caplog: pytest.LogCaptureFixture
) -> None:
    url = feed_server.serve("/feed.xml", rss([story(1)]))
    config_dir.write(feeds=[{"url": url, "name": "Kept feed"}])
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    await bot.pipeline.run_cycle()

    settings_file = config_dir.path / "settings.yaml"
    written = yaml.safe_load(settings_file.read_text())
    del written["fetch"]
    settings_file.write_text(yaml.safe_dump(written) + "digest_after:\nfetch:\n  connect_timeout: []\n")
    core = bot.commands
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            feed_server.serve("/feed.xml", rss([story(1), story(2)]))
            clock.advance(3600)
            report = await bot.pipeline.run_cycle()
            assert report.feeds_due == 1 and report.failed == 0
            for text in ("feeds list", "status"):
                request = CommandRequest(platform="slack", user_id="UADMIN", text=text)
                reply = await core.handle(request)
                assert not reply.is_error and reply.title != "Something went wrong"
        assert "Kept feed" in str(await core.handle(CommandRequest("slack", "UADMIN", text="feeds list")))
    logged = [r.getMessage() for r in caplog.records if "keeping the last valid one" in r.getMessage()]
    assert len(logged) == 1
    assert "settings.yaml: digest_after: no value given" in logged[0]
    assert "Traceback" not in caplog.text

    config_dir.write(feeds=[{"url": url, "name": "Renamed feed"}])  # fixed: the new config applies
    assert [feed.name for feed in bot.config.effective().feeds] == ["Renamed feed"]


async def test_a_chat_edit_that_no_longer_validates_is_ignored_and_logged_once(
    feed_server, config_dir: ConfigDir, make_bot, caplog: pytest.LogCaptureFixture
) -> None:
    url = feed_server.serve("/feed.xml", rss([story(1)]))
    config_dir.write(feeds=[{"url": url}])
    bot = make_bot(config_dir, clock=TestClock(time.time()))
    edits = [
        ("rules", "broken", '{"name": "broken", "query": "Bezos AND ("}'),  # a query that no longer parses
        ("feeds", "https://x.example/", '["not", "a", "feed"]'),
        ("facts", "abc", "{not json"),
    ]
    for kind, key, value in edits:
        bot.db.execute(
            "INSERT INTO config_edits (kind, key, value, base, at, actor, platform) "
            "VALUES (?, ?, ?, NULL, 1.0, 'U1', 'slack')",
            [kind, key, value],
        )
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            report = await bot.pipeline.run_cycle()
            assert report.failed == 0
            config = bot.config.effective()
            assert [rule.name for rule in config.rules] == ["prometheus", "bajaj"]
            assert [feed.url for feed in config.feeds] == [url]
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("chat edit")]
    assert len(warnings) == 3 and any("no longer validates" in w for w in warnings)


# --- python -m bot check -------------------------------------------------------------------------


def run_check(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"BOT_CONFIG": str(directory), "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.slow
def test_check_lists_every_broken_value_as_file_key_reason_without_a_traceback(tmp_path: Path) -> None:
    write(tmp_path, VALID)
    (tmp_path / "settings.yaml").write_text(
        settings_text(
            digest_after="digest_after:",
            fetch="fetch: {connect_timeout: []}",
            discord_guilds='discord_guilds: ["abc"]',
            admins="admins: {discord_roles: [{}]}",
        )
    )
    (tmp_path / "rules.yaml").write_text(f'rules:\n  - name: big\n    query: "{"Bezos AND " * 100_000}("\n')
    result = run_check(tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "config error:"
    for expected in (
        "settings.yaml: digest_after: no value given; expected a duration like 30s, 5m, 2h or 1d",
        "settings.yaml: fetch.connect_timeout: expected a duration like 30s, 5m, 2h or 1d",
        "settings.yaml: discord_guilds[0]: not a Discord id (17 to 20 digits)",
        "settings.yaml: admins.discord_roles[0]: not a Discord id (17 to 20 digits)",
    ):
        assert expected in lines
    assert any(
        re.match(r"rules\.yaml: rules\[0\]\.query: at position \d+: expected ", line) for line in lines
    )
    assert len(result.stderr) < 1500


@pytest.mark.slow
def test_check_names_a_global_allowance_of_private_addresses(tmp_path: Path) -> None:
    write(tmp_path, with_value("settings.yaml", ("allow_private_feed_hosts",), True))
    result = run_check(tmp_path)
    assert result.returncode == 0
    assert (
        "private addresses allowed: every feed added from chat (allow_private_feed_hosts in settings.yaml)"
        in result.stdout
    )
