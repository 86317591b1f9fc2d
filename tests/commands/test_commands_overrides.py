"""How chat edits and file edits combine: the overlay survives restarts and file changes, visibly."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.store.overrides import apply_overrides, origins
from tests.commands.helpers import Harness, reply_text
from tests.conftest import DEFAULT_RULES, ConfigDir

FEEDS = [{"url": "http://127.0.0.1:9/a.xml", "name": "A"}, {"url": "http://127.0.0.1:9/b.xml", "name": "B"}]


@pytest.fixture
def harness(config_dir: ConfigDir, tmp_path: Path) -> Harness:
    config_dir.write(feeds=FEEDS)
    return Harness(config_dir.path, tmp_path / "bot.db", validate_feed=_accept)


async def _accept(url: str) -> str | None:
    return None


def effective(harness: Harness):  # type: ignore[no-untyped-def]
    return apply_overrides(harness.file_config(), harness.db)


async def test_chat_edits_survive_a_restart(harness: Harness) -> None:
    await harness.run("rules add fund Bezos AND fund")
    await harness.run("rules disable bajaj")
    await harness.run("feeds pause 1")
    await harness.run("facts add Prometheus is based in San Francisco")
    harness.restart()
    config = effective(harness)
    assert [(r.name, r.enabled) for r in config.rules] == [
        ("prometheus", True),
        ("bajaj", False),
        ("fund", True),
    ]
    assert [(f.url, f.enabled) for f in config.feeds] == [(FEEDS[0]["url"], False), (FEEDS[1]["url"], True)]
    assert [f.text for f in config.facts] == ["Prometheus is based in San Francisco"]


async def test_a_file_change_never_erases_a_chat_edit(harness: Harness, config_dir: ConfigDir) -> None:
    await harness.run("rules add fund Bezos AND fund")
    await harness.run("feeds remove 2")
    # The operator rewrites the files: a new rule and feed, and B still listed.
    config_dir.write(
        feeds=[*FEEDS, {"url": "http://127.0.0.1:9/c.xml"}],
        rules=[*DEFAULT_RULES, {"name": "blue", "query": "Blue Origin"}],
    )
    config = effective(harness)
    assert [r.name for r in config.rules] == ["prometheus", "bajaj", "blue", "fund"]
    assert [f.url for f in config.feeds] == [FEEDS[0]["url"], "http://127.0.0.1:9/c.xml"]


async def test_a_file_edit_to_a_chat_edited_rule_is_flagged_not_silently_lost(
    harness: Harness, config_dir: ConfigDir, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.run("rules edit bajaj Bajaj")
    config_dir.write(rules=[DEFAULT_RULES[0], {"name": "bajaj", "query": '"Vik Bajaj" OR "Vikram Bajaj"'}])
    with caplog.at_level(logging.WARNING):
        config = effective(harness)
    assert config.rules[1].query == "Bajaj"  # the chat edit stays in force
    assert any("changed in the config file after a chat edit" in r.message for r in caplog.records)
    assert origins(harness.file_config(), harness.db, "rules")["bajaj"].conflict
    listing = await harness.run("rules list")
    assert "file changed since" in reply_text(listing)
    # The admin takes the file's version back.
    reply = await harness.run("rules reset bajaj")
    assert not reply.is_error
    assert effective(harness).rules[1].query == '"Vik Bajaj" OR "Vikram Bajaj"'


async def test_removing_a_chat_added_rule_leaves_no_tombstone(
    harness: Harness, config_dir: ConfigDir
) -> None:
    await harness.run("rules add fund Bezos AND fund")
    await harness.run("rules remove fund")
    assert harness.db.execute("SELECT count(*) FROM config_edits").fetchone()[0] == 0
    config_dir.write(rules=[*DEFAULT_RULES, {"name": "fund", "query": "fund"}])
    assert [r.name for r in effective(harness).rules] == ["prometheus", "bajaj", "fund"]


async def test_rules_list_names_rules_removed_in_chat_that_the_file_still_has(harness: Harness) -> None:
    await harness.run("rules remove prometheus")
    reply = await harness.run("rules list")
    assert reply.lines == ("Removed in chat (the file still has it): prometheus",)
    assert [e.title for e in reply.entries] == ["bajaj"]


async def test_edits_apply_to_the_next_load_without_a_restart(harness: Harness) -> None:
    before = effective(harness)
    await harness.run("rules disable prometheus")
    after = effective(harness)
    assert before.rules[0].enabled and not after.rules[0].enabled
