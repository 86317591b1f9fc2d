"""Config validation: every problem named with file, key and reason; `check` exits non-zero."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.config import load_config
from bot.errors import ConfigError


def problems_of(path) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def test_shipped_config_is_valid():
    config = load_config("config")
    assert len(config.feeds) >= 10 and config.rules and config.facts
    assert all(fact.source for fact in config.facts)


def test_every_problem_is_reported_with_file_key_and_reason(config_dir):
    config_dir.write(
        feeds=[
            {"url": "ftp://example.com/feed"},
            {"url": "https://ok.example/rss", "interval": "soon"},
            {"name": "no url"},
        ],
        routes=[
            {"platform": "telegram", "channel": "x"},
            {"platform": "slack", "channel": "C1", "rules": ["nope"]},
        ],
        settings={"poll_interval": "-5m", "typo_key": 1},
    )
    found = problems_of(config_dir.path)
    keys = {(file, key) for file, key, _ in found}
    assert ("feeds.yaml", "feeds[0].url") in keys
    assert ("feeds.yaml", "feeds[1].interval") in keys
    assert ("feeds.yaml", "feeds[2].url") in keys
    assert ("routes.yaml", "routes[0].platform") in keys
    assert ("routes.yaml", "routes[1].rules") in keys
    assert ("settings.yaml", "poll_interval") in keys
    assert ("settings.yaml", "typo_key") in keys
    reasons = " ".join(reason for _, _, reason in found)
    assert "http" in reasons and "unknown rule 'nope'" in reasons and "unknown key" in reasons


def test_invalid_rule_query_is_reported_with_its_position(config_dir):
    config_dir.write(rules=[{"name": "broken", "query": "Bezos AND (Prometheus"}])
    [(file, key, reason)] = problems_of(config_dir.path)
    assert (file, key) == ("rules.yaml", "rules[0].query")
    assert "position" in reason


def test_duplicate_feeds_and_rule_names_are_refused(config_dir):
    config_dir.write(
        feeds=[{"url": "https://a.example/rss"}, {"url": "https://a.example/rss"}],
        rules=[{"name": "x", "query": "Bezos"}, {"name": "x", "query": "Bajaj"}],
    )
    keys = {key for _, key, _ in problems_of(config_dir.path)}
    assert {"feeds[1].url", "rules[1].name"} <= keys


def test_broken_yaml_names_the_line(config_dir):
    config_dir.write()
    (config_dir.path / "feeds.yaml").write_text("feeds:\n  - url: [unclosed\n")
    [(file, key, reason)] = problems_of(config_dir.path)
    assert file == "feeds.yaml" and key.startswith("line ") and "YAML" in reason


@pytest.mark.slow
def test_check_command_prints_problems_and_exits_non_zero(config_dir):
    config_dir.write(feeds=[{"url": "nonsense"}])
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"BOT_CONFIG": str(config_dir.path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 1
    assert "feeds.yaml: feeds[0].url: must be an http:// or https:// URL" in result.stderr


@pytest.mark.slow
def test_check_command_accepts_a_valid_config(config_dir):
    config_dir.write(feeds=[{"url": "https://example.com/rss"}])
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"BOT_CONFIG": str(config_dir.path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0 and "config OK" in result.stdout


def test_a_broken_file_edit_keeps_the_last_valid_config_in_force(config_dir, tmp_path):
    from bot.app import ConfigSource
    from bot.store import open_database

    config_dir.write(feeds=[{"url": "https://a.example/rss"}])
    source = ConfigSource(config_dir.path, open_database(tmp_path / "db.sqlite"))
    assert [f.url for f in source.file_config().feeds] == ["https://a.example/rss"]
    (config_dir.path / "feeds.yaml").write_text("feeds:\n  - url: not a url at all\n")
    assert [f.url for f in source.file_config().feeds] == ["https://a.example/rss"]
    config_dir.write(feeds=[{"url": "https://a.example/rss"}, {"url": "https://b.example/rss"}])
    assert len(source.file_config().feeds) == 2


def test_rules_can_share_named_lists(config_dir):
    config_dir.write(
        rules=[{"name": "fund", "query": "lead:@bezos AND @fund_words"}],
        lists={
            "bezos": 'Bezos OR "Amazon founder"',
            "fund_words": "fund OR vehicle OR @pool",
            "pool": "pool",
        },
    )
    config = load_config(config_dir.path)
    assert (
        config.rules[0].query == "lead:@bezos AND @fund_words"
    )  # kept as written, for chat and `rules list`
    assert set(config.rule_lists) == {"bezos", "fund_words", "pool"}


def test_a_bad_list_is_reported_and_so_is_every_list_and_rule_that_uses_it(config_dir):
    config_dir.write(
        rules=[
            {"name": "uses_broken", "query": "@broken AND fund"},
            {"name": "fine", "query": "@bezos AND fund"},
        ],
        lists={
            "bezos": "Bezos",
            "broken": "Bezos AND (fund",
            "uses": "@broken OR x",
            "Bad-Name": "x",
            "num": 3,
        },
    )
    found = problems_of(config_dir.path)
    keys = {key for file, key, _ in found if file == "rules.yaml"}
    assert {"lists.broken", "lists.uses", "lists.Bad-Name", "lists.num", "rules[0].query"} == keys, found
    reasons = {key: reason for _, key, reason in found}
    assert "position" in reasons["lists.broken"] and "@broken" in reasons["rules[0].query"]


def test_lists_must_be_a_mapping_and_other_top_level_keys_are_still_typos(config_dir):
    config_dir.write(rules=[{"name": "x", "query": "Bezos"}])
    rules_file = config_dir.path / "rules.yaml"
    rules_file.write_text(rules_file.read_text() + "lists: [a, b]\nlist: {}\n", encoding="utf-8")
    keys = {key for _, key, _ in problems_of(config_dir.path)}
    assert keys == {"lists", "list"}
