"""Undoing a wrong grouping, end to end: two outlets' reports grouped into one story by the real poll
cycle (local feed server -> SQLite), then `story show` and `story split` through the real command
core; the split-out report is queued as its own alert and posted by the real dispatcher and
slack-sdk client to the fake Slack."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from bot.app import Bot
from bot.commands import CommandCore
from bot.commands.help import help_reply
from bot.core.model import CommandRequest, Item
from bot.deliver.adapters.slack import SlackAlertSender, make_slack_client
from bot.deliver.dispatch import Dispatcher
from bot.poll.feed_check import make_feed_validator
from bot.store.audit import recent_audit
from bot.store.stories import find_story
from tests.commands.helpers import reply_text
from tests.conftest import TestClock
from tests.deliver.test_slack_parent_edit import parent_line
from tests.fakes.feed_server import rss
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI
from tests.poll.test_story_pipeline import BLOOMBERG, REUTERS, RULES, dated
from tests.test_cli import bot_env, run_bot

CHANNEL = "C0NEWS"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackAPI]:
    server = await FakeSlackAPI().start()
    yield server
    await server.close()


def two_feeds_bot(feed_server, config_dir, make_bot, clock: TestClock, routes) -> Bot:  # type: ignore[no-untyped-def]
    """A bot over two empty feeds (the tests fill them) routed as `routes` says."""
    first, second = feed_server.serve("/a.xml", rss([])), feed_server.serve("/b.xml", rss([]))
    config_dir.write(feeds=[{"url": first}, {"url": second}], rules=RULES, routes=routes)
    return make_bot(config_dir, clock=clock)  # type: ignore[no-any-return]


async def poll(bot: Bot, clock: TestClock) -> None:
    clock.advance(600)
    await bot.pipeline.run_cycle()


def item_id(bot: Bot, guid: str) -> str:
    return str(bot.db.execute("SELECT id FROM items WHERE guid LIKE ?", [f"%{guid}"]).fetchone()[0])


def core_for(bot: Bot, clock: TestClock) -> CommandCore:
    return CommandCore(
        db=bot.db,
        config_provider=bot.config.file_config,
        validate_feed=make_feed_validator(bot.config.file_config, bot.http),
        clock=clock,
        reachable=bot.can_deliver,
    )


def on_slack(text: str, user: str = "UADMIN") -> CommandRequest:
    return CommandRequest(platform="slack", user_id=user, user_name="alice", text=text, channel_id="C1")


def rows(bot: Bot) -> list[tuple[str, str, str, str]]:
    return [
        tuple(row)  # type: ignore[misc]
        for row in bot.db.execute(
            "SELECT i.guid, d.channel, d.kind, d.status FROM deliveries d JOIN items i ON i.id = d.item_id"
            " ORDER BY d.id"
        )
    ]


async def test_a_split_report_becomes_its_own_story_and_is_posted_as_an_alert(
    feed_server, config_dir, make_bot, slack: FakeSlackAPI
):  # type: ignore[no-untyped-def]
    clock = TestClock(time.time())
    bot = two_feeds_bot(
        feed_server,
        config_dir,
        make_bot,
        clock,
        [{"platform": "slack", "channel": CHANNEL, "rules": ["all"]}],
    )
    bot.senders["slack"] = SlackAlertSender(make_slack_client(BOT_TOKEN, slack.api_url))
    dispatcher = Dispatcher(bot.db, bot.senders, clock=clock, pace={})
    await poll(bot, clock)  # first fetch of each feed: nothing to post
    feed_server.serve("/a.xml", rss([dated(BLOOMBERG)]))
    await poll(bot, clock)
    feed_server.serve("/b.xml", rss([dated(REUTERS, 0.2)]))
    await poll(bot, clock)
    await dispatcher.run_once()
    bloomberg, reuters = item_id(bot, "bloomberg-1"), item_id(bot, "reuters-1")
    [alert_ts] = [ts for ts, body in slack.posted.items() if not body.get("thread_ts")]
    assert [kind for _, _, kind, _ in rows(bot)] == ["alert", "update"] and len(slack.replies(alert_ts)) == 1
    core = core_for(bot, clock)

    shown = await core.handle(on_slack(f"story show {REUTERS['link']}"))
    assert not shown.is_error, reply_text(shown)
    assert [entry.meta.split(" · ")[0] for entry in shown.entries] == [
        f"id {bloomberg[:12]}",
        f"id {reuters[:12]}",
    ]
    assert shown.entries[0].meta.endswith("first report") and "story split <id>" in reply_text(shown)

    for_anyone = await core.handle(on_slack(f"story show {bloomberg}", user="UINTRUDER"))
    assert len(for_anyone.entries) == 2 and "story split" not in reply_text(for_anyone)

    refused = await core.handle(on_slack(f"story split {reuters}", user="UINTRUDER"))
    assert refused.is_error and refused.title == "Only admins can use story split."
    assert recent_audit(bot.db, 1)[0]["action"] == "denied"
    assert [kind for _, _, kind, _ in rows(bot)] == ["alert", "update"]

    split = await core.handle(on_slack(f"story split {reuters[:12]}"))
    assert not split.is_error, reply_text(split)
    assert "Queued as an alert for 1 channel." in split.lines
    audit = recent_audit(bot.db, 1)[0]
    assert (audit["action"], audit["actor"], audit["target"]) == ("story.split", "alice (UADMIN)", reuters)
    assert f'"story": "{bloomberg}"' in audit["before"] and audit["at"] == clock.now
    assert bot.db.execute("SELECT story_id FROM items WHERE id = ?", [reuters]).fetchone()[0] == reuters
    assert rows(bot)[-1][1:] == (CHANNEL, "alert", "pending")

    await dispatcher.run_once()

    [_, new_alert] = slack.top_level()
    assert new_alert["channel"] == CHANNEL and "thread_ts" not in new_alert
    assert "Jeff Bezos AI venture agrees deal" in new_alert["text"]
    assert rows(bot)[-1][3] == "sent"
    assert len(slack.replies(alert_ts)) == 1  # the old thread is left as it was

    # The old story's next update lists its copies without the split-out report.
    bot.db.execute(
        "INSERT INTO items (id, feed_url, title, source, seen_at, last_seen_at, story_id)"
        " VALUES ('ft-copy', 'https://ft', 'Prometheus buys a parts maker', 'Financial Times', ?, ?, ?)",
        [clock.now, clock.now, bloomberg],
    )
    bot.db.execute(
        "INSERT INTO deliveries (item_id, platform, channel, next_attempt_at, created_at, kind, parent_id)"
        " SELECT 'ft-copy', 'slack', channel, ?, ?, 'update', id FROM deliveries WHERE item_id = ?",
        [clock.now, clock.now, bloomberg],
    )
    await dispatcher.run_once()
    assert parent_line(slack.posted[alert_ts]) == "Also reported by Financial Times"

    again = await core.handle(on_slack(f"story split {reuters}"))
    assert again.title == "Nothing to split" and recent_audit(bot.db, 1)[0]["id"] == audit["id"]

    # A later copy of the split-out report joins it, not the story it was wrongly grouped with.
    copy = Item(
        id="later-copy", feed_url="https://feed", title=REUTERS["title"].removesuffix(" - Reuters"),
        summary=REUTERS["description"], source="AP",
    )  # fmt: skip
    assert find_story(bot.db, copy, clock.now) == reuters


async def test_an_update_not_sent_yet_is_dropped_by_the_split(feed_server, config_dir, make_bot):  # type: ignore[no-untyped-def]
    clock = TestClock(time.time())
    bot = two_feeds_bot(
        feed_server,
        config_dir,
        make_bot,
        clock,
        [{"platform": "console", "channel": "news", "rules": ["all"]}],
    )
    await poll(bot, clock)
    feed_server.serve("/a.xml", rss([dated(BLOOMBERG)]))
    await poll(bot, clock)
    feed_server.serve("/b.xml", rss([dated(REUTERS, 0.2)]))
    await poll(bot, clock)  # nothing dispatched yet: the update waits for its alert

    split = await core_for(bot, clock).handle(on_slack(f"story split {REUTERS['link']}"))

    assert '1 "also reported by" message(s) about it not sent yet were dropped.' in split.lines
    await Dispatcher(bot.db, bot.senders, clock=clock, pace={}).run_once()
    output = bot.console_output.getvalue()  # type: ignore[attr-defined]
    assert "[also reported]" not in output
    assert output.count("Jeff Bezos AI venture agrees deal") == 1 and output.count("Bezos's Project") == 1


async def test_the_first_report_and_unknown_reports_are_refused_clearly(feed_server, config_dir, make_bot):  # type: ignore[no-untyped-def]
    clock = TestClock(time.time())
    bot = two_feeds_bot(
        feed_server,
        config_dir,
        make_bot,
        clock,
        [{"platform": "console", "channel": "news", "rules": ["all"]}],
    )
    await poll(bot, clock)
    feed_server.serve("/a.xml", rss([dated(BLOOMBERG)]))
    await poll(bot, clock)
    core = core_for(bot, clock)
    before = rows(bot)

    first = await core.handle(on_slack(f"story split {BLOOMBERG['link']}"))
    unknown = await core.handle(on_slack("story split https://example.com/never-seen"))
    bare = await core.handle(on_slack("story"))

    assert first.title == "Nothing to split" and "first report" in reply_text(first)
    assert unknown.is_error and "No stored report has the id or link" in reply_text(unknown)
    assert bare.is_error and "Usage: /news story show" in reply_text(bare)
    assert rows(bot) == before and recent_audit(bot.db) == []


@pytest.mark.slow
async def test_the_operator_splits_from_the_command_line(feed_server, config_dir, make_bot, tmp_path):  # type: ignore[no-untyped-def]
    clock = TestClock(time.time())
    bot = two_feeds_bot(
        feed_server,
        config_dir,
        make_bot,
        clock,
        [{"platform": "console", "channel": "news", "rules": ["all"]}],
    )
    await poll(bot, clock)
    feed_server.serve("/a.xml", rss([dated(BLOOMBERG)]))
    await poll(bot, clock)
    feed_server.serve("/b.xml", rss([dated(REUTERS, 0.2)]))
    await poll(bot, clock)
    reuters = item_id(bot, "reuters-1")
    env = bot_env(config_dir, tmp_path / "bot.db")  # the database make_bot uses

    code, out, err = await run_bot("cmd", "story", "split", reuters, env=env)

    assert code == 0, err
    assert "Split out: Jeff Bezos AI venture" in out and "Queued as an alert for 1 channel." in out
    assert rows(bot)[-1][1:3] == ("news", "alert")
    assert recent_audit(bot.db, 1)[0]["actor"] == "operator (operator)"


def test_help_lists_story_show_for_everyone_and_story_split_for_admins() -> None:
    def titles(show_admin: bool) -> list[str]:
        return [entry.title for entry in help_reply("news", "story", show_admin=show_admin).entries]

    assert titles(True) == ["/news story show <report id or link>", "/news story split <report id or link>"]
    assert titles(False) == ["/news story show <report id or link>"]


def test_the_command_line_queues_for_the_channels_its_environment_can_post_to() -> None:
    from pathlib import Path

    from bot.app import Environment

    env = Environment(config_dir=Path("config"), db_path=Path("bot.db"), slack_bot_token="xoxb-1")
    assert env.can_reach("console", "stdout") and env.can_reach("slack", "C1")
    assert env.can_reach("discord", "https://discord.com/api/webhooks/1/token")  # carries its own secret
    assert not env.can_reach("discord", "123456789012345678")  # a channel id needs the bot token
