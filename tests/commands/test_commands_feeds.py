"""feeds subcommands end to end: the default validator fetches from a real local HTTP server."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot.store.audit import recent_audit
from bot.store.overrides import apply_overrides
from tests.commands.helpers import Harness, reply_text, snapshot
from tests.conftest import ConfigDir
from tests.fakes.feed_server import FeedServer

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Local News</title>
<item><title>Bezos fund</title><link>https://news.example/1</link></item></channel></rss>"""
HTML = "<!doctype html><html><head><title>Not a feed</title></head><body>Hello</body></html>"
FILE_FEED = {"url": "http://127.0.0.1:9/file.xml", "name": "From file"}


@pytest.fixture
def harness(config_dir: ConfigDir, tmp_path: Path) -> Harness:
    config_dir.write(feeds=[FILE_FEED])  # fetch.allow_private: true (tests reach 127.0.0.1)
    return Harness(config_dir.path, tmp_path / "bot.db")


def feed_urls(harness: Harness) -> list[str]:
    return harness.core.names("feeds")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_feeds_add_fetches_once_and_saves_a_real_feed(
    harness: Harness, feed_server: FeedServer
) -> None:
    url = feed_server.serve("/rss.xml", RSS)
    reply = await harness.run(f"feeds add {url} Local News --interval 10m")
    assert not reply.is_error, reply
    assert len(feed_server.hits("/rss.xml")) == 1
    assert feed_urls(harness) == [FILE_FEED["url"], url]
    added = apply_overrides(harness.file_config(), harness.db).feeds[1]
    assert (added.name, added.interval) == ("Local News", 600)
    assert recent_audit(harness.db, 1)[0]["action"] == "feeds.add"


async def test_feeds_add_refuses_an_html_page(harness: Harness, feed_server: FeedServer) -> None:
    url = feed_server.serve("/page", HTML, content_type="text/html")
    before = snapshot(harness.db)
    reply = await harness.run(f"feeds add {url}")
    assert reply.is_error and "HTML page, not a feed" in reply_text(reply)
    assert snapshot(harness.db) == before


async def test_feeds_add_refuses_a_closed_port(harness: Harness) -> None:
    before = snapshot(harness.db)
    reply = await harness.run(f"feeds add http://127.0.0.1:{closed_port()}/rss.xml")
    assert reply.is_error and "could not fetch it" in reply_text(reply)
    assert snapshot(harness.db) == before


async def test_feeds_add_refuses_a_404(harness: Harness, feed_server: FeedServer) -> None:
    reply = await harness.run(f"feeds add {feed_server.url('/missing.xml')}")
    assert reply.is_error and "HTTP 404" in reply_text(reply)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:{port}/rss.xml", "loopback"),
        ("http://localhost:{port}/rss.xml", "loopback"),
        ("http://[::1]:{port}/rss.xml", "loopback"),
        ("http://10.1.2.3/rss.xml", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("http://user:secret@127.0.0.1:{port}/rss.xml", "user name or password"),
        ("ftp://127.0.0.1/rss.xml", "https://"),
        ("file:///etc/passwd", "https://"),
    ],
)
async def test_unsafe_feed_urls_are_refused_without_any_request(
    config_dir: ConfigDir, tmp_path: Path, feed_server: FeedServer, url: str, expected: str
) -> None:
    config_dir.write(feeds=[FILE_FEED], settings={"fetch": {"allow_private": False}})
    harness = Harness(config_dir.path, tmp_path / "bot.db")
    feed_server.serve("/rss.xml", RSS)
    before = snapshot(harness.db)
    reply = await harness.run(f"feeds add {url.format(port=feed_server.port)}")
    assert reply.is_error and expected in reply_text(reply)
    assert feed_server.requests == []
    assert snapshot(harness.db) == before


async def test_a_redirect_to_a_metadata_address_is_refused_before_it_is_sent(
    harness: Harness, feed_server: FeedServer
) -> None:
    # Private hosts are allowed in this config (127.0.0.1), metadata addresses never are.
    # A name refused without resolving it: if the guard ever regressed, no request could leave the machine.
    url = feed_server.serve("/hop", redirect_to="http://metadata.google.internal/computeMetadata/v1/")
    before = snapshot(harness.db)
    reply = await harness.run(f"feeds add {url}")
    assert reply.is_error and "redirected to a refused address" in reply_text(reply)
    assert "metadata" in reply_text(reply)
    assert len(feed_server.hits("/hop")) == 1
    assert snapshot(harness.db) == before


async def test_feeds_add_rejects_duplicates_and_bad_input(harness: Harness, feed_server: FeedServer) -> None:
    before = snapshot(harness.db)
    for text, expected in [
        (f"feeds add {FILE_FEED['url']}", "already watched"),
        ("feeds add", "Give the feed's URL"),
        ("feeds add not-a-url", "http:// or https://"),
        (f"feeds add {feed_server.url('/x')} --interval soon", "not a duration"),
        (f"feeds add {feed_server.url('/x')} --colour red", "Unknown option --colour"),
        ('feeds add "http://127.0.0.1/x', "never closed"),
        ("feeds remove 7", "No watched feed matches '7'"),
        ("feeds pause", "Give one feed"),
        ("feeds shuffle", "Unknown action 'shuffle'"),
        ("feeds import <opml><body><outline", "Not imported"),
    ]:
        reply = await harness.run(text)
        assert reply.is_error and expected in reply_text(reply), (text, reply)
    assert snapshot(harness.db) == before
    assert feed_server.requests == []


async def test_feeds_pause_resume_remove_and_list(harness: Harness, feed_server: FeedServer) -> None:
    url = feed_server.serve("/rss.xml", RSS)
    await harness.run(f"feeds add {url} --name Local")
    await harness.run("feeds pause 1")
    listing = await harness.run("feeds list")
    assert [e.meta.split(" · ")[0] for e in listing.entries] == ["paused", "not polled yet"]
    assert listing.entries[1].meta.endswith("chat · operator")
    assert not (await harness.run("feeds resume From file")).is_error
    assert not (await harness.run(f"feeds remove {url}")).is_error
    assert feed_urls(harness) == [FILE_FEED["url"]]
    actions = [row["action"] for row in recent_audit(harness.db)]
    assert actions == ["feeds.remove", "feeds.resume", "feeds.pause", "feeds.add"]


async def test_feeds_export_then_import_round_trips(
    harness: Harness, feed_server: FeedServer, tmp_path: Path
) -> None:
    good = feed_server.serve("/good.xml", RSS)
    html = feed_server.serve("/page", HTML, content_type="text/html")
    opml = (
        '<?xml version="1.0"?><opml version="2.0"><head/><body><outline text="Folder">'
        f'<outline text="Good" xmlUrl="{good}"/><outline text="Page" xmlUrl="{html}"/>'
        f'<outline text="Old" xmlUrl="{FILE_FEED["url"]}"/></outline></body></opml>'
    )
    reply = await harness.run(f"feeds import {opml}")
    assert reply.title == "Imported 1 of 3 feeds"
    assert reply.lines == ("1 already watched, 1 refused.",)
    assert feed_urls(harness) == [FILE_FEED["url"], good]
    exported = "\n".join((await harness.run("feeds export")).lines)
    assert f'xmlUrl="{good}"' in exported and 'text="Good"' in exported


async def test_feeds_import_refuses_entity_declarations(harness: Harness) -> None:
    before = snapshot(harness.db)
    bomb = '<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">]><opml version="2.0"><body>&a;</body></opml>'
    reply = await harness.run(f"feeds import {bomb}")
    assert reply.is_error and "DOCTYPE" in reply_text(reply)
    assert snapshot(harness.db) == before


async def test_feed_import_text_may_be_longer_than_other_commands(harness: Harness) -> None:
    outlines = "".join(f'<outline text="n{i}" xmlUrl="ftp://x/{i}"/>' for i in range(60))
    reply = await harness.run(f'feeds import <opml version="2.0"><body>{outlines}</body></opml>')
    assert "limit" not in reply_text(reply) and reply.title == "Imported 0 of 60 feeds"
