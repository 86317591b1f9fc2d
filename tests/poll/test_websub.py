"""WebSub push end to end: a local feed server names a local fake hub; the bot discovers it on a poll,
subscribes through its guarded client, answers the hub's verification on its real callback server,
and takes signed pushes into the same pipeline as polls (console adapter output). All on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.app import PUBLIC_MAX_BODY
from bot.core.websub import sign
from bot.deliver.dispatch import dispatch_due
from bot.net.inbound import run_public_server, start_public_server
from bot.ops.metrics import Snapshot, render_metrics
from bot.store.websub import all_subscriptions, current, note_hub
from tests.conftest import TestClock
from tests.fakes.feed_server import rss
from tests.fakes.websub_hub import FakeHub
from tests.poll.test_pipeline import story

PLACEHOLDER = "http://127.0.0.1:9"  # replaced by the callback server's real port once it listens


@pytest.fixture
async def hub() -> AsyncIterator[FakeHub]:
    server = await FakeHub().start()
    yield server
    await server.stop()


class Setup:
    """A bot with WebSub on, its callback server listening, and one feed naming the fake hub."""

    def __init__(self, bot: Any, feed_server: Any, hub: FakeHub, clock: TestClock) -> None:
        self.bot, self.feed_server, self.hub, self.clock = bot, feed_server, hub, clock
        self.topic = feed_server.url("/feed.xml")
        self.runner: Any = None

    def serve(self, items: list[dict[str, str]]) -> None:
        self.feed_server.serve("/feed.xml", rss(items, links={"hub": self.hub.url, "self": self.topic}))

    async def start(self) -> Setup:
        self.runner, port = await start_public_server(
            [self.bot.websub.add_routes], "127.0.0.1", 0, max_body=PUBLIC_MAX_BODY
        )
        self.bot.websub.public_url = f"http://127.0.0.1:{port}"
        return self

    async def subscribed(self) -> None:
        """First poll (backlog, discovers the hub), then the subscribe request and its verification."""
        await self.bot.pipeline.run_cycle()
        assert await self.bot.websub.run_due() == 1
        await self.hub.wait_verifications(len(self.hub.verifications) + 1)

    async def dispatch(self) -> str:
        await dispatch_due(self.bot.db, self.bot.senders, clock=self.bot.clock)
        return str(self.bot.console_output.getvalue())

    def items(self) -> int:
        return int(self.bot.db.execute("SELECT count(*) FROM items").fetchone()[0])


@pytest.fixture
async def setup(feed_server, config_dir, make_bot, hub) -> AsyncIterator[Setup]:  # type: ignore[no-untyped-def]
    config_dir.write(
        feeds=[{"url": feed_server.url("/feed.xml"), "name": "Pushed News"}],
        settings={"websub": {"public_url": PLACEHOLDER, "lease": "1000s", "quiet_after": "10m"}},
    )
    clock = TestClock(time.time())
    bot = make_bot(config_dir, clock=clock)
    ready = Setup(bot, feed_server, hub, clock)
    ready.serve([story(1)])
    await ready.start()
    yield ready
    await ready.runner.cleanup()


async def test_subscribe_verify_and_a_signed_push_posts_the_alert_once(setup: Setup) -> None:
    await setup.subscribed()

    request = setup.hub.requests[0]
    assert request["hub.mode"] == "subscribe" and request["hub.topic"] == setup.topic
    assert request["hub.lease_seconds"] == "1000"
    assert len(request["hub.secret"]) == 64  # secrets.token_hex(32)
    token = request["hub.callback"].rsplit("/websub/", 1)[1]
    assert len(token) >= 40  # unguessable: secrets.token_urlsafe(32)
    subscription = current(setup.bot.db, setup.feed_server.url("/feed.xml"))
    assert subscription is not None and subscription.state == "verified"
    assert subscription.lease_expires_at == pytest.approx(setup.clock.now + 1000)

    statuses = await setup.hub.publish(setup.topic, rss([story(2)]))
    assert statuses == [202]
    output = await setup.dispatch()
    assert output.count("story number 2") == 1 and "story number 1" not in output

    # The next poll carries the pushed item too: it is known, so nothing is posted again.
    setup.serve([story(1), story(2)])
    setup.clock.advance(7200)
    report = await setup.bot.pipeline.run_cycle()
    assert report.fetched == 1 and report.new_items == 0
    assert (await setup.dispatch()).count("story number 2") == 1


async def test_a_push_and_a_poll_of_the_same_item_at_once_post_it_once(setup: Setup) -> None:
    await setup.subscribed()
    setup.serve([story(1), story(3)])
    setup.clock.advance(7200)
    await asyncio.gather(setup.bot.pipeline.run_cycle(), setup.hub.publish(setup.topic, rss([story(3)])))
    output = await setup.dispatch()
    assert output.count("story number 3") == 1
    assert (
        setup.bot.db.execute("SELECT count(*) FROM items WHERE title LIKE '%story number 3'").fetchone()[0]
        == 1
    )


async def test_a_push_without_a_valid_signature_stores_nothing(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    await setup.subscribed()
    before = setup.items()
    body = rss([story(4)])
    caplog.set_level(logging.DEBUG, logger="bot.poll.websub")
    assert await setup.hub.publish(setup.topic, body, unsigned=True) == [202]  # 2xx: no retry storm
    assert await setup.hub.publish(setup.topic, body, signature="sha256=" + "0" * 64) == [202]
    assert await setup.hub.publish(setup.topic, body, signature="md5=abc") == [202]
    forged = sign("not-the-secret", body.encode())  # signed, but with another secret
    assert await setup.hub.publish(setup.topic, body, signature=forged) == [202]

    assert setup.items() == before
    assert await setup.dispatch() == ""
    bad = setup.bot.db.execute("SELECT bad_signatures, pushes FROM websub_subscriptions").fetchone()
    assert tuple(bad) == (4, 0)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "signature" in r.getMessage()]
    assert len(warnings) == 1  # logged once; the rest at DEBUG
    secret = setup.hub.requests[0]["hub.secret"]
    assert all(secret not in r.getMessage() for r in caplog.records)
    metrics = render_metrics(setup.bot.db.conn, Snapshot(now=setup.clock.now)).decode()
    assert "newsbot_websub_bad_signatures_total 4.0" in metrics
    assert 'newsbot_websub_subscriptions{state="verified"} 1.0' in metrics

    # every algorithm the spec names is accepted when the HMAC is right
    for n, algorithm in enumerate(("sha1", "sha384", "sha512"), start=5):
        assert await setup.hub.publish(setup.topic, rss([story(n)]), algorithm=algorithm) == [202]
    output = await setup.dispatch()
    assert all(f"story number {n}" in output for n in (5, 6, 7)) and "story number 4" not in output


async def test_verification_for_an_unknown_token_a_wrong_topic_or_no_request_is_404(setup: Setup) -> None:
    await setup.subscribed()
    callback = setup.hub.requests[0]["hub.callback"]
    base = callback.rsplit("/websub/", 1)[0]
    ask = {
        "hub.mode": "subscribe",
        "hub.topic": setup.topic,
        "hub.challenge": "c-123",
        "hub.lease_seconds": "99",
    }

    assert await setup.hub.get(f"{base}/websub/not-a-token", ask) == (404, "not found")
    assert (await setup.hub.get(callback, {**ask, "hub.topic": "https://evil.example/feed"}))[0] == 404
    # right token and topic, but the bot asked for nothing: a hub cannot make it confirm
    assert (await setup.hub.get(callback, ask))[0] == 404
    assert (await setup.hub.get(callback, {**ask, "hub.mode": "unsubscribe"}))[0] == 404
    subscription = current(setup.bot.db, setup.topic)
    assert (
        subscription is not None and subscription.state == "verified" and subscription.lease_seconds == 1000
    )
    # a push to a token that does not exist: 410, the spec's "stop sending"
    async with setup.hub._client.post(f"{base}/websub/nope", data=b"x") as response:  # type: ignore[union-attr]
        assert response.status == 410


async def test_leases_are_renewed_at_80_percent_and_failures_are_retried_with_backoff(setup: Setup) -> None:
    await setup.subscribed()
    first = current(setup.bot.db, setup.topic)
    assert first is not None

    setup.clock.advance(700)  # 70% of the 1000 s lease
    assert await setup.bot.websub.run_due() == 0
    setup.clock.advance(110)  # 81%
    assert await setup.bot.websub.run_due() == 1
    await setup.hub.wait_verifications(2)
    renewed = current(setup.bot.db, setup.topic)
    assert renewed is not None and renewed.state == "verified"
    assert renewed.token == first.token  # same callback and secret: pushes in between still check out
    assert renewed.lease_expires_at == pytest.approx(setup.clock.now + 1000)
    assert [r["hub.callback"] for r in setup.hub.requests] == [setup.hub.requests[0]["hub.callback"]] * 2

    # The hub now refuses: the subscription stays live until its lease ends, retried with backoff.
    setup.hub.answer_status = 503
    setup.clock.advance(810)
    assert await setup.bot.websub.run_due() == 1
    failing = current(setup.bot.db, setup.topic)
    assert failing is not None and failing.state == "verified" and failing.failures == 1
    assert await setup.bot.websub.run_due() == 0  # backing off
    setup.clock.advance(61)
    assert await setup.bot.websub.run_due() == 1
    setup.clock.advance(400)  # past the lease: expired, and asked again at once
    setup.hub.answer_status = 202
    assert await setup.bot.websub.run_due() == 1
    await setup.hub.wait_verifications(3)
    again = current(setup.bot.db, setup.topic)
    assert again is not None and again.state == "verified" and again.failures == 0


async def test_a_live_subscription_slows_polling_and_a_quiet_hub_restores_it(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    await setup.subscribed()
    url = setup.feed_server.url("/feed.xml")

    def next_fetch_in() -> float:
        row = setup.bot.db.execute("SELECT next_fetch_at FROM feeds WHERE url = ?", [url]).fetchone()
        return float(row[0]) - setup.clock.now

    setup.clock.advance(400)
    setup.serve([story(1), story(8)])
    await setup.bot.pipeline.run_cycle()  # within quiet_after of the verification: still live
    assert next_fetch_in() == pytest.approx(3600, abs=5)  # websub.poll_interval, not the 5 m schedule
    assert current(setup.bot.db, url).state == "verified"  # type: ignore[union-attr]

    setup.clock.advance(300)  # the hub has said nothing for over quiet_after, and a poll finds news
    setup.serve([story(1), story(8), story(9)])
    await setup.bot.pipeline.run_cycle(only_due=False)
    assert current(setup.bot.db, url).state == "stale"  # type: ignore[union-attr]
    assert next_fetch_in() <= 1200  # the normal (adaptive, at most 20 m) schedule again
    assert any("hub has pushed nothing" in r.getMessage() for r in caplog.records)

    # a stale subscription is asked once more; an authentic push makes it live again anyway
    assert await setup.hub.publish(setup.topic, rss([story(10)])) == [202]
    assert current(setup.bot.db, url).state == "verified"  # type: ignore[union-attr]


async def test_a_feed_removed_from_the_config_is_unsubscribed(setup: Setup, config_dir) -> None:  # type: ignore[no-untyped-def]
    await setup.subscribed()
    config_dir.write(feeds=[], settings={"websub": {"public_url": PLACEHOLDER}})
    assert await setup.bot.websub.run_due() == 1
    verifications = await setup.hub.wait_verifications(2)
    assert setup.hub.requests[-1]["hub.mode"] == "unsubscribe" and "hub.secret" not in setup.hub.requests[-1]
    assert verifications[-1].mode == "unsubscribe" and verifications[-1].echoed
    assert all_subscriptions(setup.bot.db) == [] and setup.hub.subscriptions == {}


async def test_a_push_larger_than_fetch_max_bytes_is_413(setup: Setup) -> None:
    await setup.subscribed()
    huge = "<!-- " + "x" * 5_000_001 + " -->" + rss([story(11)])
    assert await setup.hub.publish(setup.topic, huge) == [413]
    assert await setup.dispatch() == ""


@pytest.mark.parametrize(
    ("hub_url", "allow_private", "why"),
    [
        ("https://127.0.0.1:{port}/hub", False, "loopback"),  # the guard, at connect
        ("https://10.1.2.3/hub", False, "private"),
        ("https://169.254.169.254/latest/hub", True, "metadata"),  # never, whatever the settings
        ("https://metadata.google.internal/hub", True, "metadata"),
        ("http://hub.example.com/hub", False, "not https"),  # hub.secret would travel in clear
    ],
)
async def test_a_hub_at_a_refused_address_gets_no_request(  # type: ignore[no-untyped-def]
    config_dir, make_bot, hub, hub_url, allow_private, why
) -> None:
    feed = "https://feeds.example.com/a.xml"  # never fetched here: the hub is recorded as a poll would
    config_dir.write(
        feeds=[{"url": feed, "allow_private": allow_private}],
        settings={"websub": {"public_url": "https://bot.example.com"}, "fetch": {"allow_private": False}},
    )
    bot = make_bot(config_dir)
    note_hub(bot.db, feed, hub_url.format(port=hub.port), feed, time.time())
    assert await bot.websub.run_due() == 1
    subscription = current(bot.db, feed)
    assert subscription is not None and subscription.state == "failed" and subscription.pending is None
    assert (subscription.next_attempt_at or 0) > time.time() + 30  # backed off
    error = bot.db.execute("SELECT last_error FROM websub_subscriptions").fetchone()[0]
    assert error.startswith("refused") and why in error
    assert hub.requests == []


async def test_a_private_hub_is_used_where_the_feed_may_reach_private_addresses(  # type: ignore[no-untyped-def]
    config_dir, make_bot, hub
) -> None:
    feed = "https://feeds.example.com/a.xml"
    config_dir.write(
        feeds=[{"url": feed, "allow_private": True}],
        settings={"websub": {"public_url": "https://bot.example.com"}, "fetch": {"allow_private": False}},
    )
    bot = make_bot(config_dir)
    note_hub(bot.db, feed, hub.url, feed, time.time())
    await bot.websub.run_due()
    assert [r["hub.topic"] for r in hub.requests] == [feed]
    assert hub.requests[0]["hub.callback"].startswith("https://bot.example.com/websub/")


async def test_websub_is_off_without_a_public_url(feed_server, config_dir, make_bot, hub) -> None:  # type: ignore[no-untyped-def]
    url = feed_server.serve("/feed.xml", rss([story(1)], links={"hub": hub.url}))
    config_dir.write(feeds=[{"url": url}])
    bot = make_bot(config_dir)
    await bot.pipeline.run_cycle()
    assert bot.websub is None and all_subscriptions(bot.db) == []


async def test_slack_http_mode_carries_the_callback_on_its_port_with_the_push_cap_not_slacks(  # type: ignore[no-untyped-def]
    feed_server, config_dir, make_bot, hub, fake_slack
) -> None:
    from bot.deliver.adapters.slack import MAX_BODY, slack_routes
    from tests.deliver.test_slack_app import SECRET, SmallCore, free_port, make_app, running

    topic = feed_server.url("/feed.xml")
    feed_server.serve("/feed.xml", rss([story(1)], links={"hub": hub.url, "self": topic}))
    config_dir.write(feeds=[{"url": topic}], settings={"websub": {"public_url": PLACEHOLDER}})
    bot = make_bot(config_dir)
    port = free_port()
    bot.websub.public_url = f"http://127.0.0.1:{port}"
    serve = run_public_server(  # the service's one public server, with Slack's body cap
        [slack_routes(make_app(fake_slack, SmallCore()), SECRET), bot.websub.add_routes],
        "127.0.0.1", port, max_body=MAX_BODY,
    )  # fmt: skip
    async with running(serve):
        for _ in range(100):  # wait for the listener, at most ~5 s
            with contextlib.suppress(aiohttp.ClientConnectionError):
                if (await hub.get(f"http://127.0.0.1:{port}/healthz", {}))[0] == 200:
                    break
            await asyncio.sleep(0.05)
        await bot.pipeline.run_cycle()
        await bot.websub.run_due()
        assert (await hub.wait_verifications(1))[0].echoed
        padding = "<!-- " + "x" * MAX_BODY + " -->"  # over Slack's body cap, within fetch.max_bytes
        assert await hub.publish(topic, padding + rss([story(12)])) == [202]
    await dispatch_due(bot.db, bot.senders, clock=bot.clock)
    assert "story number 12" in bot.console_output.getvalue()
