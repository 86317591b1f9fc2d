"""Broken and hostile feed input: each becomes a recorded error or a best-effort result, never a crash."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from unittest import mock

import feedparser
import pytest

from bot.poll.feed_parse import MAX_ENTRIES, defuse_entities, parse_feed_bytes, parse_in_worker
from tests.fakes.feed_server import rss
from tests.paths import DATA

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def parse(body: bytes | str, content_type: str | None = "application/rss+xml"):  # type: ignore[no-untyped-def]
    data = body.encode("utf-8") if isinstance(body, str) else body
    return parse_feed_bytes(data, url="https://feeds.example.com/rss", content_type=content_type, now=NOW)


def test_html_page_instead_of_a_feed_is_an_error():
    result = parse(
        "<!DOCTYPE html><html><head><title>Login</title></head><body><p>Hi</p></body></html>", "text/html"
    )
    assert not result.ok and result.error_kind == "not_a_feed"
    assert "HTML" in (result.error or "")


def test_truncated_xml_keeps_the_entries_before_the_cut():
    whole = rss([{"title": f"Item {n}", "guid": f"g{n}"} for n in range(5)])
    result = parse(whole[: whole.index("Item 3")])
    assert result.ok
    assert [item.title for item in result.items][:3] == ["Item 0", "Item 1", "Item 2"]
    assert result.warning and "malformed" in result.warning


def test_declared_utf8_with_latin1_bytes_still_parses():
    body = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title><item><title>Caf\xe9 Bez\xf3s</title><guid>1</guid></item></channel></rss>'
    result = parse(body.encode("latin-1"))
    assert result.ok and len(result.items) == 1
    assert result.items[0].title.startswith("Caf")


def test_missing_encoding_with_windows_1252_quotes_parses():
    body = b'<rss version="2.0"><channel><title>T</title><item><title>Bezos\x92s \x93Prometheus\x94</title><guid>1</guid></item></channel></rss>'
    result = parse(body, content_type=None)
    assert result.ok and "Prometheus" in result.items[0].title


def test_empty_body_is_an_error():
    result = parse(b"   ")
    assert result.error_kind == "empty"


def test_valid_feed_without_entries_is_fine():
    result = parse(rss([]))
    assert result.ok and result.items == () and result.warning is None


def test_items_without_links_or_guids_get_stable_ids():
    body = rss(
        [{"title": "No link, no guid", "description": "text"}, {"description": "only a description here"}]
    )
    first, second = parse(body), parse(body)
    assert [i.id for i in first.items] == [i.id for i in second.items]
    assert len({i.id for i in first.items}) == 2
    assert first.items[1].title == "only a description here"


def test_entry_with_nothing_to_show_is_skipped():
    result = parse(rss([{"guid": "empty"}, {"title": "kept"}]))
    assert [i.title for i in result.items] == ["kept"] and result.skipped_entries == 1


def test_a_feed_over_the_entry_limit_is_cut_with_a_warning():
    result = parse(rss([{"title": f"Item {n}", "guid": f"g{n}"} for n in range(MAX_ENTRIES + 20)]))
    assert result.ok and len(result.items) == MAX_ENTRIES
    assert result.items[0].title == "Item 0"  # the first entries are kept: feeds list the newest first
    assert result.warning == f"cut to {MAX_ENTRIES} of {MAX_ENTRIES + 20} entries"


def test_odd_dates_are_tolerated():
    body = rss(
        [
            {"title": "future", "guid": "1", "pubDate": "Fri, 01 Jan 2100 00:00:00 GMT"},
            {"title": "ancient", "guid": "2", "pubDate": "Mon, 01 Jan 1900 00:00:00 GMT"},
            {"title": "garbage", "guid": "3", "pubDate": "the day after yesterday"},
            {"title": "offset", "guid": "4", "pubDate": "Wed, 25 Nov 2026 09:00:00 -0500"},
        ]
    )
    items = {i.title: i for i in parse(body).items}
    assert items["future"].published == NOW  # a wrong future date is treated as "now"
    assert items["ancient"].published is None
    assert items["garbage"].published is None
    assert items["offset"].published == datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


def test_html_in_titles_and_summaries_becomes_plain_text():
    body = rss(
        [
            {
                "title": "Bezos &amp;amp; Bajaj: &lt;b&gt;AI&lt;/b&gt;",
                "guid": "1",
                "description": "&lt;p&gt;First&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;p&gt;Second &amp;nbsp;para&lt;/p&gt;",
            }
        ]
    )
    item = parse(body).items[0]
    assert item.title == "Bezos & Bajaj: AI"
    assert item.summary == "First Second para"


def test_atom_content_and_relative_links():
    body = """<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom"><title>Atom</title>
    <entry><title>Atom entry</title><id>tag:example.com,2026:1</id><link href="/2026/atom-entry?utm_campaign=x"/>
    <updated>2026-11-25T10:00:00Z</updated><content type="html">&lt;p&gt;Body text&lt;/p&gt;</content></entry></feed>"""
    item = parse(body, "application/atom+xml").items[0]
    assert item.link == "https://feeds.example.com/2026/atom-entry"
    assert item.summary == "Body text"
    assert item.published == datetime(2026, 11, 25, 10, tzinfo=UTC)


def test_billion_laughs_does_not_expand():
    body = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">'
            for n in range(1, 10)
        )
        + ']><rss version="2.0"><channel><title>&lol9;</title><item><title>x &lol9;</title><guid>1</guid></item></channel></rss>'
    )
    result = parse(body)
    assert all(len(item.title) < 1000 for item in result.items)


def test_entity_declarations_remove_the_doctype():
    body = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY big "xxxx">]><rss version="2.0"></rss>'
    assert b"ENTITY" not in defuse_entities(body)
    plain = b'<?xml version="1.0"?><rss version="2.0"></rss>'
    assert defuse_entities(plain) is plain


@pytest.mark.slow
def test_one_large_entity_referenced_thousands_of_times_stays_small(tmp_path):
    # In a fresh interpreter so the peak memory measured is this parse's alone.
    script = textwrap.dedent(
        """
        import resource, sys
        from datetime import datetime, UTC
        from bot.poll.feed_parse import parse_feed_bytes
        big = "x" * 100_000
        refs = "&big;" * 3000
        body = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big "' + big + '">]><rss version="2.0"><channel>'
                '<title>t</title><item><title>a ' + refs + '</title><guid>1</guid></item></channel></rss>').encode()
        result = parse_feed_bytes(body, url="u", content_type=None, now=datetime.now(UTC))
        try:  # this process image's own peak: ru_maxrss also counts the forking parent's (the test run's)
            status = open("/proc/self/status").read()
            peak_mb = int(status.split("VmHWM:")[1].split()[0]) / 1024
        except (OSError, IndexError):
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(peak_mb, len(result.items))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    peak_mb, _ = out.stdout.split()
    assert float(peak_mb) < 300  # without the defence this reaches gigabytes


FEEDS = DATA / "feeds"


def parse_file(name: str, content_type: str | None = "application/rss+xml"):  # type: ignore[no-untyped-def]
    body = (FEEDS / name).read_bytes()
    return parse_feed_bytes(body, url="https://feeds.example.com/dir/rss", content_type=content_type, now=NOW)


def test_relative_item_links_resolve_against_xml_base_and_the_feed_url():
    # the links and guids the parser gave before it stopped rewriting links inside summaries
    rss_items = parse_file("rss20_namespaces.xml").items
    assert [(item.link, item.guid) for item in rss_items] == [
        ("https://ns.example.com/news/2026/11/bezos-fund", "ns-1"),  # channel xml:base, tracking dropped
        ("https://ns.example.com/perma/2", "https://ns.example.com/perma/2"),  # permalink guid as link
        (
            "https://other.example.net/base/perma/3",
            "https://other.example.net/base/perma/3",
        ),  # xml:base on guid
        ("https://third.example.org/up/story.html", None),  # xml:base on the item
    ]
    atom_items = parse_file("atom10.xml", "application/atom+xml").items
    assert [item.link for item in atom_items] == [
        "https://atom.example.com/blog/posts/1",
        "https://elsewhere.example.org/x/y/z.html",
        "https://atom.example.com/blog/3",  # no link: the id, a URL, stands in
    ]
    old_items = parse_file("rss091.xml", None).items
    assert [item.link for item in old_items] == [
        "http://oldwire.example.com/story/1.html",
        "https://feeds.example.com/dir/story/2.html",  # no xml:base: against the feed's own URL
    ]


@pytest.mark.parametrize("name", sorted(path.name for path in FEEDS.glob("*.xml")))
def test_links_inside_summaries_need_no_resolving_for_plain_text(name):
    """The parser skips feedparser's rewriting of links inside HTML; on every feed kind the items are
    exactly those of a parse that does it (plain text has no links to rewrite)."""
    body = (FEEDS / name).read_bytes()
    ours = parse_file(name)
    original = feedparser.parse
    with mock.patch.object(
        feedparser, "parse", lambda *args, **kw: original(*args, **{**kw, "resolve_relative_uris": True})
    ):
        resolving = parse_feed_bytes(
            body, url="https://feeds.example.com/dir/rss", content_type="application/rss+xml", now=NOW
        )
    assert ours == resolving and ours.items


def test_chat_markup_in_a_summary_is_not_rewritten_as_a_relative_link():
    body = rss(
        [
            {
                "title": "t",
                "guid": "1",
                "description": "see &lt;https://x.example|here&gt; and &lt;t:170000:R&gt; &amp;bogus;",
            }
        ]
    )
    assert parse(body).items[0].summary == "see <https://x.example|here> and <t:170000:R> &bogus;"


def test_items_the_store_already_has_are_not_matched_or_sketched_again() -> None:
    body = rss([
        {"title": "Bezos's Project Prometheus buys a parts maker", "link": "https://n.example.com/1", "guid": "1"},
        {"title": "Project Prometheus opens a Munich office", "link": "https://n.example.com/2", "guid": "2"},
    ]).encode()  # fmt: skip
    rules = (("prometheus", '"Project Prometheus"', True),)
    first = parse_in_worker(body, "https://feeds.example.com/a.xml", "application/rss+xml", 1.8e9, rules)
    assert set(first.matches) == set(first.sketches) == {item.id for item in first.items}
    known = frozenset({first.items[0].id})
    again = parse_in_worker(
        body, "https://feeds.example.com/a.xml", "application/rss+xml", 1.8e9, rules, known
    )
    assert [item.id for item in again.items] == [
        item.id for item in first.items
    ]  # every item still comes back
    assert set(again.matches) == set(again.sketches) == {first.items[1].id}
