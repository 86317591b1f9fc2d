"""DiscordAlertSender through the real discord.py HTTP client against the local fake Discord."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from discord.http import Route

from bot.core.model import Alert, Item
from bot.deliver.adapters.discord import DiscordAlertSender, parse_webhook_url, set_discord_api_url
from bot.errors import DeliveryError
from tests.fakes.discord_api import FakeDiscord

CHANNEL = 123456789012345678
HOOK_ID = 987654321098765432
HOOK_TOKEN = "hook-secret-token-abcdefghijklmnop"
HOOK_URL = f"https://discord.com/api/webhooks/{HOOK_ID}/{HOOK_TOKEN}"


def make_alert(**item_fields: object) -> Alert:
    fields: dict[str, object] = {
        "id": "i1",
        "feed_url": "https://feeds.example/rss",
        "title": "Bezos's Project Prometheus buys a robotics maker",
        "link": "https://news.example/prometheus",
        "summary": "Project Prometheus, co-led by Vik Bajaj, agreed to buy the firm. More later.",
        "published": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "source": "Reuters",
    }
    fields.update(item_fields)
    item = Item(**fields)  # type: ignore[arg-type]
    return Alert(delivery_id=1, item=item, rules=("prometheus",), terms=("Project Prometheus", "Bajaj"))


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord(channels={CHANNEL}, webhooks={HOOK_ID: HOOK_TOKEN})
    set_discord_api_url(await server.start())
    yield server
    set_discord_api_url(None)
    await server.close()


@pytest.fixture
async def sender(fake: FakeDiscord) -> AsyncIterator[DiscordAlertSender]:
    s = DiscordAlertSender(token="test-bot-token", rule_colors={"prometheus": 0xFF8800}, retry_delay=0.01)
    await s.start()
    yield s
    await s.close()


def posts(fake: FakeDiscord, fragment: str) -> int:
    return sum(1 for method, path, _ in fake.requests if method == "POST" and fragment in path)


async def test_alert_is_posted_as_embed_and_discord_message_id_is_returned(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    message_id = await sender.send_alert(str(CHANNEL), make_alert())

    [recorded] = fake.of_kind("channel")
    assert message_id == recorded.message_id
    [embed] = recorded.payload["embeds"]
    assert embed["title"] == "Bezos's Project Prometheus buys a robotics maker"
    assert embed["url"] == "https://news.example/prometheus"
    assert embed["color"] == 0xFF8800
    assert embed["author"]["name"] == "Reuters"
    assert embed["timestamp"].startswith("2026-01-02T03:04:05")
    assert "**Project Prometheus**, co-led by Vik **Bajaj**" in embed["description"]
    assert recorded.payload["allowed_mentions"] == {"parse": []}


async def test_feed_text_cannot_mention_anyone(fake: FakeDiscord, sender: DiscordAlertSender) -> None:
    alert = make_alert(
        title="@everyone look <@123>",
        summary="@here hello <@&456> and <@!789> [click me](https://evil.example)",
        source="<@&456> Wire",
    )
    await sender.send_alert(str(CHANNEL), alert)

    payload = fake.of_kind("channel")[0].payload
    assert payload["allowed_mentions"] == {"parse": []}
    text = " ".join([payload.get("content") or "", str(payload["embeds"])])
    for raw in ("@everyone", "@here", "<@123>", "<@&456>", "<@!789>", "[click me](https"):
        assert raw not in text
    assert "@\u200beveryone" in payload["embeds"][0]["title"]


async def test_webhook_url_posts_through_the_fake_and_returns_message_id(fake: FakeDiscord) -> None:
    sender = DiscordAlertSender(token=None)
    await sender.start()
    try:
        message_id = await sender.send_alert(HOOK_URL, make_alert())
    finally:
        await sender.close()

    [recorded] = fake.of_kind("webhook")
    assert recorded.target == str(HOOK_ID)
    assert message_id == recorded.message_id
    assert recorded.payload["allowed_mentions"] == {"parse": []}
    assert recorded.payload["embeds"][0]["title"].startswith("Bezos")


async def test_very_long_feed_text_is_cut_to_discord_limits_and_accepted(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    sentence = "Project Prometheus plans a fund of about $100 billion to buy manufacturers. "
    alert = make_alert(title="Prometheus " * 200, summary=sentence * 900, source="S" * 3000)

    await sender.send_alert(str(CHANNEL), alert)  # the fake answers 50035 past any limit

    embed = fake.of_kind("channel")[0].payload["embeds"][0]
    assert len(embed["description"]) <= 4096
    assert embed["description"].endswith("manufacturers…")
    assert len(embed["title"]) <= 256
    assert embed["title"].endswith("…")


async def test_429_with_via_header_is_waited_out_by_discord_py(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    fake.fail_next(429, retry_after=0.05, via=True)
    message_id = await sender.send_alert(str(CHANNEL), make_alert())
    assert posts(fake, "/messages") == 2
    assert message_id == fake.of_kind("channel")[0].message_id


async def test_429_without_via_header_is_retried_by_the_adapter(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    fake.fail_next(429, retry_after=0.05, via=False)
    await sender.send_alert(str(CHANNEL), make_alert())
    assert posts(fake, "/messages") == 2
    assert len(fake.of_kind("channel")) == 1


@pytest.mark.parametrize("via", [True, False])
async def test_long_rate_limit_is_returned_as_retryable_error_with_retry_after(
    fake: FakeDiscord, sender: DiscordAlertSender, via: bool
) -> None:
    fake.fail_next(429, retry_after=60.0, via=via)
    with pytest.raises(DeliveryError) as caught:
        await sender.send_alert(str(CHANNEL), make_alert())
    assert caught.value.retryable
    assert caught.value.retry_after == pytest.approx(60.0)
    assert posts(fake, "/messages") == 1
    assert fake.messages == []


async def test_503_is_retried_then_succeeds(fake: FakeDiscord, sender: DiscordAlertSender) -> None:
    fake.fail_next(503, times=2)
    await sender.send_alert(str(CHANNEL), make_alert())
    assert posts(fake, "/messages") == 3
    assert len(fake.of_kind("channel")) == 1


async def test_persistent_503_gives_retryable_error_after_bounded_attempts(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    fake.fail_next(503, times=10)
    with pytest.raises(DeliveryError) as caught:
        await sender.send_alert(str(CHANNEL), make_alert())
    assert caught.value.retryable
    assert posts(fake, "/messages") == 3
    assert fake.messages == []


async def test_500_once_is_retried_inside_discord_py(fake: FakeDiscord, sender: DiscordAlertSender) -> None:
    fake.fail_next(500)  # discord.py sleeps 1 s before its own retry
    await sender.send_alert(str(CHANNEL), make_alert())
    assert posts(fake, "/messages") == 2


@pytest.mark.parametrize(
    ("status", "code"),
    [(403, 50013), (403, 50001)],
)
async def test_refusals_are_not_retried(
    fake: FakeDiscord, sender: DiscordAlertSender, status: int, code: int
) -> None:
    fake.fail_next(status, code=code, message="Missing Permissions")
    with pytest.raises(DeliveryError) as caught:
        await sender.send_alert(str(CHANNEL), make_alert())
    assert not caught.value.retryable
    assert caught.value.code == str(code)
    assert posts(fake, "/messages") == 1


async def test_a_refused_embed_is_sent_again_as_plain_text_with_the_delivery_key(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    fake.fail_next(400, code=50035, message="Invalid Form Body")
    message_id = await sender.send_alert(str(CHANNEL), make_alert())
    [recorded] = fake.of_kind("channel")
    assert message_id == recorded.message_id and "embeds" not in recorded.payload
    content = recorded.payload["content"]
    assert content.startswith(
        "**Bezos's Project Prometheus buys a robotics maker**\n<https://news.example/prometheus>"
    )
    assert content.endswith("-# Matched: prometheus · nb1-i1")
    assert await sender.find_sent(str(CHANNEL), "nb1-i1", 0) == message_id


async def test_a_form_body_refused_after_the_plain_fallback_is_permanent(
    fake: FakeDiscord, sender: DiscordAlertSender
) -> None:
    fake.fail_next(400, code=50035, message="Invalid Form Body", times=2)
    with pytest.raises(DeliveryError) as caught:
        await sender.send_alert(str(CHANNEL), make_alert())
    assert (caught.value.retryable, caught.value.code) == (False, "50035")
    assert posts(fake, "/messages") == 2 and fake.messages == []


async def test_unknown_channel_is_a_permanent_error(fake: FakeDiscord, sender: DiscordAlertSender) -> None:
    with pytest.raises(DeliveryError) as caught:
        await sender.send_alert("555555555555555555", make_alert())
    assert (caught.value.retryable, caught.value.code) == (False, "10003")
    assert "unknown channel" in str(caught.value)


async def test_unknown_webhook_is_a_permanent_error_without_the_token_in_it(fake: FakeDiscord) -> None:
    sender = DiscordAlertSender(token=None)
    url = f"https://discord.com/api/webhooks/{HOOK_ID}/wrong-token-zzzzzzzzzzzzzzzzzz"
    try:
        with pytest.raises(DeliveryError) as caught:
            await sender.send_alert(url, make_alert())
    finally:
        await sender.close()
    assert (caught.value.retryable, caught.value.code) == (False, "10015")
    assert "wrong-token" not in str(caught.value)
    assert posts(fake, "/webhooks/") == 1


async def test_invalid_bot_token_fails_start_with_a_permanent_error(fake: FakeDiscord) -> None:
    sender = DiscordAlertSender(token="not-a-valid-token")
    with pytest.raises(DeliveryError) as caught:
        await sender.start()
    await sender.close()
    assert (caught.value.retryable, caught.value.code) == (False, "invalid_token")
    assert "not-a-valid-token" not in str(caught.value)


async def test_channel_id_without_bot_token_is_refused_clearly(fake: FakeDiscord) -> None:
    sender = DiscordAlertSender(token=None)
    await sender.start()
    try:
        with pytest.raises(DeliveryError) as caught:
            await sender.send_alert(str(CHANNEL), make_alert())
    finally:
        await sender.close()
    assert (caught.value.retryable, caught.value.code) == (False, "no_token")


async def test_network_failure_is_retryable_and_hides_the_webhook_token(fake: FakeDiscord) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    set_discord_api_url(f"http://127.0.0.1:{port}/api/v10")
    sender = DiscordAlertSender(token=None, retry_delay=0.01)
    try:
        with pytest.raises(DeliveryError) as caught:
            await sender.send_alert(HOOK_URL, make_alert())
    finally:
        await sender.close()
    assert (caught.value.retryable, caught.value.code) == (True, "network")
    assert HOOK_TOKEN not in str(caught.value)


async def test_webhook_sends_are_paced_per_webhook(fake: FakeDiscord) -> None:
    sender = DiscordAlertSender(token=None, webhook_rate=(2, 0.3))
    try:
        for _ in range(5):
            await sender.send_alert(HOOK_URL, make_alert())
    finally:
        await sender.close()
    times = [m.at for m in fake.of_kind("webhook")]
    assert len(times) == 5
    # any 3 consecutive sends span at least one period
    assert all(times[i + 2] - times[i] >= 0.29 for i in range(3))


async def test_tokens_never_reach_the_logs(fake: FakeDiscord, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sender = DiscordAlertSender(token="test-bot-token", retry_delay=0.01)
    await sender.start()
    try:
        fake.fail_next(429, retry_after=0.01, via=False, path_contains="/webhooks/")
        await sender.send_alert(HOOK_URL, make_alert())
        await sender.send_alert(str(CHANNEL), make_alert())
    finally:
        await sender.close()
    assert f"/webhooks/{HOOK_ID}/" in caplog.text  # discord.py did log the request URL...
    assert HOOK_TOKEN not in caplog.text  # ...with the token redacted
    assert "test-bot-token" not in caplog.text


def test_api_url_is_set_process_wide_and_restored_to_discord() -> None:
    set_discord_api_url("http://127.0.0.1:9/api/v10/")
    assert Route("GET", "/users/@me").url == "http://127.0.0.1:9/api/v10/users/@me"
    set_discord_api_url(None)
    assert Route.BASE == "https://discord.com/api/v10"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (HOOK_URL, (HOOK_ID, HOOK_TOKEN)),
        (f"https://discordapp.com/api/webhooks/{HOOK_ID}/{HOOK_TOKEN}", (HOOK_ID, HOOK_TOKEN)),
        (f"https://ptb.discord.com/api/v10/webhooks/{HOOK_ID}/{HOOK_TOKEN}/", (HOOK_ID, HOOK_TOKEN)),
        (f"http://discord.com/api/webhooks/{HOOK_ID}/{HOOK_TOKEN}", None),
        (f"https://evil.example/api/webhooks/{HOOK_ID}/{HOOK_TOKEN}", None),
        ("123456789012345678", None),
    ],
)
def test_webhook_urls_are_recognised_only_on_discord_over_https(
    url: str, expected: tuple[int, str] | None
) -> None:
    assert parse_webhook_url(url) == expected
