"""Admin subcommands for rules, facts, routes and audit; who counts as an admin; refusals change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.commands.access import is_admin
from bot.config import Admins, Settings
from bot.core.model import CommandRequest
from bot.core.rules import RuleSet, RuleSpec
from bot.store.audit import recent_audit
from bot.store.overrides import apply_overrides
from tests.commands.helpers import Harness, add_story, reply_text, slack, snapshot
from tests.conftest import ConfigDir


@pytest.fixture
def harness(config_dir: ConfigDir, tmp_path: Path) -> Harness:
    config_dir.write(facts=[{"text": "Bezos and Bajaj are co-CEOs.", "source": "NYT"}])
    return Harness(config_dir.path, tmp_path / "bot.db")


def rule_names(harness: Harness) -> list[str]:
    return harness.core.names("rules")


async def test_rules_add_takes_effect_and_is_audited_with_before_and_after(harness: Harness) -> None:
    reply = await harness.run('rules add fund "manufacturing fund" AND Bezos', slack)
    assert not reply.is_error, reply
    assert rule_names(harness) == ["prometheus", "bajaj", "fund"]
    row = recent_audit(harness.db, 1)[0]
    assert (row["action"], row["target"], row["platform"], row["actor"]) == (
        "rules.add",
        "fund",
        "slack",
        "alice (UADMIN)",
    )
    assert row["before"] is None
    assert json.loads(row["after"])["query"] == '"manufacturing fund" AND Bezos'


async def test_rules_list_shows_queries_and_where_each_comes_from(harness: Harness) -> None:
    await harness.run("rules add fund Bezos AND fund")
    await harness.run("rules disable bajaj")
    reply = await harness.run("rules list")
    by_name = {e.title: e for e in reply.entries}
    assert by_name["prometheus"].meta == "from file"
    assert by_name["fund"].meta.startswith("chat · operator")
    assert by_name["bajaj (disabled)"].meta.startswith("chat over file · operator")
    assert by_name["fund"].text == "Bezos AND fund"


async def test_rules_edit_enable_disable_remove(harness: Harness) -> None:
    assert not (await harness.run("rules edit bajaj Bajaj")).is_error
    assert harness.file_config().rules[1].query == '"Vik Bajaj"'  # the file is untouched
    await harness.run("rules disable bajaj")
    already = await harness.run("rules disable bajaj")
    assert "already disabled" in already.title
    await harness.run("rules enable bajaj")
    await harness.run("rules remove prometheus")
    assert rule_names(harness) == ["bajaj"]
    actions = [row["action"] for row in recent_audit(harness.db)]
    assert actions == ["rules.remove", "rules.enable", "rules.disable", "rules.edit"]


async def test_rules_test_explains_a_query_on_given_text(harness: Harness) -> None:
    reply = await harness.run('rules test Bezos AND fund --text "Bezos plans a $100B fund"')
    text = reply_text(reply)
    assert "MATCHED" in text and "'fund'" in text


async def test_rules_test_by_name_runs_over_stored_stories(harness: Harness) -> None:
    add_story(harness.db, "Vik Bajaj joins Prometheus")
    add_story(harness.db, "Weather today")
    reply = await harness.run("rules test bajaj")
    assert reply.lines == ("Would match 1 of the 2 newest stored stories.",)
    assert reply.entries[0].title == "Vik Bajaj joins Prometheus"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('rules add broken "Project Prometheus', "does not parse"),
        ("rules add broken Bezos AND (fund", "does not parse"),
        ("rules add Bad!Name Bezos", "is not valid"),
        ("rules add prometheus Bezos", "exists"),
        ("rules add onlyname", "Give a rule name and a query"),
        ("rules remove nosuch", "no rule named 'nosuch'"),
        ("rules remove", "exactly one rule name"),
        ("rules enable bajaj extra", "exactly one rule name"),
        ("rules frobnicate", "Unknown action 'frobnicate'"),
        ("rules test Bezos AND (", "does not parse"),
        ("rules reset prometheus", "no chat edit"),
        ("facts add", "Give the fact's text"),
        ("facts add Bezos and Bajaj are co-CEOs.", "already listed"),
        ("facts remove 9", "no fact 9"),
        ("facts remove first", "number of one fact"),
        ("audit 0", "between 1 and 50"),
        ("audit lots", "one optional number"),
        ("routes everything", "takes no arguments"),
    ],
)
async def test_bad_admin_input_gets_a_clear_error_and_changes_nothing(
    harness: Harness, text: str, expected: str
) -> None:
    before = snapshot(harness.db)
    reply = await harness.run(text)
    assert reply.is_error and reply.ephemeral
    assert expected in reply_text(reply)
    assert snapshot(harness.db) == before


@pytest.mark.parametrize(
    "text",
    ["rules list", "rules add x Bezos", "feeds add http://127.0.0.1/x", "facts add hi", "routes", "audit"],
)
async def test_non_admins_are_refused_logged_and_audited(
    harness: Harness, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = snapshot(harness.db, tables=("config_edits", "feeds", "items"))
    reply = await harness.core.handle(slack(text, user="UINTRUDER"))
    assert reply.is_error and reply.title.startswith("Only admins can use")
    assert snapshot(harness.db, tables=("config_edits", "feeds", "items")) == before
    row = recent_audit(harness.db, 1)[0]
    assert (row["action"], row["actor"], row["target"]) == ("denied", "alice (UINTRUDER)", text)
    assert any("denied" in record.message and "UINTRUDER" in record.message for record in caplog.records)


async def test_non_admins_may_still_read(harness: Harness) -> None:
    reply = await harness.core.handle(slack("facts", user="UINTRUDER"))
    assert not reply.is_error and recent_audit(harness.db) == []


def test_admins_are_recognised_per_platform() -> None:
    admin_id = "420000000000000042"
    settings = Settings(admins=Admins(slack=["U1"], discord=[admin_id], discord_manage_server=False))
    hint = Settings(admins=Admins(discord_roles=["700000000000000007"], discord_manage_server=False))
    off = Settings(admins=Admins(discord_manage_server=False))

    def request(platform: str, user: str, hint_flag: bool = False) -> CommandRequest:
        return CommandRequest(platform=platform, user_id=user, text="", is_admin_hint=hint_flag)

    assert is_admin(request("slack", "U1"), settings)
    assert not is_admin(request("slack", admin_id), settings)
    assert not is_admin(request("slack", "U2", True), settings)  # Slack has no hint
    assert is_admin(request("discord", admin_id), settings)
    assert is_admin(request("discord", "99", True), hint)
    assert not is_admin(request("discord", "99", True), off)  # no role and no Manage Server rule
    assert is_admin(request("console", "anyone"), off)
    assert not is_admin(request("teams", "U1"), settings)


async def test_facts_add_and_remove_change_what_facts_shows(harness: Harness) -> None:
    await harness.run('facts add Prometheus bought a chip maker --source "WSJ"')
    facts = await harness.run("facts")
    assert [e.title for e in facts.entries[:2]] == [
        "Bezos and Bajaj are co-CEOs.",
        "Prometheus bought a chip maker",
    ]
    assert "source: WSJ" in facts.entries[1].meta
    await harness.run("facts remove 1")
    facts = await harness.run("facts")
    assert [e.title for e in facts.entries] == ["Prometheus bought a chip maker"]
    assert [row["action"] for row in recent_audit(harness.db)] == ["facts.remove", "facts.add"]


async def test_routes_lists_rules_per_channel(harness: Harness) -> None:
    reply = await harness.run("routes")
    assert [(e.title, e.text) for e in reply.entries] == [("console · stdout", "rules: all")]


async def test_audit_shows_who_what_when_before_and_after(harness: Harness) -> None:
    await harness.run("rules edit bajaj Bajaj", slack)
    reply = await harness.run("audit 5")
    entry = reply.entries[0]
    assert entry.title == "rules.edit bajaj"
    assert entry.meta == "2026-11-25 12:00 UTC · slack · alice (UADMIN)"
    assert 'query="Vik Bajaj"' in entry.text and "query=Bajaj" in entry.text


async def test_a_chat_rule_may_use_the_files_named_lists(config_dir: ConfigDir, tmp_path: Path) -> None:
    config_dir.write(lists={"bezos": 'Bezos OR "Amazon founder"'})
    harness = Harness(config_dir.path, tmp_path / "bot.db")
    reply = await harness.run("rules add founder lead:@bezos AND factories", slack)
    assert not reply.is_error, reply
    assert "founder" in rule_names(harness)
    effective = apply_overrides(harness.file_config(), harness.db)  # the chat edit, validated again
    specs = [RuleSpec(rule.name, rule.query) for rule in effective.rules if rule.name == "founder"]
    ruleset = RuleSet.compile(specs, effective.rule_lists)
    assert [m.rule for m in ruleset.match("The Amazon founder buys factories", "")] == ["founder"]
    reply = await harness.run("rules add broken @nobody AND factories", slack)
    assert reply.is_error and "a list defined beside the rules" in reply_text(reply)
