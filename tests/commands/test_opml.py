"""OPML export and import (pure), including hostile documents."""

from __future__ import annotations

import pytest

from bot.commands.opml import MAX_OPML_FEEDS, OpmlFeed, feeds_to_opml, opml_to_feeds
from bot.config import FeedConfig
from bot.errors import OpmlError


def test_export_then_import_keeps_urls_and_names() -> None:
    feeds = (
        FeedConfig(url="https://a.example/rss?x=1&y=2", name="A & B <news>", interval=600),
        FeedConfig(url="https://b.example/atom", enabled=False),
    )
    text = feeds_to_opml(feeds)
    assert 'interval="10m"' in text and 'category="paused"' in text
    assert opml_to_feeds(text) == [
        OpmlFeed("https://a.example/rss?x=1&y=2", "A & B <news>"),
        OpmlFeed("https://b.example/atom"),
    ]


def test_import_reads_nested_folders_skips_outlines_without_urls_and_repeats() -> None:
    text = """<?xml version="1.0" encoding="UTF-8"?>
    <opml version="1.0"><head><title>x</title></head><body>
      <outline text="Tech"><outline text="One" type="rss" xmlUrl="https://one.example/feed"/>
        <outline text="Folder only"/></outline>
      <outline title="Two" text="ignored" xmlUrl=" https://two.example/feed "/>
      <outline text="One again" xmlUrl="https://one.example/feed"/>
    </body></opml>"""
    assert opml_to_feeds(text) == [
        OpmlFeed("https://one.example/feed", "One"),
        OpmlFeed("https://two.example/feed", "Two"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('<!DOCTYPE lolz [<!ENTITY lol "lol">]><opml><body>&lol;</body></opml>', "DOCTYPE"),
        ('<!DOCTYPE opml SYSTEM "file:///etc/passwd"><opml/>', "DOCTYPE"),
        ('<?xml version="1.0"?><!ENTITY x "y"><opml/>', "DOCTYPE"),
        ("<opml><body><outline", "not valid XML"),
        ("<rss><channel/></rss>", "not <opml>"),
        ("just text", "not valid XML"),
        ("<opml><body>&undefined;</body></opml>", "not valid XML"),
    ],
)
def test_hostile_or_broken_documents_are_refused(text: str, expected: str) -> None:
    with pytest.raises(OpmlError, match=expected):
        opml_to_feeds(text)


def test_too_many_feeds_are_refused() -> None:
    outlines = "".join(f'<outline xmlUrl="https://x.example/{i}"/>' for i in range(MAX_OPML_FEEDS + 1))
    with pytest.raises(OpmlError, match="more than"):
        opml_to_feeds(f"<opml><body>{outlines}</body></opml>")
