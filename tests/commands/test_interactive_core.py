"""The interactive core (App Home, rule editor, alert buttons) over a real SQLite file and config:
rule previews, feedback counted once, mutes, the precision report, saves through the command core."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.commands.interactive import InteractiveCore
from bot.core.model import CommandRequest
from bot.core.routing import PlannedDelivery
from bot.core.rules.preview import PreviewAlert, PreviewItem, preview_rule
from bot.store import transaction
from bot.store.audit import recent_audit
from bot.store.outbox import enqueue
from bot.store.overrides import apply_overrides
from tests.commands.helpers import NOW, Harness, add_story, reply_text, slack
from tests.conftest import ConfigDir


@pytest.fixture
def harness(config_dir: ConfigDir, tmp_path: Path) -> Harness:
    config_dir.write(
        feeds=[{"url": "https://feeds.example/a.xml", "name": "Wire A"}],
        routes=[{"platform": "slack", "channel": "C1", "rules": ["prometheus"]}],
    )
    return Harness(config_dir.path, tmp_path / "bot.db")


def interactive(harness: Harness) -> InteractiveCore:
    return InteractiveCore(
        db=harness.db,
        commands=harness.core,
        config_provider=lambda: apply_overrides(harness.file_config(), harness.db),
        clock=lambda: NOW,
    )


def alert_for(
    harness: Harness, item_id: str, *, channel: str = "C1", rules: tuple[str, ...] = ("prometheus",)
) -> int:
    with transaction(harness.db):
        enqueue(harness.db, item_id, [PlannedDelivery("slack", channel, rules, ())], now=NOW - 600)
    row = harness.db.execute(
        "SELECT id FROM deliveries WHERE item_id = ? AND channel = ?", [item_id, channel]
    ).fetchone()
    return int(row[0])


def clicker(user: str = "U0READER", channel: str = "C1") -> CommandRequest:
    return CommandRequest(platform="slack", user_id=user, text="", channel_id=channel, user_name="rita")


def test_preview_of_a_broken_query_gives_the_position_and_a_caret() -> None:
    preview = preview_rule("fund", "Bezos AND (fund", enabled=True, items=[], alerts=[])
    assert not preview.ok
    assert preview.position == 15
    assert preview.pointer.splitlines()[1] == " " * 15 + "^"


def test_preview_counts_matches_and_names_the_alerts_only_this_rule_sent() -> None:
    items = [PreviewItem("a", "Bezos fund buys a factory"), PreviewItem("b", "Prometheus 3.0 released")]
    alerts = [
        PreviewAlert(1, PreviewItem("b", "Prometheus 3.0 released"), ("prometheus",)),
        PreviewAlert(
            2, PreviewItem("c", "Prometheus and Bezos"), ("prometheus", "bajaj")
        ),  # another rule too
        PreviewAlert(3, PreviewItem("d", "Project Prometheus hires"), ("prometheus",)),
    ]
    preview = preview_rule(
        "prometheus", '"Project Prometheus" OR Bezos', enabled=True, items=items, alerts=alerts
    )
    assert (preview.matched, preview.scanned) == (1, 2)
    assert [h.id for h in preview.headlines] == ["a"]
    assert [a.delivery_id for a in preview.would_stop] == [1]
    disabled = preview_rule("prometheus", '"Project Prometheus"', enabled=False, items=items, alerts=alerts)
    assert [a.delivery_id for a in disabled.would_stop] == [1, 3]


def test_not_relevant_counts_once_per_reader_and_keeps_who_when_and_which_rule(harness: Harness) -> None:
    core = interactive(harness)
    item = add_story(harness.db, "Prometheus 3.0 released", rules=("prometheus",))
    delivery = str(alert_for(harness, item))
    first = core.not_relevant(clicker(), delivery)
    second = core.not_relevant(clicker(), delivery)  # the double click
    other = core.not_relevant(clicker("U0OTHER"), delivery)
    assert (first.counted, second.counted, other.counted) == (True, False, True)
    rows = harness.db.execute(
        "SELECT item_id, rules, channel, user_id, at FROM feedback ORDER BY id"
    ).fetchall()
    assert rows == [
        (item, json.dumps(["prometheus"]), "C1", "U0READER", NOW),
        (item, json.dumps(["prometheus"]), "C1", "U0OTHER", NOW),
    ]


def test_a_button_payload_naming_another_channels_alert_is_refused(harness: Harness) -> None:
    core = interactive(harness)
    item = add_story(harness.db, "Prometheus 3.0 released", rules=("prometheus",))
    delivery = str(alert_for(harness, item, channel="C1"))
    assert not core.not_relevant(clicker(channel="C2"), delivery).counted
    assert not core.mute(clicker(channel="C2"), delivery).counted
    assert not core.not_relevant(clicker(), "99999").counted
    assert not core.not_relevant(clicker(), "1; DROP TABLE feedback").counted
    assert harness.db.execute("SELECT count(*) FROM feedback").fetchone()[0] == 0


def test_mute_is_recorded_once_per_story_and_channel(harness: Harness) -> None:
    core = interactive(harness)
    item = add_story(harness.db, "Project Prometheus buys a supplier", rules=("prometheus",))
    delivery = str(alert_for(harness, item))
    assert core.mute(clicker(), delivery).counted
    assert not core.mute(clicker("U0OTHER"), delivery).counted
    assert harness.db.execute("SELECT platform, channel, user_id FROM story_mutes").fetchall() == [
        ("slack", "C1", "U0READER")
    ]


async def test_precision_report_lists_each_rule_with_its_flagged_examples(harness: Harness) -> None:
    core = interactive(harness)
    good = add_story(harness.db, "Project Prometheus buys a supplier", rules=("prometheus",))
    bad = add_story(harness.db, "Prometheus 3.0 released", rules=("prometheus",))
    alert_for(harness, good)
    core.not_relevant(clicker(), str(alert_for(harness, bad)))
    reply = await harness.run("rules feedback", slack)
    assert not reply.is_error, reply
    entry = reply.entries[0]
    assert entry.title == "prometheus"
    assert "1/2 not flagged (50%)" in entry.meta
    assert "feedback:1 · Prometheus 3.0 released · U0READER" in entry.text
    home = core.home(slack("", "UADMIN"))
    assert [(p.rule, p.alerted, p.flagged) for p in home.precision] == [("prometheus", 2, 1)]
    assert core.home(slack("", "U0READER")).precision == ()  # readers do not see the report


async def test_a_modal_save_goes_through_the_command_core_and_is_audited(harness: Harness) -> None:
    core = interactive(harness)
    reply = await core.save_rule(
        slack("", "UADMIN"), name="fund", query='"manufacturing fund"', enabled=False, new=True
    )
    assert not reply.is_error, reply_text(reply)
    actions = [(row["action"], row["target"]) for row in recent_audit(harness.db, 5)]
    assert actions[:2] == [("rules.disable", "fund"), ("rules.add", "fund")]
    assert core.rule_form(slack("", "UADMIN"), "fund") is not None
    edit = await core.save_rule(
        slack("", "UADMIN"), name="fund", query="Bezos AND fund", enabled=False, new=False
    )
    assert not edit.is_error
    assert recent_audit(harness.db, 1)[0]["action"] == "rules.edit"


async def test_a_forged_save_from_a_non_admin_is_refused_and_recorded(harness: Harness) -> None:
    core = interactive(harness)
    assert core.rule_form(slack("", "U0READER"), "prometheus") is None
    assert core.preview(slack("", "U0READER"), "x", "Bezos") is None
    reply = await core.save_rule(slack("", "U0READER"), name="fund", query="Bezos", enabled=True, new=True)
    assert reply.is_error
    assert harness.core.names("rules") == ["prometheus", "bajaj"]
    row = recent_audit(harness.db, 1)[0]
    assert (row["action"], row["actor"]) == ("denied", "alice (U0READER)")


async def test_a_broken_query_from_the_editor_is_refused_with_its_position(harness: Harness) -> None:
    core = interactive(harness)
    reply = await core.save_rule(
        slack("", "UADMIN"), name="fund", query="Bezos AND (", enabled=True, new=True
    )
    assert reply.is_error
    assert "at position 11" in reply_text(reply)


def test_home_lists_failing_feeds_first_and_rule_counts_of_seven_days(
    harness: Harness, config_dir: ConfigDir
) -> None:
    config_dir.write(
        feeds=[
            {"url": "https://feeds.example/a.xml", "name": "A ok"},
            {"url": "https://feeds.example/b.xml", "name": "B broken"},
        ],
        routes=[{"platform": "slack", "channel": "C1", "rules": ["prometheus"]}],
    )
    with transaction(harness.db):
        for url, errors in (("https://feeds.example/a.xml", 0), ("https://feeds.example/b.xml", 3)):
            harness.db.execute(
                "INSERT INTO feeds (url, last_fetch_at, last_success_at, error_count, last_error) VALUES (?, ?, ?, ?, ?)",
                [url, NOW - 60, NOW - 60, errors, "HTTP 500" if errors else None],
            )
    add_story(harness.db, "Project Prometheus buys a supplier", rules=("prometheus",))
    add_story(harness.db, "Old Project Prometheus news", rules=("prometheus",), age=8 * 86400)
    home = interactive(harness).home(slack("", "U0READER"))
    assert [(f.name, f.state) for f in home.feeds] == [("B broken", "failing"), ("A ok", "healthy")]
    assert [(r.name, r.matched_7d, r.channels) for r in home.rules] == [
        ("prometheus", 1, ("C1",)),
        ("bajaj", 0, ()),
    ]
    assert home.stories[0].title == "Project Prometheus buys a supplier"
    assert not home.is_admin
