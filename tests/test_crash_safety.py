"""Never twice, never lost, under SIGKILL: the bot is killed at random moments across 30 runs while
the feed changes and both platforms (behind a chaos proxy) rate-limit, fail, drop requests and lose
answers for 10% of posts; restarted each time. At the end every matched item has reached every
routed channel exactly once.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from tests.fakes.chaos_proxy import ChaosProxy
from tests.fakes.discord_api import CHANNEL, FakeDiscord
from tests.fakes.feed_server import rss
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

RUNS = 30
CITIES = [
    "Singapore",
    "Riyadh",
    "Abu Dhabi",
    "Doha",
    "Tokyo",
    "Seoul",
    "Munich",
    "Toulouse",
    "Austin",
    "Detroit",
]
TOPICS = ["jet engine maker", "chip packaging plant", "robotics supplier", "drone factory", "battery line"]


def story_items(run: int, when: str) -> list[dict[str, str]]:
    """Two new items per run: one about the story (distinct event and amount), one noise."""
    city, topic = CITIES[run % len(CITIES)], TOPICS[run % len(TOPICS)]
    return [
        {
            "title": f"Project Prometheus agrees ${run + 1}.{run % 9} billion deal for {topic} near {city} (#{run})",
            "link": f"https://news.example.com/prometheus/{run}",
            "guid": f"prometheus-{run}",
            "pubDate": when,
            "description": f"Bezos's AI venture, co-led by Vik Bajaj, buys a {topic} in {city}; deal #{run}.",
        },
        {
            "title": f"Prometheus exporter {run}.0 adds PromQL histograms for Grafana dashboards",
            "link": f"https://news.example.com/monitoring/{run}",
            "guid": f"monitoring-{run}",
            "pubDate": when,
            "description": "The monitoring toolkit's release notes.",
        },
    ]


async def start_bot(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


def all_delivered(db_path, expected: int) -> bool:  # type: ignore[no-untyped-def]
    """Every expected delivery is queued and sent. Counting only the rows queued so far would stop
    the wait before the last process polled the feed when the killed runs never got to it."""
    if not db_path.exists():
        return False
    with sqlite3.connect(db_path, timeout=5) as conn:
        try:
            waiting = conn.execute("SELECT count(*) FROM deliveries WHERE status != 'sent'").fetchone()[0]
            total = conn.execute("SELECT count(*) FROM deliveries").fetchone()[0]
        except sqlite3.OperationalError:
            return False
    return waiting == 0 and total >= expected


@pytest.mark.slow
async def test_sigkill_at_random_moments_never_loses_or_repeats_an_alert(feed_server, config_dir, tmp_path):
    rng = random.Random(20261125)
    slack = await FakeSlackAPI(real_time_ts=True).start()
    discord = FakeDiscord(channels={CHANNEL})
    discord_base = await discord.start()
    slack_chaos = await ChaosProxy(upstream=slack.base, rate=0.1, seed=1).start()
    discord_chaos = await ChaosProxy(upstream=discord_base.removesuffix("/api/v10"), rate=0.1, seed=2).start()

    when = format_datetime(datetime.now(UTC) - timedelta(minutes=5))
    published: list[dict[str, str]] = []
    url = feed_server.serve("/feed.xml", rss(published))
    config_dir.write(
        feeds=[{"url": url, "interval": "1s"}],
        routes=[
            {"platform": "slack", "channel": "C0ALERTS", "rules": ["all"]},
            {"platform": "discord", "channel": str(CHANNEL), "rules": ["all"]},
        ],
        settings={
            "tick": "1s", "dispatch_interval": "1s", "poll_interval": "1s", "digest_after": "1h",
            "backlog": {"mode": "newest", "count": 50, "hours": "24h"},
        },
    )  # fmt: skip
    db_path = tmp_path / "bot.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update(
        BOT_CONFIG=str(config_dir.path), BOT_DB=str(db_path), SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=f"{slack_chaos.url}/api/", DISCORD_BOT_TOKEN="test-bot-token",
        DISCORD_API_URL=f"{discord_chaos.url}/api/v10", DISCORD_GATEWAY_URL=discord.gateway_url,
    )  # fmt: skip

    try:
        for run in range(RUNS):
            published.extend(story_items(run, when))
            feed_server.serve("/feed.xml", rss(published))
            process = await start_bot(env)
            await asyncio.sleep(rng.uniform(0.4, 3.0))
            process.kill()  # SIGKILL: no clean-up of any kind
            await process.wait()

        process = await start_bot(env)  # the last run is left to finish its work
        deadline = time.monotonic() + 120
        while not all_delivered(db_path, 2 * RUNS) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.5)
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
    finally:
        await slack_chaos.close()
        await discord_chaos.close()
        await slack.close()
        await discord.close()

    expected = [item["title"] for item in published if item["guid"].startswith("prometheus-")]
    slack_titles = Counter(
        title for message in slack.messages for title in expected if title in str(message.get("text", ""))
    )
    discord_titles = Counter(
        embed.get("title") for message in discord.messages for embed in message.payload.get("embeds", [])
    )
    print("faults injected:", dict(slack_chaos.injected), dict(discord_chaos.injected))
    assert sum(slack_chaos.injected.values()) > 0 and sum(discord_chaos.injected.values()) > 0
    missing_slack = [title for title in expected if slack_titles[title] == 0]
    twice_slack = [title for title in expected if slack_titles[title] > 1]
    missing_discord = [title for title in expected if discord_titles[title] == 0]
    twice_discord = [title for title, count in discord_titles.items() if count > 1]
    assert (missing_slack, twice_slack, missing_discord, twice_discord) == ([], [], [], [])
    assert not any("PromQL" in str(message.get("text", "")) for message in slack.messages)
    with sqlite3.connect(db_path) as conn:
        refs = conn.execute("SELECT platform, status, message_ref FROM deliveries").fetchall()
    assert len(refs) == 2 * RUNS
    assert all(status == "sent" and ref and ref != "unconfirmed" for _, status, ref in refs)
