"""A platform that accepts a message but whose answer is lost must not get the message twice.

Real slack-sdk and discord.py clients talk to the fake platforms through a chaos proxy that
forwards the post and then drops the connection.
"""

from __future__ import annotations

from bot.core.model import Alert, Item
from bot.deliver.adapters.discord import DiscordAlertSender, set_discord_api_url
from bot.deliver.adapters.slack import SlackAlertSender, make_slack_client
from tests.fakes.chaos_proxy import ChaosProxy
from tests.fakes.discord_api import CHANNEL, FakeDiscord
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI


def alert(delivery_id: int = 7) -> Alert:
    item = Item(
        id="abcdef0123456789", feed_url="https://feed", title="Project Prometheus hires", source="Wire"
    )
    return Alert(delivery_id=delivery_id, item=item, rules=("prometheus",), terms=("Project Prometheus",))


async def test_slack_post_whose_answer_was_lost_is_found_in_history_not_posted_again():
    slack = await FakeSlackAPI(real_time_ts=True).start()
    proxy = await ChaosProxy(upstream=slack.base, rate=1.0, faults=("drop_after",), budget=1).start()
    try:
        sender = SlackAlertSender(make_slack_client(BOT_TOKEN, f"{proxy.url}/api/"))
        ts = await sender.send_alert("C1", alert())
    finally:
        await proxy.close()
        await slack.close()
    assert proxy.injected["drop_after"] == 1
    assert len(slack.messages) == 1  # posted once although the first answer never arrived
    assert slack.posted[ts] is slack.messages[0]
    assert slack.messages[0]["metadata"]["event_payload"]["delivery_key"] == "nb7-abcdef0123"


async def test_slack_find_sent_ignores_other_deliveries_and_older_messages():
    slack = await FakeSlackAPI(real_time_ts=True).start()
    try:
        sender = SlackAlertSender(make_slack_client(BOT_TOKEN, slack.api_url))
        first = await sender.send_alert("C1", alert(1))
        await sender.send_alert("C1", alert(2))
        assert await sender.find_sent("C1", "nb1-abcdef0123", 0) == first
        assert await sender.find_sent("C2", "nb1-abcdef0123", 0) is None
        assert await sender.find_sent("C1", "nb3-abcdef0123", 0) is None
        assert await sender.find_sent("C1", "nb1-abcdef0123", float(first) + 1) is None
    finally:
        await slack.close()


async def test_discord_repost_after_a_lost_answer_returns_the_first_message():
    discord = FakeDiscord(channels={CHANNEL})
    base = await discord.start()
    proxy = await ChaosProxy(
        upstream=base.removesuffix("/api/v10"), rate=1.0, faults=("drop_after",), budget=1
    ).start()
    set_discord_api_url(f"{proxy.url}/api/v10")
    sender = DiscordAlertSender(token="test-bot-token", retry_delay=0.05)
    try:
        await sender.start()
        message_id = await sender.send_alert(str(CHANNEL), alert())
    finally:
        await sender.close()
        set_discord_api_url(None)
        await proxy.close()
        await discord.close()
    assert proxy.injected["drop_after"] == 1
    assert [m.message_id for m in discord.messages] == [message_id]  # the retry carried the same nonce
    assert discord.messages[0].payload["nonce"] == "nb7-abcdef0123"


async def test_slack_thread_reply_whose_answer_was_lost_is_found_in_the_thread():
    from bot.core.model import ReportedCopy

    slack = await FakeSlackAPI(real_time_ts=True).start()
    try:
        direct = SlackAlertSender(make_slack_client(BOT_TOKEN, slack.api_url))
        parent_ts = await direct.send_alert("C1", alert(1))
        proxy = await ChaosProxy(upstream=slack.base, rate=1.0, faults=("drop_after",), budget=1).start()
        try:
            sender = SlackAlertSender(make_slack_client(BOT_TOKEN, f"{proxy.url}/api/"))
            copy = ReportedCopy(source="Reuters", title="Bezos venture buys parts maker", link="https://r/1")
            parent = Alert(delivery_id=1, item=alert(1).item, rules=(), terms=(), also_reported=(copy,))
            reply_ts = await sender.send_update("C1", parent_ts, parent, key="nb2-abcdef0123")
        finally:
            await proxy.close()
    finally:
        await slack.close()
    assert proxy.injected["drop_after"] == 1
    assert len(slack.replies(parent_ts)) == 1  # one reply although the first answer was lost
    assert slack.posted[reply_ts]["thread_ts"] == parent_ts
