"""The whole service as operators run it: `python -m bot run` in a subprocess, feeds from a local
server, alerts to local fake Slack and Discord APIs through the real clients."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.fakes.discord_api import CHANNEL, FakeDiscord
from tests.fakes.feed_server import rss
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

pytestmark = pytest.mark.slow  # every test here runs `python -m bot` in a subprocess

HOOK_ID, HOOK_TOKEN = 223344556677889900, "hook-token-abcdefghijklmnopqrstuvwxyz0123456789"


async def wait_until(condition, seconds: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.1)


async def test_service_posts_each_alert_once_to_slack_discord_and_a_webhook(
    feed_server, config_dir, tmp_path
):
    slack = await FakeSlackAPI().start()
    discord = FakeDiscord(channels={CHANNEL}, webhooks={HOOK_ID: HOOK_TOKEN})
    discord_api = await discord.start()
    when = format_datetime(datetime.now(UTC) - timedelta(minutes=5))
    story = {
        "title": "Project Prometheus, Bezos&#8217;s AI start-up, raises more money &amp;lt;!channel&amp;gt; &amp;lt;@U123&amp;gt; @everyone",
        "link": "https://news.example.com/prometheus-raise",
        "guid": "raise-1",
        "pubDate": when,
        "description": "Co-CEO Vik Bajaj said the $6.2 billion venture is hiring.",
    }
    url = feed_server.serve("/feed.xml", rss([story]))
    webhook = f"https://discord.com/api/webhooks/{HOOK_ID}/{HOOK_TOKEN}"  # DISCORD_API_URL redirects it
    config_dir.write(
        feeds=[{"url": url}],
        routes=[
            {"platform": "slack", "channel": "C0SLACK", "rules": ["all"]},
            {"platform": "discord", "channel": str(CHANNEL), "rules": ["prometheus"]},
            {"platform": "discord", "channel": webhook, "rules": ["all"]},
        ],
        settings={"backlog": {"mode": "newest", "count": 5, "hours": "24h"}, "dispatch_interval": "1s"},
    )
    db = tmp_path / "bot.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(
        BOT_CONFIG=str(config_dir.path), BOT_DB=str(db), SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.api_url,
        DISCORD_API_URL=discord_api,
    )  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await wait_until(lambda: slack.messages and len(discord.messages) >= 1, 15)
        await asyncio.sleep(1.5)  # a further dispatch round must not repeat anything
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
        await slack.close()
        await discord.close()
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert BOT_TOKEN not in stderr.decode()

    assert len(slack.messages) == 1
    slack_text = str(slack.messages[0])
    assert "<!channel>" not in slack_text and "&lt;!channel&gt;" in slack_text
    assert "<@U123>" not in slack_text
    assert [m.kind for m in discord.messages] == ["webhook"]  # no bot token: the channel-id route is skipped
    assert discord.messages[0].payload["allowed_mentions"] == {"parse": []}
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT platform, status, message_ref FROM deliveries ORDER BY platform"
        ).fetchall()
    assert [(platform, status) for platform, status, _ in rows] == [("discord", "sent"), ("slack", "sent")]
    assert all(ref for _, _, ref in rows)


async def test_service_in_slack_http_mode_answers_signed_slash_commands_from_the_core(
    feed_server, config_dir, tmp_path
):
    from tests.deliver.test_slack_app import command_body, post_signed
    from tests.fakes.slack_api import FakeSlackAPI as Slack

    slack = await Slack().start()
    config_dir.write(feeds=[{"url": feed_server.serve("/feed.xml", rss([]))}])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(
        BOT_CONFIG=str(config_dir.path), BOT_DB=str(tmp_path / "bot.db"), SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=slack.api_url, SLACK_SIGNING_SECRET="service-secret", PORT=str(port),
    )  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--slack-http", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        deadline = time.monotonic() + 30
        while True:  # wait for the HTTP listener
            try:
                status, _ = await post_signed(url, command_body(slack, "help"), secret="service-secret")
                break
            except OSError:
                assert time.monotonic() < deadline, "the Slack HTTP listener never came up"
                await asyncio.sleep(0.2)
        assert status == 200
        status, _ = await post_signed(
            url, command_body(slack, "rules list", user_id="U0NOBODY"), secret="service-secret"
        )
        assert status == 200
        status, _ = await post_signed(url, command_body(slack, "help"), secret="wrong-secret")
        assert status == 401
        await slack.wait_for_responses(2, seconds=15)
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 30)
        await slack.close()
    answers = [body for _, body in slack.responses]
    help_text, refusal = json.dumps(answers[0]), json.dumps(answers[1])
    assert "latest" in help_text and answers[0]["response_type"] == "ephemeral"
    assert "admin" in refusal.lower()


async def test_service_answers_discord_at_the_http_endpoint_without_a_gateway_beside_slack_on_one_port(
    feed_server, config_dir, tmp_path
):
    from tests.deliver.test_discord_interactions import Signer
    from tests.deliver.test_slack_app import command_body, post_signed
    from tests.fakes.discord_api import GUILD, interaction_payload

    slack = await FakeSlackAPI().start()
    discord = FakeDiscord(channels={CHANNEL})
    discord_api = await discord.start()
    signer = Signer()
    config_dir.write(
        feeds=[{"url": feed_server.serve("/feed.xml", rss([]))}],
        settings={"discord_guilds": [str(GUILD)], "admins": {"discord_manage_server": True}},
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(
        BOT_CONFIG=str(config_dir.path), BOT_DB=str(tmp_path / "bot.db"), PORT=str(port),
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.api_url, SLACK_SIGNING_SECRET="service-secret",
        DISCORD_BOT_TOKEN="test-bot-token", DISCORD_API_URL=discord_api, DISCORD_GATEWAY_URL=discord.gateway_url,
        DISCORD_PUBLIC_KEY=signer.public_hex,
    )  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/discord/interactions"

    async def post(payload: dict) -> tuple[int, object]:  # type: ignore[type-arg]
        import aiohttp

        body = json.dumps(payload).encode()
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=signer.headers(body)) as response,
        ):
            return response.status, await response.json(content_type=None)

    try:
        deadline = time.monotonic() + 30
        while True:  # wait for the public server
            try:
                status, answer = await post({"id": "1", "application_id": "424242424242424242", "type": 1})
                break
            except OSError:
                assert time.monotonic() < deadline, "the public HTTP server never came up"
                await asyncio.sleep(0.2)
        assert (status, answer) == (200, {"type": 1})
        status, answer = await post(
            interaction_payload(discord, "rules", {"action": "list"}, permissions=1 << 5)
        )
        assert (status, answer) == (200, {"type": 5, "data": {"flags": 64}})
        status, answer = await post(
            interaction_payload(discord, "rules", {"action": "remove", "args": "bajaj"})
        )
        assert status == 200
        status, _ = await post_signed(
            f"http://127.0.0.1:{port}/slack/events", command_body(slack, "help"), secret="service-secret"
        )
        assert status == 200  # Slack HTTP mode on the same port
        await wait_until(lambda: len(discord.of_kind("original")) == 2 and discord.synced, 15)
        await slack.wait_for_responses(1, seconds=15)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
        await slack.close()
        await discord.close()
    assert process.returncode == 0, stderr.decode()[-2000:]
    listing, refusal = (json.dumps(m.payload) for m in discord.of_kind("original"))
    assert "prometheus" in listing and "Only admins" not in listing
    assert "Only admins can use rules remove." in refusal
    assert not any(path == "/gateway" for _, path, _ in discord.requests)  # no gateway connection
    assert set(discord.synced) == {str(GUILD)}  # /news registered over REST at start
    assert "interaction-token" not in stderr.decode() and "test-bot-token" not in stderr.decode()
