"""A database that cannot be written (full disk, read-only) stops progress but loses nothing:
the cycle fails with a logged error, and once the disk is writable again the same items are
stored and alerted, once."""

from __future__ import annotations

import time

import pytest

from bot.deliver.dispatch import dispatch_due
from bot.errors import StoreError
from tests.conftest import TestClock
from tests.fakes.feed_server import rss
from tests.poll.test_pipeline import story


@pytest.mark.parametrize(
    ("break_it", "mend_it"),
    [
        ("PRAGMA max_page_count = {pages}", "PRAGMA max_page_count = 1073741823"),  # disk full
        ("PRAGMA query_only = ON", "PRAGMA query_only = OFF"),  # read-only database
    ],
    ids=["disk-full", "read-only"],
)
async def test_unwritable_database_fails_the_cycle_and_loses_nothing(
    feed_server, config_dir, make_bot, break_it, mend_it
):
    url = feed_server.serve("/feed.xml", rss([]))
    config_dir.write(feeds=[{"url": url}])
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    await bot.pipeline.run_cycle()  # first fetch: nothing yet

    long_story = story(1, description="Vik Bajaj on Project Prometheus. " + "Detail. " * 3000)
    feed_server.serve("/feed.xml", rss([long_story]))
    bot.db.execute("VACUUM")  # no free pages left by migrations (v5 rebuilds a table): the file is full
    pages = bot.db.execute("PRAGMA page_count").fetchone()[0]
    bot.db.execute(break_it.format(pages=pages))
    clock.advance(3600)
    with pytest.raises(StoreError, match=r"full|readonly"):
        await bot.pipeline.run_cycle()
    bot.db.execute(mend_it)
    assert bot.db.execute("SELECT count(*) FROM items").fetchone()[0] == 0

    clock.advance(3600)
    report = await bot.pipeline.run_cycle()  # the feed is fetched again: its body was never recorded
    await dispatch_due(bot.db, bot.senders, clock=clock)
    assert report.new_items == 1
    assert bot.console_output.getvalue().count("story number 1") == 1
