"""Fetching over real HTTP on 127.0.0.1: caps, timeouts, redirects, compression, headers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import FetchSettings
from bot.poll.fetch import FeedHttpClient, fetch_feed, parse_max_age, parse_retry_after
from tests.fakes.feed_server import rss


@pytest.fixture
def settings() -> FetchSettings:
    return FetchSettings(
        connect_timeout=1, read_timeout=0.5, total_timeout=1.5, max_bytes=20_000, max_redirects=2
    )


async def fetch(settings: FetchSettings, url: str, **kw):  # type: ignore[no-untyped-def]
    async with FeedHttpClient(settings) as http:  # the feed server is on 127.0.0.1: allowed explicitly
        return await fetch_feed(
            http, url, allow_private=True, etag=kw.get("etag"), last_modified=kw.get("last_modified"),
            settings=settings,
        )  # fmt: skip


async def test_response_over_the_size_cap_is_refused(feed_server, settings):
    url = feed_server.serve("/big.xml", b"x" * 50_000)
    result = await fetch(settings, url)
    assert result.error_kind == "too_large" and result.body is None


async def test_size_cap_applies_to_the_decompressed_body(feed_server, settings):
    url = feed_server.serve("/bomb.xml", b"<" * 5_000_000, gzip=True)  # ~5 KB on the wire
    result = await fetch(settings, url)
    assert result.error_kind == "too_large"


async def test_gzip_bodies_are_decoded(feed_server, settings):
    body = rss([{"title": "hello"}]).encode()
    url = feed_server.serve("/gz.xml", body, gzip=True)
    result = await fetch(settings, url)
    assert result.body == body
    assert "gzip" in feed_server.hits("/gz.xml")[0].headers["Accept-Encoding"]


async def test_a_hanging_server_times_out(feed_server, settings):
    url = feed_server.serve("/hang.xml", rss([]), delay=1.5)
    result = await fetch(settings, url)
    assert result.error_kind == "timeout" and result.unreachable


async def test_a_server_dripping_bytes_hits_the_total_deadline(feed_server, settings):
    url = feed_server.serve(
        "/drip.xml", b"a" * 200, drip_interval=0.1
    )  # each read is quick (well inside read_timeout); the whole would take 20 s
    result = await fetch(settings, url)
    assert result.error_kind == "timeout" and "within 1.5s" in (result.error or "")
    assert 1.4 < result.elapsed < 2.5


async def test_redirects_are_followed_but_bounded(feed_server, settings):
    feed_server.serve("/r1", redirect_to="/r2")
    feed_server.serve("/r2", redirect_to="/r3")
    feed_server.serve("/r3", redirect_to="/final.xml")
    feed_server.serve("/final.xml", rss([]))
    assert (await fetch(settings, feed_server.url("/r2"))).status == 200
    assert (await fetch(settings, feed_server.url("/r1"))).error_kind == "redirects"


async def test_requests_carry_a_clear_user_agent_and_accept_header(feed_server, settings):
    url = feed_server.serve("/f.xml", rss([]))
    await fetch(settings, url)
    headers = feed_server.hits("/f.xml")[0].headers
    assert headers["User-Agent"].startswith("PrometheusNewsBot/")
    assert "application/rss+xml" in headers["Accept"]


async def test_connection_refused_is_a_network_error(settings):
    result = await fetch(settings, "http://127.0.0.1:9/feed.xml")
    assert result.error_kind == "network" and result.unreachable and result.status is None


async def test_invalid_url_is_an_error_value_not_an_exception(settings):
    result = await fetch(settings, "http://exa mple.com/feed")
    assert result.error_kind == "network"


def test_retry_after_accepts_seconds_fractions_and_dates():
    assert parse_retry_after("120") == 120
    assert parse_retry_after("0.5") == 0.5
    now = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after("Wed, 25 Nov 2026 10:00:30 GMT", now=now) == pytest.approx(30)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_cache_control_max_age_is_read():
    assert parse_max_age("public, max-age=600") == 600
    assert parse_max_age("no-cache") is None
