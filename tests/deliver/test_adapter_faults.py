"""Adapter faults never lose an alert: the whole delivery path (the SQLite outbox, the dispatcher,
recovery and the real Slack and Discord adapters and clients) against the local fake platforms,
which take a post and then answer it badly: the wrong content type, an empty body, an HTML 502
page, truncated JSON, or a TCP reset.

Every alert ends up delivered exactly once where the bot can look (Slack; a Discord channel; a
Discord webhook whose channel the bot token can read), and at least once where it cannot (a
webhook without a bot token; the console after a kill mid-send). A channel the platform refuses
for good stops its retries, raises one admin notice and shows in `status`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest

from bot.core.platform import AlertSender
from bot.deliver.adapters.console import ConsoleAlertSender
from bot.deliver.adapters.discord import DiscordAlertSender, set_discord_api_url
from bot.deliver.adapters.slack import SlackAlertSender, make_slack_client
from bot.deliver.dispatch import Dispatcher
from bot.ops.notices import check_notices
from bot.store import transaction
from tests.conftest import TestClock
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.faults import GARBLES
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

SLACK_CHANNEL = "C0ALERTS"
CHANNEL = 123456789012345678
HOOK_CHANNEL = 223456789012345678
HOOK_ID = 987654321098765432
HOOK_TOKEN = "hook-secret-token-abcdefghijklmnop"
HOOK_URL = f"https://discord.com/api/webhooks/{HOOK_ID}/{HOOK_TOKEN}"
ALERTS = 3
ADMIN = {"admin_channel": {"platform": "console", "channel": "ops"}}


@dataclass
class Platforms:
    slack: FakeSlackAPI
    discord: FakeDiscord


@pytest.fixture
async def platforms() -> AsyncIterator[Platforms]:
    slack = await FakeSlackAPI(real_time_ts=True).start()
    discord = FakeDiscord(
        channels={CHANNEL, HOOK_CHANNEL},
        webhooks={HOOK_ID: HOOK_TOKEN},
        webhook_channels={HOOK_ID: HOOK_CHANNEL},
    )
    set_discord_api_url(await discord.start())
    yield Platforms(slack, discord)
    set_discord_api_url(None)
    await discord.close()
    await slack.close()


@pytest.fixture
async def discord_senders() -> AsyncIterator[Callable[[str | None], DiscordAlertSender]]:
    """Makes Discord senders (with a bot token, or None), closed after the test."""
    made: list[DiscordAlertSender] = []

    def make(token: str | None) -> DiscordAlertSender:
        made.append(DiscordAlertSender(token=token, retry_delay=0.01))
        return made[-1]

    yield make
    for sender in made:
        await sender.close()


def queue(db, platform: str, channel: str, *, count: int = ALERTS, at: float) -> None:  # type: ignore[no-untyped-def]
    with transaction(db):
        for n in range(1, count + 1):
            item_id = f"{channel[-6:]}item{n:04d}"
            db.execute(
                "INSERT INTO items (id, feed_url, title, source, seen_at, last_seen_at) VALUES (?,?,?,?,?,?)",
                [item_id, "https://feed", f"Story {n}", "Wire", at, at],
            )
            db.execute(
                "INSERT INTO deliveries (item_id, platform, channel, rules, terms, next_attempt_at, created_at)"
                " VALUES (?, ?, ?, ?, '[]', ?, ?)",
                [item_id, platform, channel, json.dumps(["prometheus"]), at, at + n],
            )


async def deliver_all(db, senders: dict[str, AlertSender], clock: TestClock, rounds: int = 8) -> None:  # type: ignore[no-untyped-def]
    """Dispatch rounds, skipping each backoff on the clock, until nothing waits."""
    dispatcher = Dispatcher(db, senders, clock=clock, pace={})
    for _ in range(rounds):
        await dispatcher.run_once()
        waiting = db.execute("SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')")
        if waiting.fetchone()[0] == 0:
            return
        clock.advance(120)  # past the first backoffs (15 s, 30 s, 60 s)
    raise AssertionError("alerts still waiting after every round")


def slack_copies(slack: FakeSlackAPI) -> Counter[str]:
    return Counter(str(message.get("text", "")).split(" — ")[0] for message in slack.messages)


def discord_copies(discord: FakeDiscord, channel_id: int) -> Counter[str]:
    return Counter(message.payload["embeds"][0]["title"] for message in discord.posted_to(channel_id))


EVERY_ALERT_ONCE = Counter({f"Story {n}": 1 for n in range(1, ALERTS + 1)})


def assert_recorded_as_sent(db, message_refs: set[str]) -> None:  # type: ignore[no-untyped-def]
    """The outbox agrees: every row sent, each with the reference of a message that is there."""
    rows = db.execute("SELECT status, message_ref FROM deliveries").fetchall()
    assert [status for status, _ in rows] == ["sent"] * len(rows)
    assert {ref for _, ref in rows} <= message_refs and len({ref for _, ref in rows}) == len(rows)


def assert_at_least_once(copies: Counter[str], garbled: str = "Story 1") -> None:
    """Each alert arrived; only the one whose answer went wrong may have arrived twice."""
    assert set(copies) == set(EVERY_ALERT_ONCE)
    assert copies[garbled] in (1, 2) and all(copies[t] == 1 for t in copies if t != garbled)


@pytest.mark.parametrize("garble", GARBLES)
async def test_slack_every_alert_once_whatever_the_answer(garble, platforms, config_dir, make_bot) -> None:  # type: ignore[no-untyped-def]
    bot = make_bot(config_dir.write())
    clock = TestClock(time.time())
    queue(bot.db, "slack", SLACK_CHANNEL, at=clock.now)
    platforms.slack.fail_next("chat.postMessage", garble=garble, accept=True)
    senders = {"slack": SlackAlertSender(make_slack_client(BOT_TOKEN, platforms.slack.api_url))}
    await deliver_all(bot.db, senders, clock)  # type: ignore[arg-type]
    assert slack_copies(platforms.slack) == EVERY_ALERT_ONCE
    assert_recorded_as_sent(bot.db, set(platforms.slack.posted))


@pytest.mark.parametrize("garble", GARBLES)
@pytest.mark.parametrize(("route", "shown_in"), [(str(CHANNEL), CHANNEL), (HOOK_URL, HOOK_CHANNEL)])
async def test_discord_every_alert_once_where_the_bot_can_look(  # type: ignore[no-untyped-def]
    garble, route, shown_in, platforms, discord_senders, config_dir, make_bot
) -> None:
    bot = make_bot(config_dir.write())
    clock = TestClock(time.time())
    queue(bot.db, "discord", route, at=clock.now)
    platforms.discord.garble_next(garble)
    sender = discord_senders("test-bot-token")
    await sender.start()
    await deliver_all(bot.db, {"discord": sender}, clock)
    assert discord_copies(platforms.discord, shown_in) == EVERY_ALERT_ONCE
    assert_recorded_as_sent(bot.db, {m.message_id for m in platforms.discord.posted_to(shown_in)})


@pytest.mark.parametrize("garble", GARBLES)
async def test_discord_webhook_without_a_bot_token_every_alert_at_least_once(  # type: ignore[no-untyped-def]
    garble, platforms, discord_senders, config_dir, make_bot
) -> None:
    bot = make_bot(config_dir.write())
    clock = TestClock(time.time())
    queue(bot.db, "discord", HOOK_URL, at=clock.now)
    platforms.discord.garble_next(garble)
    sender = discord_senders(None)
    await sender.start()
    await deliver_all(bot.db, {"discord": sender}, clock)
    copies = discord_copies(platforms.discord, HOOK_CHANNEL)
    assert_at_least_once(copies)
    assert copies["Story 1"] == 2  # the fake took the first post: nobody could look, so sent again
    assert_recorded_as_sent(bot.db, {m.message_id for m in platforms.discord.posted_to(HOOK_CHANNEL)})


async def test_discord_webhook_whose_channel_the_bot_cannot_read_every_alert_at_least_once(  # type: ignore[no-untyped-def]
    platforms, discord_senders, config_dir, make_bot
) -> None:
    bot = make_bot(config_dir.write())
    clock = TestClock(time.time())
    queue(bot.db, "discord", HOOK_URL, at=clock.now)
    platforms.discord.unreadable.add(HOOK_CHANNEL)
    platforms.discord.garble_next("truncated_json")
    sender = discord_senders("test-bot-token")
    await sender.start()
    await deliver_all(bot.db, {"discord": sender}, clock)
    assert_at_least_once(discord_copies(platforms.discord, HOOK_CHANNEL))
    assert_recorded_as_sent(bot.db, {m.message_id for m in platforms.discord.posted_to(HOOK_CHANNEL)})


async def test_console_alert_printed_then_killed_mid_send_is_printed_again(config_dir, make_bot) -> None:  # type: ignore[no-untyped-def]
    bot = make_bot(config_dir.write())
    clock = TestClock(time.time())
    queue(bot.db, "console", "stdout", at=clock.now)
    console = bot.senders["console"]
    first = bot.db.execute("SELECT min(id) FROM deliveries").fetchone()[0]
    with transaction(bot.db):  # the process printed Story 1, then died before marking it sent
        bot.db.execute(
            "UPDATE deliveries SET status = 'sending', claimed_at = ? WHERE id = ?", [clock.now, first]
        )
    print("Story 1 (printed before the kill)", file=bot.console_output)
    await deliver_all(bot.db, {"console": console}, clock)
    printed = bot.console_output.getvalue()
    assert printed.count("Story 1") == 2 and printed.count("Story 2") == printed.count("Story 3") == 1
    assert isinstance(console, ConsoleAlertSender)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("platform", "channel", "refusal"),
    [("slack", "C0GONE", "channel_not_found"), ("discord", "555555555555555555", "10003")],
)
async def test_a_refused_channel_stops_retrying_raises_one_notice_and_shows_in_status(  # type: ignore[no-untyped-def]
    platform, channel, refusal, platforms, discord_senders, config_dir, make_bot, tmp_path
) -> None:
    bot = make_bot(config_dir.write(settings=ADMIN))
    clock = TestClock(time.time())
    queue(bot.db, platform, channel, count=2, at=clock.now)
    if platform == "slack":
        platforms.slack.fail_next("chat.postMessage", error="channel_not_found", times=2)
        sender: AlertSender = SlackAlertSender(make_slack_client(BOT_TOKEN, platforms.slack.api_url))
    else:  # the fake Discord does not know this channel: 404 Unknown Channel (10003)
        sender = discord_senders("test-bot-token")
        await sender.start()  # type: ignore[attr-defined]
    await deliver_all(bot.db, {platform: sender}, clock)
    for _ in range(3):  # later rounds try nothing again
        clock.advance(3600)
        await Dispatcher(bot.db, {platform: sender}, clock=clock, pace={}).run_once()
    posts = (
        platforms.slack.calls["chat.postMessage"]
        if platform == "slack"
        else sum(1 for method, path, _ in platforms.discord.requests if method == "POST")
    )
    assert posts == 2  # one try per alert, no retries
    statuses = bot.db.execute("SELECT status, last_error FROM deliveries").fetchall()
    assert all(status == "failed" and refusal in error for status, error in statuses)

    for _ in range(3):  # the notice check runs every ten minutes
        await check_notices(bot.db, bot.config.effective(), {**bot.senders, platform: sender}, clock)
        clock.advance(600)
    notices = [line for line in bot.console_output.getvalue().splitlines() if line.startswith("[notice]")]
    assert len(notices) == 1
    assert f"channel {channel} refuses alerts, so they are not retried: {refusal}" in notices[0]

    status = await run_status(config_dir, tmp_path / "bot.db")
    assert f"delivery problem: {platform} {channel}: 2 failed, 0 retrying; last error: {refusal}" in status


async def run_status(config_dir, db_path) -> str:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(BOT_CONFIG=str(config_dir.path), BOT_DB=str(db_path))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "status", env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    return out.decode()
