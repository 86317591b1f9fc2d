"""One alert per story, end to end: two outlets' differently worded copies of one event, from two
feeds, become one alert and an update per channel (local feed server -> SQLite -> console)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from bot.deliver.dispatch import dispatch_due
from tests.conftest import TestClock
from tests.fakes.feed_server import rss

BLOOMBERG = {
    "title": "Bezos's Project Prometheus to buy aerospace parts maker",
    "link": "https://www.bloomberg.com/news/prometheus-parts",
    "guid": "bloomberg-1",
    "description": "The AI venture agreed to acquire Precision Aerostructures, a supplier of wing and fuselage"
    " components to Boeing and Airbus, for about $1.1 billion.",
    "source": "Bloomberg",
}
REUTERS = {
    "title": "Jeff Bezos AI venture agrees deal for aircraft component supplier - Reuters",
    "link": "https://www.reuters.com/business/bezos-prometheus-deal/",
    "guid": "reuters-1",
    "description": "Project Prometheus, co-led by Vik Bajaj, will pay about $1.1 billion for Precision"
    " Aerostructures, the companies said.",
    "source": "Reuters",
}
OTHER_EVENT = {  # same company, same day, a different story: must get its own alert
    "title": "Project Prometheus hires former Tesla manufacturing chief - Reuters",
    "link": "https://www.reuters.com/business/prometheus-hires/",
    "guid": "reuters-2",
    "description": "The Bezos-backed AI company has hired Jerome Guillen, who ran Tesla's trucking business.",
    "source": "Reuters",
}
RULES = [
    {"name": "prometheus", "query": '"Project Prometheus" OR (Prometheus AND Bezos)'},
    {"name": "bajaj", "query": '"Vik Bajaj"'},
]
ROUTES = [
    {"platform": "console", "channel": "newsroom", "rules": ["prometheus"]},
    {"platform": "console", "channel": "bajaj-desk", "rules": ["bajaj"]},
]


def dated(item: dict[str, str], hours_ago: float = 0.5) -> dict[str, str]:
    return {**item, "pubDate": format_datetime(datetime.now(UTC) - timedelta(hours=hours_ago))}


async def two_feeds_bot(feed_server, config_dir, make_bot, clock: TestClock):  # type: ignore[no-untyped-def]
    first = feed_server.serve("/a.xml", rss([]))
    second = feed_server.serve("/b.xml", rss([]))
    config_dir.write(feeds=[{"url": first}, {"url": second}], rules=RULES, routes=ROUTES)
    bot = make_bot(config_dir, clock=clock)
    await bot.pipeline.run_cycle()  # first fetch of each feed: nothing to post
    return bot


def deliveries(bot) -> list[tuple[str, str, str, int | None, int]]:  # type: ignore[no-untyped-def]
    rows = bot.db.execute(
        "SELECT i.guid, d.channel, d.kind, d.parent_id, d.id FROM deliveries d JOIN items i ON i.id = d.item_id"
        " ORDER BY d.id"
    ).fetchall()
    # feedparser resolves a guid against the feed URL: keep its last segment
    return [(guid.rsplit("/", 1)[-1], *rest) for guid, *rest in rows]


async def test_second_outlet_copy_becomes_an_update_of_the_first_alert(feed_server, config_dir, make_bot):
    clock = TestClock(time.time())
    bot = await two_feeds_bot(feed_server, config_dir, make_bot, clock)

    feed_server.serve("/a.xml", rss([dated(BLOOMBERG)]))
    clock.advance(3600)
    await bot.pipeline.run_cycle()
    feed_server.serve("/b.xml", rss([dated(REUTERS, 0.2)]))
    clock.advance(3600)
    await bot.pipeline.run_cycle()

    [alert, update, desk_alert] = deliveries(bot)
    assert alert[:4] == ("bloomberg-1", "newsroom", "alert", None)
    assert update[:4] == ("reuters-1", "newsroom", "update", alert[4])
    # Only the Reuters copy names Vik Bajaj: that channel never saw the story, so it gets an alert.
    assert desk_alert[:4] == ("reuters-1", "bajaj-desk", "alert", None)
    story_ids = {row[0] for row in bot.db.execute("SELECT story_id FROM items")}
    assert len(story_ids) == 1


async def test_copies_in_one_fetch_of_two_feeds_still_make_one_alert(feed_server, config_dir, make_bot):
    clock = TestClock(time.time())
    bot = await two_feeds_bot(feed_server, config_dir, make_bot, clock)

    feed_server.serve("/a.xml", rss([dated(BLOOMBERG)]))
    feed_server.serve("/b.xml", rss([dated(REUTERS, 0.2)]))
    clock.advance(3600)
    await bot.pipeline.run_cycle()

    newsroom = [row for row in deliveries(bot) if row[1] == "newsroom"]
    assert [row[2] for row in newsroom] == ["alert", "update"]
    assert newsroom[1][3] == newsroom[0][4]


async def test_a_different_event_about_the_same_company_gets_its_own_alert(feed_server, config_dir, make_bot):
    clock = TestClock(time.time())
    bot = await two_feeds_bot(feed_server, config_dir, make_bot, clock)

    feed_server.serve("/a.xml", rss([dated(BLOOMBERG)]))
    feed_server.serve("/b.xml", rss([dated(OTHER_EVENT, 0.2)]))
    clock.advance(3600)
    await bot.pipeline.run_cycle()

    assert sorted((row[0], row[2]) for row in deliveries(bot)) == [
        ("bloomberg-1", "alert"),
        ("reuters-2", "alert"),
    ]


async def test_a_copy_after_the_48_hour_window_is_a_new_story(feed_server, config_dir, make_bot):
    clock = TestClock(time.time())
    bot = await two_feeds_bot(feed_server, config_dir, make_bot, clock)
    feed_server.serve("/a.xml", rss([dated(BLOOMBERG)]))
    clock.advance(3600)
    await bot.pipeline.run_cycle()

    clock.advance(49 * 3600)
    feed_server.serve("/b.xml", rss([dated(REUTERS, 0.2)]))
    await bot.pipeline.run_cycle()

    kinds = [(row[0], row[1], row[2]) for row in deliveries(bot)]
    assert ("reuters-1", "newsroom", "alert") in kinds
    assert all(kind != "update" for _, _, kind in kinds)


async def test_dispatch_posts_the_alert_once_then_the_also_reported_update(feed_server, config_dir, make_bot):
    clock = TestClock(time.time())
    bot = await two_feeds_bot(feed_server, config_dir, make_bot, clock)
    feed_server.serve("/a.xml", rss([dated(BLOOMBERG)]))
    clock.advance(3600)
    await bot.pipeline.run_cycle()
    await dispatch_due(bot.db, bot.senders, clock=clock)
    feed_server.serve("/b.xml", rss([dated(REUTERS, 0.2)]))
    clock.advance(3600)
    await bot.pipeline.run_cycle()
    await dispatch_due(bot.db, bot.senders, clock=clock)

    output = bot.console_output.getvalue()
    assert output.count("Bezos's Project Prometheus to buy aerospace parts maker") == 2  # alert + update
    assert "[also reported]" in output and "now also by: Reuters" in output
    assert output.count("Jeff Bezos AI venture agrees deal") == 1  # the desk channel's alert
    statuses = bot.db.execute("SELECT kind, status FROM deliveries ORDER BY id").fetchall()
    assert [tuple(s) for s in statuses] == [("alert", "sent"), ("update", "sent"), ("alert", "sent")]
