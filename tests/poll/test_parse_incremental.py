"""The incremental parse gives exactly the full parse's result: items, ids, every field, matches,
sketches, title and warning, on every feed kind in tests/data/feeds and on generated feeds with items
added, removed, reordered, duplicated and edited; and a feed that changed by a few items has only
those items parsed."""

from __future__ import annotations

import random
import time
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from unittest import mock

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.poll import feed_parse
from bot.poll.feed_parse import ParsedFeed, parse_feed_bytes, parse_in_worker
from bot.poll.feed_split import split_feed
from bot.poll.parse_memo import ParseMemo
from tests.conftest import TestClock
from tests.fakes.feed_server import rss
from tests.paths import DATA

FEEDS = DATA / "feeds"
URL = "https://feeds.example.com/dir/rss"
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
RULES = (
    ("prometheus", '"Project Prometheus" OR (Bezos AND (fund OR manufacturing))', True),
    ("bajaj", "Bajaj", True),
)
OTHER_RULES = (("fund", "fund OR Fonds", True),)


def full(body: bytes, *, now: datetime = NOW, rules=RULES, content_type="application/rss+xml") -> ParsedFeed:  # type: ignore[no-untyped-def]
    """What the parser gave before it was incremental: parse everything, match every item."""
    return feed_parse._matched(parse_feed_bytes(body, url=URL, content_type=content_type, now=now), rules)


def worker(
    body: bytes, memo: bytes | None, *, now: datetime = NOW, rules=RULES, content_type="application/rss+xml"
) -> ParsedFeed:  # type: ignore[no-untyped-def]
    return parse_in_worker(body, URL, content_type, now.timestamp(), rules, memo)


def assert_same(got: ParsedFeed, expected: ParsedFeed) -> None:
    assert got.items == expected.items  # every field of every item, in order
    assert got == expected  # and title, warning, skipped entries, matches, sketches


def variants(body: bytes) -> list[bytes]:
    """The feed with an item removed, the order reversed, an item duplicated, an item's title edited
    (same guid), an item's guid changed, a new item on top, and its title changed."""
    split = split_feed(body)
    if split is None:
        return []
    items = list(split.items)
    first = items[0]
    edited = first.replace(b"</title>", b" and more</title>", 1)
    new = first.replace(b"</title>", b" (new)</title>", 1)
    for closing in (b"</guid>", b"</id>", b"</link>"):
        new = new.replace(closing, b"-new" + closing, 1)
    out = [
        split.join(items[1:]),
        split.join(items[::-1]),
        split.join([*items, items[-1]]),
        split.join([edited, *items[1:]]),
        split.join([new, *items]),
        split.join(items).replace(b"</title>", b" (renamed)</title>", 1),  # the feed's own title
    ]
    return [variant for variant in out if variant != body]


def feed_files() -> list[str]:
    return sorted(path.name for path in FEEDS.glob("*.xml"))


@pytest.mark.parametrize("name", feed_files())
def test_every_feed_kind_parses_the_same_with_and_without_a_memo(name):
    body = (FEEDS / name).read_bytes()
    expected = full(body)
    first = worker(body, None)
    assert_same(first, expected)
    assert_same(worker(body, first.memo), expected)
    for variant in variants(body):
        assert_same(worker(variant, first.memo), full(variant))
        assert_same(worker(body, worker(variant, first.memo).memo), expected)


def test_the_feed_kinds_cover_what_must_fall_back_and_what_need_not():
    splits = {name: split_feed((FEEDS / name).read_bytes()) for name in feed_files()}
    assert {name for name, split in splits.items() if split is None} == {
        "cdata.xml",  # `</item>` inside a CDATA section
        "comments_prefixed.xml",  # a comment, and `<rss:item>`
        "entities.xml",  # a DOCTYPE with entities
        "rss091.xml",  # ISO-8859-1 and a DOCTYPE
        "windows1252_comment.xml",  # another encoding, and a comment around an item
    }
    assert worker((FEEDS / "broken.xml").read_bytes(), None).memo is None  # malformed: no memo made


def test_utf16_and_latin1_feeds_are_parsed_whole():
    text = rss([{"title": "Caf\xe9 Bezos fund", "guid": "1"}, {"title": "Zw\xf6lf", "guid": "2"}])
    utf16 = text.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")
    latin1 = text.replace('encoding="utf-8"', 'encoding="iso-8859-1"').encode("latin-1")
    for body in (utf16, latin1):
        assert split_feed(body) is None
        first = worker(body, None)
        assert_same(first, full(body))
        assert first.items and first.memo is None


def test_a_feed_changed_by_five_items_has_only_those_five_parsed():
    old = [_story(n) for n in range(50)]
    new = [_story(n) for n in range(50, 55)]
    memo = worker(rss(old).encode(), None).memo
    parsed_entries: list[int] = []
    original = feedparser.parse

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = original(*args, **kwargs)
        parsed_entries.append(len(result.entries))
        return result

    body = rss(new + old).encode()
    with mock.patch.object(feedparser, "parse", counting):
        result = worker(body, memo)
    assert parsed_entries == [5]
    assert_same(result, full(body))
    assert len(result.items) == 55 and result.matches


def test_a_memo_from_other_rules_reuses_the_items_but_matches_again():
    body = rss([_story(n) for n in range(10)]).encode()
    memo = worker(body, None).memo
    assert_same(worker(body, memo, rules=OTHER_RULES), full(body, rules=OTHER_RULES))
    assert worker(body, memo, rules=OTHER_RULES).matches != worker(body, memo).matches


def test_a_future_date_read_as_now_is_not_kept_in_the_memo():
    future = {"title": "Dated in the future", "guid": "f", "pubDate": "Fri, 01 Jan 2100 00:00:00 GMT"}
    body = rss([future, _story(1)]).encode()
    memo = worker(body, None).memo
    later = NOW + timedelta(hours=3)
    result = worker(body, memo, now=later)
    assert_same(result, full(body, now=later))
    assert result.items[0].published == later


def test_a_damaged_or_foreign_memo_is_ignored():
    body = rss([_story(n) for n in range(5)]).encode()
    memo = worker(body, None).memo
    assert memo is not None
    other_feed = parse_in_worker(
        body, URL + "?other", "application/rss+xml", NOW.timestamp(), RULES, None
    ).memo
    for bad in (b"", b"garbage", memo[: len(memo) // 2], other_feed):
        assert_same(worker(body, bad), full(body))
    assert ParseMemo.from_bytes(b"garbage") is None
    assert (
        ParseMemo.from_bytes(zlib.compress(b'{"format": 1, "frame": "", "rules": "", "entries": []}')) is None
    )


def test_a_memo_comes_back_from_its_bytes_unchanged():
    body = (FEEDS / "rss20_namespaces.xml").read_bytes()
    memo = ParseMemo.from_bytes(worker(body, None).memo or b"")
    assert memo is not None and len(memo.entries) == 4
    assert any(entry.sketch for entry in memo.entries.values())  # a matched item's story sketch
    assert ParseMemo.from_bytes(memo.to_bytes()) == memo


# Generated feeds: RSS 2.0 and Atom with markup, entities, CDATA, relative links, odd dates, missing
# fields; two versions of the same feed, the second parsed with the first's memo.

WORDS = [
    "Bezos",
    "fund",
    "Project Prometheus",
    "Bajaj",
    "&amp;",
    "&lt;b&gt;",
    "&#233;",
    "<![CDATA[x]]>",
    "]]>",
]
TEXT = st.lists(
    st.sampled_from([*"abc XYZ<>&;'\"/=-:#.é中\u202e\n", *WORDS]),
    max_size=12,
).map("".join)


@st.composite
def entries(draw):  # type: ignore[no-untyped-def]
    fields = {}
    for name in ("title", "link", "guid", "description", "pubDate"):
        if draw(st.booleans()):
            fields[name] = draw(TEXT)
    if "link" in fields and draw(st.booleans()):
        fields["link"] = draw(st.sampled_from(["/a/b", "rel/x?utm_source=y", "https://ex.com/p", "../up"]))
    if "pubDate" in fields:
        fields["pubDate"] = draw(
            st.sampled_from(
                ["Tue, 24 Nov 2026 10:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT", "nonsense", ""]
            )
        )
    return fields


def _xml_text(text: str, cdata: bool) -> str:
    if cdata and "]]>" not in text:
        return f"<![CDATA[{text}]]>"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(kind: str, title: str, items: list[dict[str, str]], cdata: bool) -> bytes:
    if kind == "rss":
        safe = [{key: _xml_text(value, cdata) for key, value in item.items()} for item in items]
        return rss(safe, title=_xml_text(title, cdata)).encode()
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"'
        ' xml:base="https://atom.example.com/b/">',
        f"<title type='html'>{_xml_text(title, cdata)}</title>",
    ]
    for item in items:
        parts.append("<entry>")
        if "title" in item:
            parts.append(f"<title type='html'>{_xml_text(item['title'], cdata)}</title>")
        if "guid" in item:
            parts.append(f"<id>{_xml_text(item['guid'], False)}</id>")
        if "link" in item:
            href = item["link"].replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            parts.append(f'<link href="{href}"/>')
        if "pubDate" in item:
            parts.append(f"<updated>{'2026-11-24T10:00:00Z' if item['pubDate'] else ''}</updated>")
        if "description" in item:
            parts.append(f"<summary type='html'>{_xml_text(item['description'], cdata)}</summary>")
        parts.append("</entry>")
    parts.append("</feed>")
    return "".join(parts).encode()


@st.composite
def two_versions(draw):  # type: ignore[no-untyped-def]
    """A feed, then the same feed with items added on top, removed, reordered or edited (and, now and
    then, its own title changed)."""
    kind = draw(st.sampled_from(["rss", "atom"]))
    cdata = draw(st.booleans())
    before = draw(st.lists(entries(), min_size=1, max_size=8))
    kept = draw(st.permutations(before))[: draw(st.integers(0, len(before)))]
    if kept and draw(st.booleans()):
        kept[0] = {**kept[0], "title": kept[0].get("title", "") + draw(TEXT)}  # edited, same guid
    after = draw(st.lists(entries(), max_size=4)) + kept
    title = draw(TEXT)
    renamed = title + " x" if draw(st.integers(0, 4)) == 0 else title
    return render(kind, title, before, cdata), render(kind, renamed, after, cdata)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(two_versions(), st.booleans(), st.booleans())
def test_generated_feeds_parse_the_same_with_the_previous_versions_memo(versions, later, other_rules):
    first, second = versions
    now = NOW + timedelta(days=1) if later else NOW
    rules = OTHER_RULES if other_rules else RULES
    memo = worker(first, None).memo
    assert_same(worker(second, memo, now=now, rules=rules), full(second, now=now, rules=rules))


# The pipeline: what is stored, matched and queued is the same with the memo as without it.


def _story(n: int, title: str | None = None, *, now: datetime = NOW) -> dict[str, str]:
    return {
        "title": title or f"Bezos's Project Prometheus story number {n} about the manufacturing fund",
        "link": f"https://news.example.com/2026/story-{n}",
        "guid": f"story-{n}",
        "description": f"Details of story {n} about Vik Bajaj.",
        "pubDate": format_datetime(now - timedelta(hours=1)),
    }


def _stored(bot) -> dict[str, list[tuple[object, ...]]]:  # type: ignore[no-untyped-def]
    queries = {
        "items": "SELECT id, feed_url, guid, link, canonical_link, story_key, title, summary, source,"
        " published_at, seen_at, last_seen_at, backlog FROM items ORDER BY id",
        "matches": "SELECT item_id, rule, terms FROM matches ORDER BY item_id, rule",
        "deliveries": "SELECT * FROM deliveries ORDER BY id",
        "stories": "SELECT item_id, seen_at, features FROM story_members ORDER BY item_id",
    }
    return {name: [tuple(row) for row in bot.db.execute(sql).fetchall()] for name, sql in queries.items()}


async def test_the_pipeline_stores_and_queues_the_same_items_with_or_without_the_memo(
    feed_server, config_dir, tmp_path
):
    from bot.app import Environment, build_bot
    from bot.deliver.adapters.console import ConsoleAlertSender

    now = datetime.now(UTC)
    old = [_story(n, now=now) for n in range(12)]
    url = feed_server.serve("/feed.xml", rss(old), etag='"v1"')
    config_dir.write(feeds=[{"url": url, "name": "Test News"}])
    changed = [_story(n, now=now) for n in range(12, 15)] + [
        _story(0, "Bezos's Project Prometheus story number 0, edited with the same guid", now=now),
        *random.Random(7).sample(old[1:], 9),  # two removed, the rest reordered
    ]
    clock = TestClock(time.time())
    stored = []
    for memo in (True, False):
        bot = build_bot(
            Environment(config_dir=config_dir.path, db_path=tmp_path / f"{memo}.db"),
            console=ConsoleAlertSender(),
        )
        bot.clock = clock
        feed_server.serve("/feed.xml", rss(old), etag='"v1"')
        await bot.pipeline.run_cycle()
        assert bot.db.execute("SELECT count(*) FROM parse_memos").fetchone()[0] == 1
        if not memo:
            bot.db.execute("DELETE FROM parse_memos")
        feed_server.serve("/feed.xml", rss(changed), etag='"v2"')
        clock.advance(3600)
        await bot.pipeline.run_cycle()
        stored.append(_stored(bot))
        clock.advance(-3600)
        await bot.close()
    with_memo, without = stored
    assert with_memo == without
    assert len(with_memo["items"]) == 15 and with_memo["deliveries"] and with_memo["stories"]


SNIPPETS = [
    b"<item>", b"</item>", b"<entry>", b"</entry>", b"<item/>", b"<!-- ", b" -->", b"<![CDATA[", b"]]>",
    b"&", b"&amp;", b"&nbsp;", b"<", b">", b"\xff", b"\xe9", b"<?pi x?>", b"<rss:item>", b"<b>", b"</b>",
    b"<title>T</title>", b" xml:base='/x/'", b"\x0c", b"<!DOCTYPE x>", b"</channel>", b"</feed>", b"x",
    b"<b>x</b>", b"&#233;", b"\n",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(feed_files()),
    st.integers(0, 5),
    st.lists(st.tuples(st.floats(0, 1), st.sampled_from(SNIPPETS)), max_size=1),
    st.lists(st.tuples(st.floats(0, 1), st.sampled_from(SNIPPETS)), min_size=1, max_size=3),
)
def test_damaged_feeds_parse_the_same_with_a_memo(name, variant, first_damage, second_damage):
    """Bytes inserted anywhere (stray tags, comments, CDATA ends, bad UTF-8...) into a feed and into
    its next version: whatever the splitter makes of them, the result is the full parse's."""

    def damaged(body: bytes, damage: list[tuple[float, bytes]]) -> bytes:
        split = split_feed(body)
        for where, snippet in damage:
            if split is None:  # anywhere
                cut = int(where * len(body))
                body = body[:cut] + snippet + body[cut:]
            else:  # inside one item, where the memo is put to the test
                items = list(split.items)
                index = int(where * len(items)) % len(items)
                cut = int(where * 7919) % (len(items[index]) + 1)
                items[index] = items[index][:cut] + snippet + items[index][cut:]
                body = split.join(items)
        return body

    body = (FEEDS / name).read_bytes()
    first = damaged(body, first_damage)
    second = damaged(([*variants(body), body])[min(variant, len(variants(body)))], second_damage)
    memo = worker(first, None).memo
    assert_same(worker(second, memo), full(second))
