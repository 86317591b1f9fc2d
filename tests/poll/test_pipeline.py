"""The poll cycle end to end: local feed server -> real SQLite file -> console adapter."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from bot.deliver.dispatch import dispatch_due
from bot.store.feeds import feed_health
from tests.conftest import TestClock
from tests.fakes.feed_server import rss


def _date(hours_ago: float = 0.5) -> str:
    return format_datetime(datetime.now(UTC) - timedelta(hours=hours_ago))


def story(n: int, title: str | None = None, *, hours_ago: float = 0.5, **extra: str) -> dict[str, str]:
    item = {
        "title": title or f"Bezos's Project Prometheus story number {n}",
        "link": f"https://news.example.com/2026/story-{n}",
        "guid": f"story-{n}",
        "description": f"Details of story {n} about Vik Bajaj.",
        "pubDate": _date(hours_ago),
    }
    item.update(extra)
    return item


async def poll_and_dispatch(bot) -> tuple[object, str]:
    report = await bot.pipeline.run_cycle()
    await dispatch_due(bot.db, bot.senders, clock=bot.clock)
    return report, bot.console_output.getvalue()


def due_everything(clock: TestClock) -> None:
    clock.advance(3600)


async def test_new_matching_item_is_alerted_once_with_source_and_link(feed_server, config_dir, make_bot):
    url = feed_server.serve("/feed.xml", rss([story(1)]), etag='"v1"')
    config_dir.write(feeds=[{"url": url, "name": "Test News"}])
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)

    await poll_and_dispatch(bot)  # first fetch: backlog, stored but not posted
    assert bot.console_output.getvalue() == ""

    feed_server.serve("/feed.xml", rss([story(1), story(2)]), etag='"v2"')
    due_everything(clock)
    _, output = await poll_and_dispatch(bot)
    assert "Bezos's Project Prometheus story number 2" in output
    assert "https://news.example.com/2026/story-2" in output
    assert "story number 1" not in output

    due_everything(clock)
    _, output_again = await poll_and_dispatch(bot)
    assert output_again.count("story number 2") == 1


async def test_unchanged_feed_costs_a_304_and_no_parse(feed_server, config_dir, make_bot):
    url = feed_server.serve(
        "/feed.xml", rss([story(1)]), etag='"abc"', last_modified="Wed, 25 Nov 2026 10:00:00 GMT"
    )
    config_dir.write(feeds=[{"url": url}])
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    await bot.pipeline.run_cycle()
    due_everything(clock)
    report = await bot.pipeline.run_cycle()

    second = feed_server.hits("/feed.xml")[1]
    assert second.headers["If-None-Match"] == '"abc"'
    assert second.headers["If-Modified-Since"] == "Wed, 25 Nov 2026 10:00:00 GMT"
    assert report.not_modified == 1 and report.new_items == 0


async def test_last_modified_alone_gives_a_304(feed_server, config_dir, make_bot):
    url = feed_server.serve("/feed.xml", rss([story(1)]), last_modified="Tue, 24 Nov 2026 08:00:00 GMT")
    config_dir.write(feeds=[{"url": url}])
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    await bot.pipeline.run_cycle()
    due_everything(clock)
    report = await bot.pipeline.run_cycle()
    assert "If-None-Match" not in feed_server.hits("/feed.xml")[1].headers
    assert report.not_modified == 1


async def test_identical_body_from_a_server_ignoring_conditional_requests_is_not_parsed_again(
    feed_server, config_dir, make_bot
):
    url = feed_server.serve("/feed.xml", rss([story(1)]), etag='"x"', honour_conditional=False)
    config_dir.write(feeds=[{"url": url}])
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    await bot.pipeline.run_cycle()
    due_everything(clock)
    report = await bot.pipeline.run_cycle()
    assert report.unchanged_body == 1 and report.new_items == 0


async def test_same_story_in_two_feeds_is_stored_and_alerted_once(feed_server, config_dir, make_bot):
    first = feed_server.serve("/a.xml", rss([]))
    second = feed_server.serve("/b.xml", rss([]))
    config_dir.write(feeds=[{"url": first}, {"url": second}])
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    await poll_and_dispatch(bot)

    same_link = story(7, link="https://www.news.example.com/2026/story-7?utm_source=rss&utm_medium=feed")
    feed_server.serve("/a.xml", rss([story(7)]))
    feed_server.serve("/b.xml", rss([{**same_link, "guid": "other-guid-7"}]))
    due_everything(clock)
    _, output = await poll_and_dispatch(bot)
    assert output.count("story number 7") == 1
    assert bot.db.execute("SELECT count(*) FROM items").fetchone()[0] == 1


async def test_google_news_items_with_changing_guid_and_link_are_recognised_by_headline(
    feed_server, config_dir, make_bot
):
    url = feed_server.serve("/gn.xml", rss([]))
    config_dir.write(feeds=[{"url": url}])
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    await poll_and_dispatch(bot)

    def google_item(token: str) -> dict[str, str]:
        return {
            "title": "Bezos&#8217;s Project Prometheus buys a chipmaker - Reuters",
            "link": f"https://news.google.com/rss/articles/CBMi{token}?oc=5",
            "guid": f"CBMi{token}",
            "pubDate": _date(),
            "source": "Reuters",
            "description": "&lt;a href=&quot;https://news.google.com/x&quot;&gt;Bezos's Project Prometheus buys a chipmaker&lt;/a&gt;",
        }

    feed_server.serve("/gn.xml", rss([google_item("AAAA")]))
    due_everything(clock)
    _, output = await poll_and_dispatch(bot)
    feed_server.serve("/gn.xml", rss([google_item("BBBB")]))
    due_everything(clock)
    _, output = await poll_and_dispatch(bot)
    assert output.count("[prometheus]") == 1
    assert "Reuters ·" in output
    assert "- Reuters" not in output  # the outlet is shown as the source, not repeated in the headline


async def test_restart_reposts_nothing(feed_server, config_dir, make_bot):
    url = feed_server.serve("/feed.xml", rss([]))
    config_dir.write(feeds=[{"url": url}])
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    await poll_and_dispatch(bot)
    feed_server.serve("/feed.xml", rss([story(1), story(2)]))
    due_everything(clock)
    _, output = await poll_and_dispatch(bot)
    assert output.count("story number") == 2
    await bot.close()

    restarted = make_bot(config_dir, clock=clock)  # same database file, new process state
    feed_server.serve("/feed.xml", rss([story(2), story(1)], title="Reordered"))  # changed body
    due_everything(clock)
    report, output = await poll_and_dispatch(restarted)
    assert report.new_items == 0
    assert output == ""


async def test_new_feed_backlog_is_stored_but_not_posted(feed_server, config_dir, make_bot):
    url = feed_server.serve("/feed.xml", rss([story(n) for n in range(10)]))
    config_dir.write(feeds=[{"url": url}])
    bot = make_bot(config_dir)
    report, output = await poll_and_dispatch(bot)
    assert report.new_items == 10 and report.matched_items == 10
    assert output == ""
    assert bot.db.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0


async def test_backlog_policy_newest_posts_only_the_newest_recent_items(feed_server, config_dir, make_bot):
    items = [story(n, hours_ago=n + 0.5) for n in range(6)] + [story(99, hours_ago=48)]
    url = feed_server.serve("/feed.xml", rss(items))
    config_dir.write(
        feeds=[{"url": url}], settings={"backlog": {"mode": "newest", "count": 2, "hours": "24h"}}
    )
    bot = make_bot(config_dir)
    _, output = await poll_and_dispatch(bot)
    assert "story number 0" in output and "story number 1" in output
    assert "story number 2" not in output and "story number 99" not in output


async def test_old_item_resurfacing_with_a_new_id_is_not_posted(feed_server, config_dir, make_bot):
    url = feed_server.serve("/feed.xml", rss([]))
    config_dir.write(feeds=[{"url": url}], settings={"max_age": "72h"})
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    await poll_and_dispatch(bot)
    feed_server.serve("/feed.xml", rss([story(5, hours_ago=24 * 10, guid="new-id-for-old-story")]))
    due_everything(clock)
    report, output = await poll_and_dispatch(bot)
    assert report.new_items == 1
    assert output == ""


async def test_non_matching_items_are_stored_but_not_alerted(feed_server, config_dir, make_bot):
    url = feed_server.serve("/feed.xml", rss([]))
    config_dir.write(feeds=[{"url": url}])
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    await poll_and_dispatch(bot)
    unrelated = story(
        3,
        title="Prometheus 3.0 adds native histograms to the monitoring toolkit",
        description="Grafana Labs and the CNCF community ship PromQL changes.",
    )
    feed_server.serve("/feed.xml", rss([unrelated]))
    due_everything(clock)
    report, output = await poll_and_dispatch(bot)
    assert report.new_items == 1 and report.matched_items == 0
    assert output == ""


async def test_a_broken_feed_is_recorded_and_the_others_carry_on(feed_server, config_dir, make_bot):
    good = feed_server.serve("/good.xml", rss([]))
    html = feed_server.serve(
        "/html", "<!doctype html><html><body>Sign in</body></html>", content_type="text/html"
    )
    missing = feed_server.url("/missing.xml")
    config_dir.write(feeds=[{"url": good}, {"url": html}, {"url": missing}])
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    await poll_and_dispatch(bot)
    feed_server.serve("/good.xml", rss([story(1)]))
    due_everything(clock)
    _report, output = await poll_and_dispatch(bot)
    assert "story number 1" in output
    health = {row["url"]: row for row in feed_health(bot.db)}
    assert health[html]["last_error_kind"] == "not_a_feed"
    assert "HTML page" in health[html]["last_error"]
    assert health[missing]["last_status"] == 404
    assert health[missing]["error_count"] == 2
    assert health[good]["error_count"] == 0


async def test_failing_feed_backs_off_exponentially_and_comes_back(feed_server, config_dir, make_bot):
    url = feed_server.serve("/flaky.xml", "oops", status=500)
    other = feed_server.serve("/ok.xml", rss([]))
    config_dir.write(
        feeds=[{"url": url, "interval": "5m"}, {"url": other}], settings={"fetch": {"max_backoff": "1h"}}
    )
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)

    waits = []
    for _ in range(6):
        await bot.pipeline.run_cycle()
        row = {r["url"]: r for r in feed_health(bot.db)}[url]
        waits.append(round(row["next_fetch_at"] - clock.now))
        clock.advance(row["next_fetch_at"] - clock.now)
    assert waits == [300, 600, 1200, 2400, 3600, 3600]  # the interval, doubling per error, capped at 1h

    feed_server.serve("/flaky.xml", rss([story(1)]))
    await bot.pipeline.run_cycle()
    row = {r["url"]: r for r in feed_health(bot.db)}[url]
    assert row["error_count"] == 0 and row["last_status"] == 200


async def test_retry_after_and_cache_control_are_honoured(feed_server, config_dir, make_bot):
    limited = feed_server.serve("/limited.xml", "slow down", status=429, headers={"Retry-After": "7200"})
    cached = feed_server.serve("/cached.xml", rss([]), headers={"Cache-Control": "public, max-age=1800"})
    config_dir.write(feeds=[{"url": limited, "interval": "5m"}, {"url": cached, "interval": "5m"}])
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    await bot.pipeline.run_cycle()
    rows = {r["url"]: r for r in feed_health(bot.db)}
    assert round(rows[limited]["next_fetch_at"] - clock.now) == 7200
    assert round(rows[cached]["next_fetch_at"] - clock.now) == 1800


async def test_gone_feed_is_disabled(feed_server, config_dir, make_bot):
    gone = feed_server.serve("/gone.xml", "gone", status=410)
    config_dir.write(feeds=[{"url": gone}, {"url": feed_server.serve("/ok.xml", rss([]))}])
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    await bot.pipeline.run_cycle()
    clock.advance(30 * 86400)
    await bot.pipeline.run_cycle()
    assert len(feed_server.hits("/gone.xml")) == 1
    row = {r["url"]: r for r in feed_health(bot.db)}[gone]
    assert row["disabled_reason"] == "410 Gone"


async def test_every_feed_unreachable_is_treated_as_our_network_being_down(config_dir, make_bot):
    # nothing listens on these ports: every fetch fails to connect
    config_dir.write(feeds=[{"url": "http://127.0.0.1:9/a.xml"}, {"url": "http://127.0.0.1:9/b.xml"}])
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    report = await bot.pipeline.run_cycle()
    assert report.offline
    for row in feed_health(bot.db):
        assert row["error_count"] == 0  # no backoff: the feeds did nothing wrong
        assert row["last_error_kind"] == "offline"
        assert 30 <= row["next_fetch_at"] - clock.now <= 60  # soon, but not at every 10 s tick


async def test_file_edit_of_feeds_takes_effect_next_cycle(feed_server, config_dir, make_bot):
    first = feed_server.serve("/a.xml", rss([]))
    config_dir.write(feeds=[{"url": first}])
    bot = make_bot(config_dir)
    await bot.pipeline.run_cycle()
    second = feed_server.serve("/b.xml", rss([]))
    config_dir.write(feeds=[{"url": first}, {"url": second}])
    await bot.pipeline.run_cycle()
    assert len(feed_server.hits("/b.xml")) == 1


async def test_a_chat_added_feed_whose_host_turns_private_is_not_fetched(feed_server, config_dir, make_bot):
    from bot.config import FeedConfig
    from bot.store import transaction
    from bot.store.feeds import feed_health
    from bot.store.overrides import save_edit

    url = feed_server.serve("/rebound.xml", rss([story(1)]))  # 127.0.0.1: as if DNS now said so
    config_dir.write(feeds=[], settings={"fetch": {"allow_private": False}})
    bot = make_bot(config_dir)
    with transaction(bot.db):
        save_edit(bot.db, kind="feeds", key=url, value=FeedConfig(url=url), file_entry=None, at=time.time(),
                  actor="U1", platform="slack")  # fmt: skip
    report = await bot.pipeline.run_cycle()
    assert feed_server.hits("/rebound.xml") == []
    assert report.failed == 1
    [row] = feed_health(bot.db)
    assert row["last_error_kind"] == "refused" and "loopback" in row["last_error"]


async def test_a_busy_feed_is_polled_more_often_than_a_quiet_one(feed_server, config_dir, make_bot):
    busy = feed_server.serve("/busy.xml", rss([story(0)]))
    quiet = feed_server.serve("/quiet.xml", rss([story(1000)]))
    config_dir.write(feeds=[{"url": busy}, {"url": quiet}])
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    await bot.pipeline.run_cycle()  # first fetch: backlog, which says nothing of how busy a feed is
    feed_server.serve("/busy.xml", rss([story(n) for n in range(40)]))
    due_everything(clock)
    await bot.pipeline.run_cycle()
    due_everything(clock)  # the publishing rates are counted again
    await bot.pipeline.run_cycle()
    rows = {r["url"]: r for r in feed_health(bot.db)}
    waits = {url: rows[url]["next_fetch_at"] - clock.now for url in (busy, quiet)}
    assert waits[busy] < 300 < waits[quiet]  # the square-root law around the 5-minute default

    config_dir.write(feeds=[{"url": busy}, {"url": quiet}], settings={"schedule": {"adaptive": False}})
    due_everything(clock)
    await bot.pipeline.run_cycle()
    rows = {r["url"]: r for r in feed_health(bot.db)}
    assert {round(rows[url]["next_fetch_at"] - clock.now) for url in (busy, quiet)} == {300}
