"""Feeds never wait on each other: a server dripping one byte a second delays only its own feed.

Real sockets on 127.0.0.1: the local feed server drips its body (bounded: the client hangs up at the
per-feed deadline), the real pipeline, parser workers, SQLite file and console adapter.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.poll.feed_parse import MAX_ENTRIES
from bot.service import Service
from bot.store.feeds import feed_health
from tests.commands.helpers import Harness
from tests.conftest import ConfigDir, TestClock
from tests.fakes.feed_server import rss
from tests.poll.test_pipeline import story
from tests.test_cli import bot_env, run_bot

DEADLINE = 3.0  # fetch.total_timeout in these tests; the drip alone would take minutes
# Bytes arrive every second, inside the read timeout: only the total deadline can stop the drip.
FETCH = {"connect_timeout": "2s", "read_timeout": "2s", "total_timeout": f"{DEADLINE:g}s", "concurrency": 8}


async def wait_for(condition, limit: float) -> float:  # type: ignore[no-untyped-def]
    """Seconds until `condition()` held; fails after `limit`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < limit, "timed out waiting"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


@pytest.mark.slow
async def test_a_dripping_feed_does_not_delay_a_good_feeds_alert(feed_server, config_dir, make_bot):
    drip = feed_server.serve("/drip.xml", rss([story(1)]), drip_interval=1.0)
    good = feed_server.serve("/good.xml", rss([story(2)]))
    config_dir.write(
        feeds=[{"url": drip, "name": "Drip"}, {"url": good, "name": "Good"}],  # the drip is listed first
        settings={"fetch": FETCH, "backlog": {"mode": "newest", "count": 1, "hours": "24h"}},
    )
    bot = make_bot(config_dir)
    service = Service(bot)
    await bot.parser.warm_up()  # as the service does before its first tick

    cycle = asyncio.ensure_future(service.poll())
    took = await wait_for(lambda: "story number 2" in bot.console_output.getvalue(), DEADLINE)
    assert took < 2.0 and not cycle.done()  # sent while the drip is still in flight
    assert bot.db.execute("SELECT status FROM deliveries").fetchall() == [("sent",)]

    await asyncio.wait_for(cycle, DEADLINE + 2)
    rows = {row["url"]: row for row in feed_health(bot.db)}
    assert rows[drip]["last_error_kind"] == "timeout" and rows[drip]["error_count"] == 1
    assert f"within {DEADLINE:g}s" in rows[drip]["last_error"]
    assert rows[good]["error_count"] == 0
    assert "story number 1" not in bot.console_output.getvalue()


@pytest.mark.slow
async def test_a_feed_in_flight_is_not_fetched_again_by_an_overlapping_cycle(
    feed_server, config_dir, make_bot
):
    drip = feed_server.serve("/drip.xml", rss([story(1)]), drip_interval=1.0)
    good = feed_server.serve("/good.xml", rss([]))
    config_dir.write(feeds=[{"url": drip}, {"url": good}], settings={"fetch": FETCH})
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)

    first = asyncio.ensure_future(bot.pipeline.run_cycle())
    good_done = "SELECT count(*) FROM feeds WHERE url = ? AND last_status = 200"
    await wait_for(lambda: bot.db.execute(good_done, [good]).fetchone()[0], 2)
    clock.advance(3600)  # the next tick: both feeds are due again, one of them still in flight
    second = await bot.pipeline.run_cycle()
    assert second.feeds_due == 1 and second.fetched == 1
    assert not first.done()

    report = await asyncio.wait_for(first, DEADLINE + 2)
    assert report.failed == 1 and not report.offline
    assert len(feed_server.hits("/drip.xml")) == 1 and len(feed_server.hits("/good.xml")) == 2
    third = await bot.pipeline.run_cycle()
    assert third.feeds_due == 0  # both recorded: each is due again after its own interval or backoff


@pytest.mark.slow
async def test_a_feed_cut_at_the_entry_limit_shows_in_status_and_the_log(
    feed_server, config_dir: ConfigDir, make_bot, tmp_path, caplog
):
    entries = [story(n) for n in range(MAX_ENTRIES + 20)]
    url = feed_server.serve("/long.xml", rss(entries), etag='"v1"')
    config_dir.write(feeds=[{"url": url, "name": "Long feed"}])
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    with caplog.at_level(logging.WARNING, logger="bot.poll.pipeline"):
        report = await bot.pipeline.run_cycle()
    cut = f"cut to {MAX_ENTRIES} of {MAX_ENTRIES + 20} entries"
    assert report.new_items == MAX_ENTRIES and report.failed == 0
    assert any(cut in message and "Long feed" in message for message in caplog.messages)

    clock.advance(3600)
    assert (await bot.pipeline.run_cycle()).not_modified == 1  # a 304 keeps the warning: same body
    [row] = feed_health(bot.db)
    assert row["last_error_kind"] == "warning" and row["last_error"] == cut and row["error_count"] == 0

    code, out, _ = await run_bot("status", env=bot_env(config_dir, tmp_path / "bot.db"))
    assert code == 0 and f"warning: {cut}" in out and "1 feeds, 0 failing" in out

    harness = Harness(config_dir.path, tmp_path / "bot.db")
    reply = await harness.run("status")
    harness.db.conn.close()
    assert {f.name: f.value for f in reply.fields}["Feeds"] == "1 healthy"
    assert reply.lines == (f"Long feed: warning: {cut}",)
