"""At DEBUG level, with slack-bolt, slack-sdk, aiohttp and discord.py logging everything they do, no
credential-bearing URL reaches the log: a slash command answered through its response_url, a Discord
webhook alert and an interaction reply, all over real HTTP to the local fakes, through the logging
set-up the service uses (bot.logs.setup_logging)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator

import discord
import pytest

from bot.deliver.adapters.discord import DiscordAlertSender, set_discord_api_url
from bot.logs import setup_logging
from tests.deliver.test_discord_alerts import make_alert
from tests.deliver.test_slack_app import SmallCore, command_body, post_signed, serve_app
from tests.fakes.discord_api import FakeDiscord, make_interaction
from tests.fakes.slack_api import FakeSlackAPI

HOOK_ID, HOOK_TOKEN = 987654321098765432, "hook-secret-token-abcdefghijklmnop"
RESPONSE_SECRET = "responseUrlSecret0123456789"
LOUD = ("slack_bolt", "slack_sdk", "aiohttp", "discord", "discord.gateway", "discord.http")


@pytest.fixture
def debug_log(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """The service's logging at DEBUG, every library logger enabled; returns what reached stderr."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {name: logging.getLogger(name).level for name in LOUD}
    setup_logging("DEBUG")
    for name in LOUD:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield lambda: capsys.readouterr().err
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackAPI]:
    server = await FakeSlackAPI().start()
    yield server
    await server.close()


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord(channels=set(), webhooks={HOOK_ID: HOOK_TOKEN})
    set_discord_api_url(await server.start())
    yield server
    set_discord_api_url(None)
    await server.close()


async def test_slash_command_response_url_never_reaches_the_debug_log(
    debug_log: Callable[[], str], slack: FakeSlackAPI
) -> None:
    async with serve_app(slack, SmallCore()) as url:
        form = command_body(slack, "latest") | {"response_url": slack.response_url(RESPONSE_SECRET)}
        assert (await post_signed(url, form))[0] == 200
        await slack.wait_for_responses(1)
        assert (await post_signed(url, form, secret="forged-secret"))[0] == 401

    logged = debug_log()
    assert "Sending a request - url:" in logged  # slack-sdk's DEBUG line about the response_url ran
    assert RESPONSE_SECRET not in logged
    assert "/commands/[redacted]" in logged


async def test_discord_webhook_and_interaction_tokens_never_reach_the_debug_log(
    debug_log: Callable[[], str], fake_discord: FakeDiscord
) -> None:
    sender = DiscordAlertSender(token="test-bot-token", rule_colors={}, retry_delay=0.01)
    await sender.start()
    try:
        await sender.send_alert(f"https://discord.com/api/webhooks/{HOOK_ID}/{HOOK_TOKEN}", make_alert())
    finally:
        await sender.close()

    client = discord.Client(intents=discord.Intents(guilds=True))
    await client.login("test-bot-token")
    try:
        interaction = make_interaction(fake_discord, client, "latest")
        await interaction.response.send_message("hello")
        await interaction.followup.send("and more")
    finally:
        await client.close()

    logged = debug_log()
    assert "has returned" in logged  # discord.py's DEBUG lines about those requests ran
    assert HOOK_TOKEN not in logged and interaction.token not in logged
    assert f"/webhooks/{HOOK_ID}/[redacted]" in logged
