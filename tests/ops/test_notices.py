"""Notices end to end: a real feed server, the real poll cycle on a settable clock, a real SQLite
file, and the notice check posting to the console (or a flaky fake) admin channel."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from bot.core.notices import NoticeChange
from bot.deliver.adapters.slack import SlackAlertSender, make_slack_client
from bot.errors import DeliveryError
from bot.ops.notices import check_notices, pack_messages
from bot.store.notices import notice_states
from tests.conftest import TestClock
from tests.fakes.feed_server import rss
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

T0 = 1_800_000_000.0
HOUR, DAY = 3600.0, 86400.0
ADMIN = {"admin_channel": {"platform": "console", "channel": "ops"}}


def story(clock: TestClock, n: int, title: str) -> dict[str, str]:
    return {
        "title": title,
        "link": f"https://news.example.com/story-{n}",
        "guid": f"story-{n}",
        "description": "Details.",
        "pubDate": format_datetime(datetime.fromtimestamp(clock.now, UTC)),
    }


async def poll_at(bot, clock: TestClock, when: float) -> None:  # type: ignore[no-untyped-def]
    clock.now = when
    await bot.pipeline.run_cycle()


async def check(bot, clock: TestClock) -> int:  # type: ignore[no-untyped-def]
    return await check_notices(bot.db, bot.config.effective(), bot.senders, clock)


def notices(bot) -> list[str]:  # type: ignore[no-untyped-def]
    return [line for line in bot.console_output.getvalue().splitlines() if line.startswith("[notice]")]


async def test_feed_failing_for_a_day_is_reported_once_and_its_recovery_once(
    feed_server, config_dir, make_bot
):
    clock = TestClock(T0)
    url = feed_server.serve("/ai.xml", rss([story(clock, 1, "Unrelated robotics news")]))
    config_dir.write(feeds=[{"url": url, "name": "TechCrunch AI"}], settings=ADMIN)
    bot = make_bot(config_dir, clock=clock)
    await poll_at(bot, clock, T0)  # works once
    feed_server.serve("/ai.xml", "busy", status=503)
    for hours in (1, 7, 13):  # failing, backing off up to max_backoff (6 h)
        await poll_at(bot, clock, T0 + hours * HOUR)
    assert await check(bot, clock) == 0  # 13 hours: not a day yet
    for hours in (19, 25):
        await poll_at(bot, clock, T0 + hours * HOUR)

    assert await check(bot, clock) == 1
    assert notices(bot) == [
        "[notice] Feed 'TechCrunch AI' has failed for 25 hours: "
        "HTTP 503 Service Unavailable (5 failed polls in a row)"
    ]
    clock.advance(HOUR)
    assert await check(bot, clock) == 0  # raised already: nothing more while it stays down
    await poll_at(bot, clock, T0 + 31 * HOUR)
    assert await check(bot, clock) == 0
    assert len(notices(bot)) == 1

    feed_server.serve("/ai.xml", rss([story(clock, 2, "Unrelated robotics news again")]))
    await poll_at(bot, clock, T0 + 37 * HOUR)
    assert await check(bot, clock) == 1
    assert notices(bot)[1] == "[notice] Feed 'TechCrunch AI' is back (reported down 12 hours ago)"
    clock.advance(HOUR)
    assert await check(bot, clock) == 0
    assert len(notices(bot)) == 2


async def test_rule_silent_for_eight_days_after_a_week_of_polling_is_reported_once(
    feed_server, config_dir, make_bot
):
    clock = TestClock(T0)
    items = [story(clock, 1, "Project Prometheus hires")]
    url = feed_server.serve("/feed.xml", rss(items))
    config_dir.write(feeds=[{"url": url}], settings=ADMIN)  # rules: prometheus and bajaj
    bot = make_bot(config_dir, clock=clock)
    await poll_at(bot, clock, T0)  # prometheus matches on day one; bajaj never does
    for day in range(1, 7):
        await poll_at(bot, clock, T0 + day * DAY)
        assert await check(bot, clock) == 0, f"paged on day {day}"  # not polling for a week yet
    clock.now = T0 + 7 * DAY - HOUR
    items.append(story(clock, 2, "Bezos's Project Prometheus buys a robot maker"))
    feed_server.serve("/feed.xml", rss(items))
    await poll_at(bot, clock, T0 + 7 * DAY - HOUR)  # prometheus matches again

    await poll_at(bot, clock, T0 + 8 * DAY)
    assert await check(bot, clock) == 1
    assert notices(bot) == ["[notice] Rule 'bajaj' has matched nothing in 8 days, ever since it was set up"]
    clock.advance(10 * 60)
    assert await check(bot, clock) == 0

    items.append(story(clock, 3, "Vik Bajaj on the $6.2bn venture"))
    feed_server.serve("/feed.xml", rss(items))
    await poll_at(bot, clock, T0 + 9 * DAY)
    assert await check(bot, clock) == 1
    assert notices(bot)[1] == "[notice] Rule 'bajaj' is matching again (reported silent 24 hours ago)"


class FlakySender:
    """An admin channel on 'slack' that refuses the first `failures` notices."""

    platform = "slack"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.posted: list[tuple[str, str]] = []

    async def send_notice(self, channel: str, text: str) -> str:
        if self.failures:
            self.failures -= 1
            raise DeliveryError("HTTP 503", retryable=True)
        self.posted.append((channel, text))
        return f"ts-{len(self.posted)}"


async def test_a_failed_notice_send_records_nothing_and_is_retried_next_run(
    feed_server, config_dir, make_bot
):
    clock = TestClock(T0)
    url = feed_server.serve("/gone.xml", "gone", status=410)
    config_dir.write(
        feeds=[{"url": url, "name": "Old feed"}],
        settings={"admin_channel": {"platform": "slack", "channel": "C0ADMIN"}},
    )
    bot = make_bot(config_dir, clock=clock)
    slack = FlakySender(failures=1)
    bot.senders["slack"] = slack
    await poll_at(bot, clock, T0)  # 410 Gone: stopped at once, an admin must act

    assert await check(bot, clock) == 0
    assert slack.posted == []
    assert f"feed-down:{url}" not in notice_states(bot.db)

    clock.advance(600)
    assert await check(bot, clock) == 1
    assert slack.posted == [("C0ADMIN", f"Feed 'Old feed' is stopped (410 Gone) and is no longer polled; "
                                        f"an admin can resume it once it is fixed: {url}")]  # fmt: skip
    assert notice_states(bot.db)[f"feed-down:{url}"].state == "raised"
    clock.advance(600)
    assert await check(bot, clock) == 0
    assert len(slack.posted) == 1


async def test_no_admin_channel_or_platform_not_connected_posts_nothing_and_keeps_notices_due(
    feed_server, config_dir, make_bot
):
    clock = TestClock(T0)
    url = feed_server.serve("/gone.xml", "gone", status=410)
    config_dir.write(feeds=[{"url": url}])
    bot = make_bot(config_dir, clock=clock)
    await poll_at(bot, clock, T0)
    assert await check(bot, clock) == 0
    config_dir.write(
        feeds=[{"url": url}],
        settings={"admin_channel": {"platform": "discord", "channel": "100000000000000001"}},
    )
    assert await check(bot, clock) == 0  # discord is not connected
    assert notice_states(bot.db) == {}
    config_dir.write(feeds=[{"url": url}], settings=ADMIN)
    assert await check(bot, clock) == 1


async def test_many_notices_at_once_share_messages_of_bounded_size(feed_server, config_dir, make_bot):
    clock = TestClock(T0)
    feeds = [
        {"url": feed_server.serve(f"/gone{n}.xml", "gone", status=410), "name": f"Feed {n}"}
        for n in range(30)
    ]
    config_dir.write(feeds=feeds, settings=ADMIN)
    bot = make_bot(config_dir, clock=clock)
    await poll_at(bot, clock, T0)
    assert await check(bot, clock) == 30
    output = bot.console_output.getvalue()
    messages = output.split("[notice] ")[1:]
    assert 2 <= len(messages) < 30
    assert all(len(message) <= 1800 for message in messages)
    assert all(f"Feed 'Feed {n}' is stopped" in output for n in range(30))


def test_pack_messages_keeps_order_and_never_splits_a_notice():
    changes = [NoticeChange(key=str(n), state="raised", at=0, text="x" * 700) for n in range(5)]
    batches = pack_messages(changes, limit=1500)
    assert [[change.key for change in batch] for batch in batches] == [["0", "1"], ["2", "3"], ["4"]]
    huge = [NoticeChange(key="big", state="raised", at=0, text="y" * 5000)]
    assert pack_messages(huge, limit=1500) == [huge]


async def test_notice_goes_to_slack_through_the_real_client_and_a_refused_send_is_retried(
    feed_server, config_dir, make_bot
):
    slack = await FakeSlackAPI().start()
    try:
        clock = TestClock(T0)
        url = feed_server.serve("/gone.xml", "gone", status=410)
        config_dir.write(
            feeds=[{"url": url, "name": "Old <!channel> feed"}],
            settings={"admin_channel": {"platform": "slack", "channel": "C0ADMIN"}},
        )
        bot = make_bot(config_dir, clock=clock)
        bot.senders["slack"] = SlackAlertSender(make_slack_client(BOT_TOKEN, slack.api_url))
        await poll_at(bot, clock, T0)
        slack.fail_next("chat.postMessage", error="channel_not_found")

        assert await check(bot, clock) == 0
        assert slack.messages == [] and notice_states(bot.db) == {}
        clock.advance(600)
        assert await check(bot, clock) == 1
        (message,) = slack.messages
        assert message["channel"] == "C0ADMIN"
        assert "is stopped (410 Gone)" in message["text"] and "<!channel>" not in message["text"]
        clock.advance(600)
        assert await check(bot, clock) == 0
        assert len(slack.messages) == 1 and slack.calls["chat.postMessage"] == 2
    finally:
        await slack.close()
