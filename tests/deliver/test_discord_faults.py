"""DiscordAlertSender when Discord's answer goes wrong after it took the post, through the real
discord.py client against the local fake Discord: garbled answers are retried, never lost, and
never posted twice where the bot can look (the nonce on channels; the channel's messages, read
with the bot token, for webhooks)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.core.model import Alert, Item
from bot.core.platform import delivery_key
from bot.deliver.adapters.discord import DiscordAlertSender, set_discord_api_url
from bot.errors import DeliveryError, UncheckableChannel
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.faults import GARBLES

CHANNEL = 123456789012345678
HOOK_CHANNEL = 223456789012345678
HOOK_ID = 987654321098765432
HOOK_TOKEN = "hook-secret-token-abcdefghijklmnop"
HOOK_URL = f"https://discord.com/api/webhooks/{HOOK_ID}/{HOOK_TOKEN}"


def make_alert(delivery_id: int = 7) -> Alert:
    item = Item(id="abcdef0123456789", feed_url="https://feed", title="Project Prometheus buys a plant")
    return Alert(delivery_id=delivery_id, item=item, rules=("prometheus",), terms=())


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord(
        channels={CHANNEL, HOOK_CHANNEL},
        webhooks={HOOK_ID: HOOK_TOKEN},
        webhook_channels={HOOK_ID: HOOK_CHANNEL},
    )
    set_discord_api_url(await server.start())
    yield server
    set_discord_api_url(None)
    await server.close()


@pytest.fixture
async def sender(fake: FakeDiscord) -> AsyncIterator[DiscordAlertSender]:
    s = DiscordAlertSender(token="test-bot-token", retry_delay=0.01)
    await s.start()
    yield s
    await s.close()


@pytest.fixture
async def webhook_only(fake: FakeDiscord) -> AsyncIterator[DiscordAlertSender]:
    s = DiscordAlertSender(token=None, retry_delay=0.01)
    await s.start()
    yield s
    await s.close()


def posts(fake: FakeDiscord, fragment: str) -> int:
    return sum(1 for method, path, _ in fake.requests if method == "POST" and fragment in path)


@pytest.mark.parametrize("garble", GARBLES)
async def test_a_channel_post_whose_answer_was_garbled_is_retried_and_posted_once(
    fake: FakeDiscord, sender: DiscordAlertSender, garble: str
) -> None:
    fake.garble_next(garble)  # Discord took the post; the answer went wrong
    message_id = await sender.send_alert(str(CHANNEL), make_alert())
    assert [m.message_id for m in fake.posted_to(CHANNEL)] == [message_id]
    assert posts(fake, "/messages") == 2  # the repeat carried the nonce: Discord returned the first


@pytest.mark.parametrize("garble", GARBLES)
async def test_a_webhook_post_whose_answer_was_garbled_is_found_in_its_channel_not_posted_again(
    fake: FakeDiscord, sender: DiscordAlertSender, garble: str
) -> None:
    fake.garble_next(garble)
    message_id = await sender.send_alert(HOOK_URL, make_alert())
    assert [m.message_id for m in fake.posted_to(HOOK_CHANNEL)] == [message_id]
    assert posts(fake, "/webhooks/") == 1  # looked (GET webhook, GET messages) instead of posting again


async def test_a_webhook_post_that_did_not_land_is_posted_again_after_looking(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    fake.garble_next("reset", accept=False)  # the connection died before Discord took it
    message_id = await sender.send_alert(HOOK_URL, make_alert())
    assert [m.message_id for m in fake.posted_to(HOOK_CHANNEL)] == [message_id]
    assert posts(fake, "/webhooks/") == 2


async def test_without_a_bot_token_a_garbled_webhook_answer_goes_back_to_the_outbox_unrepeated(
    fake: FakeDiscord, webhook_only: DiscordAlertSender
) -> None:
    fake.garble_next("wrong_content_type")
    with pytest.raises(DeliveryError) as caught:
        await webhook_only.send_alert(HOOK_URL, make_alert())
    assert (caught.value.retryable, caught.value.ambiguous) == (True, True)
    assert caught.value.code == "unreadable_answer" and HOOK_TOKEN not in str(caught.value)
    assert len(fake.posted_to(HOOK_CHANNEL)) == 1 and posts(fake, "/webhooks/") == 1


async def test_discord_py_does_not_repeat_a_webhook_post_after_a_5xx(
    fake: FakeDiscord, webhook_only: DiscordAlertSender
) -> None:
    fake.garble_next("html_502")  # taken, then a proxy's error page
    with pytest.raises(DeliveryError) as caught:
        await webhook_only.send_alert(HOOK_URL, make_alert())
    assert (caught.value.code, caught.value.ambiguous) == ("http_502", True)
    assert posts(fake, "/webhooks/") == 1 and len(fake.posted_to(HOOK_CHANNEL)) == 1


async def test_a_4xx_without_a_discord_error_code_is_retried_not_taken_as_a_refusal(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    fake.fail_next(403, code=0, message="<html>Access denied</html>")  # a proxy, not Discord
    message_id = await sender.send_alert(str(CHANNEL), make_alert())
    assert [m.message_id for m in fake.posted_to(CHANNEL)] == [message_id]


async def test_every_alert_footer_ends_with_its_delivery_key(
    fake: FakeDiscord, webhook_only: DiscordAlertSender
) -> None:
    await webhook_only.send_alert(HOOK_URL, make_alert())
    [message] = fake.posted_to(HOOK_CHANNEL)
    assert message.payload["embeds"][0]["footer"]["text"] == "Matched: prometheus · nb7-abcdef0123"


async def test_find_sent_reads_a_webhooks_channel_and_ignores_other_keys_and_older_posts(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    first = await sender.send_alert(HOOK_URL, make_alert(1))
    await sender.send_alert(HOOK_URL, make_alert(2))
    key = delivery_key(make_alert(1))
    assert await sender.find_sent(HOOK_URL, key, 0) == first
    assert await sender.find_sent(HOOK_URL, "nb3-abcdef0123", 0) is None
    assert await sender.find_sent(HOOK_URL, key, 4_000_000_000) is None  # only posts after `since`
    assert await sender.find_sent(str(CHANNEL), key, 0) is None  # another channel


async def test_find_sent_finds_a_channel_post(fake: FakeDiscord, sender: DiscordAlertSender) -> None:
    message_id = await sender.send_alert(str(CHANNEL), make_alert())
    assert await sender.find_sent(str(CHANNEL), delivery_key(make_alert()), 0) == message_id


async def test_a_webhook_channel_the_bot_cannot_read_is_uncheckable(
    fake: FakeDiscord, sender: DiscordAlertSender, webhook_only: DiscordAlertSender
) -> None:
    with pytest.raises(UncheckableChannel):
        await webhook_only.find_sent(HOOK_URL, "nb7-abcdef0123", 0)  # no bot token
    fake.unreadable.add(HOOK_CHANNEL)
    with pytest.raises(UncheckableChannel) as caught:
        await sender.find_sent(HOOK_URL, "nb7-abcdef0123", 0)
    assert "50001" in str(caught.value) or "missing access" in str(caught.value)
    gone = f"https://discord.com/api/webhooks/{HOOK_ID}/wrong-token-zzzzzzzzzzzzzzzz"
    with pytest.raises(UncheckableChannel) as caught:
        await sender.find_sent(gone, "nb7-abcdef0123", 0)
    assert "wrong-token" not in str(caught.value)


async def test_without_read_message_history_nothing_is_found_so_the_alert_would_be_sent_again(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    await sender.send_alert(HOOK_URL, make_alert())
    fake.no_history.add(HOOK_CHANNEL)  # Discord lists no messages to such a bot
    assert await sender.find_sent(HOOK_URL, delivery_key(make_alert()), 0) is None


async def test_a_garbled_history_answer_means_not_now_rather_than_not_found(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    await sender.send_alert(str(CHANNEL), make_alert())
    fake.garble_next("truncated_json", method="GET")
    fake.fail_next(503, method="GET")
    for _ in range(2):
        with pytest.raises(DeliveryError) as caught:
            await sender.find_sent(str(CHANNEL), delivery_key(make_alert()), 0)
        assert caught.value.retryable and not isinstance(caught.value, UncheckableChannel)
    assert await sender.find_sent(str(CHANNEL), delivery_key(make_alert()), 0) is not None
