"""Hostile feed text: bidi controls cannot spoof how a headline displays, and chat markup written in a
headline survives as literal text (for the renderers to escape) instead of vanishing, so it neither
changes what the headline says nor makes it look like another story."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.dedup import story_key
from bot.core.model import Alert
from bot.core.normalise import plain_text
from bot.core.render.slack import render_slack_alert
from bot.core.story import is_groupable, story_features
from bot.deliver.adapters.discord_render import render_discord_alert
from bot.poll.feed_parse import parse_feed_bytes
from bot.poll.grouping import group_jsonl
from bot.store import open_database
from tests.fakes.feed_server import rss

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def parse(body: str):  # type: ignore[no-untyped-def]
    return parse_feed_bytes(
        body.encode("utf-8"), url="https://feeds.example.com/rss", content_type="application/rss+xml", now=NOW
    )


def test_bidi_controls_are_removed_from_title_summary_source_and_feed_title():
    body = rss(
        [
            {
                "title": "Invoice\u202eexe.pdf from Prometheus &#x2067;now&#x2069;",
                "description": "&lt;p&gt;Bezos\u200f &amp;#x202E;fund&lt;/p&gt;",
                "source": "Reu\u2066ters\u061c",
                "guid": "1",
            }
        ],
        title="Wire\u202d feed",
    )
    result = parse(body)
    [item] = result.items
    assert item.title == "Invoiceexe.pdf from Prometheus now"
    assert item.summary == "Bezos fund"
    assert item.source == "Reuters"
    assert result.title == "Wire feed"
    assert not any(char in BIDI for char in item.title + item.summary + item.source + result.title)


def test_right_to_left_letters_are_kept():
    hebrew, arabic = "בזוס משקיע בפרומתאוס", "بيزوس يستثمر في بروميثيوس"
    [item] = parse(rss([{"title": f"\u202b{hebrew}\u202c", "description": arabic, "guid": "1"}])).items
    assert (item.title, item.summary) == (hebrew, arabic)


def test_slack_markup_in_a_headline_stays_literal_and_is_shown_escaped():
    [item] = parse(
        rss([{"title": "zebra &lt;!channel&gt;", "guid": "1", "link": "https://a.example/z"}])
    ).items
    assert item.title == "zebra <!channel>"

    alert = Alert(delivery_id=1, item=item, rules=("all",), terms=())
    slack = json.dumps(render_slack_alert(alert))
    assert "zebra &lt;!channel&gt;" in slack and "<!channel>" not in slack
    discord = render_discord_alert(alert)
    assert discord.title is not None and "channel" in discord.title


def test_link_and_mention_markup_is_text_while_real_html_is_still_stripped():
    cases = {
        "Acme &lt;https://evil.example|click here&gt; wins": "Acme <https://evil.example|click here> wins",
        "&lt;b&gt;Bold&lt;/b&gt; &lt;@U123&gt; &lt;#C1|general&gt;": "Bold <@U123> <#C1|general>",
        "Meet at &lt;t:1700000000:R&gt; &lt;!subteam^S1|@team&gt;": "Meet at <t:1700000000:R> <!subteam^S1|@team>",
        "Word&lt;o:p&gt;&lt;/o:p&gt; paste": "Word paste",
    }
    for raw, expected in cases.items():
        [item] = parse(rss([{"title": raw, "guid": "1"}])).items
        assert item.title == expected, raw


def test_headlines_differing_only_in_markup_are_not_one_story_key():
    plain = "Bezos fund buys Ohio machine shop"
    assert story_key(plain + " <!channel>") != story_key(plain)
    assert story_key(plain_text(plain + " <!here>")) != story_key(plain_text(plain))


def test_a_headline_too_short_after_cleaning_is_kept_out_of_story_grouping():
    for title in ("zebra <!channel>", plain_text("zebra <!channel>"), "zebra"):
        assert story_key(title) is None
        assert not is_groupable(story_features(title))

    reports = [
        {"id": "a", "title": "zebra", "summary": "", "link": "", "source": "A", "published": "2026-03-02T09:00:00Z"},
        {"id": "b", "title": "zebra &lt;!channel&gt;", "summary": "", "link": "", "source": "A",
         "published": "2026-03-02T09:05:00Z"},
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        db = open_database(Path(scratch) / "g.db")
        rows = [json.loads(line) for line in group_jsonl([json.dumps(r) for r in reports], db)]
        db.conn.close()
    assert "why" not in rows[1]  # not taken for a copy of the first
    assert rows[0]["story"] != rows[1]["story"]


def test_items_without_guid_or_link_differing_only_in_markup_get_their_own_ids():
    body = rss([{"title": "zebra"}, {"title": "zebra &lt;!channel&gt;"}])
    first, second = parse(body).items
    assert first.id != second.id


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(BIDI + "<>!&;#x@/ab אب\u00a0")) | st.characters(), max_size=60))
def test_plain_text_never_raises_and_never_keeps_a_bidi_control(text: str) -> None:
    cleaned = plain_text(text)
    assert not any(char in BIDI for char in cleaned)
    assert cleaned == cleaned.strip()
