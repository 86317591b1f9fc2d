"""latest, search, facts, status, help and bad input, through CommandCore over a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.commands.helpers import NOW, Harness, add_story, reply_text, slack, snapshot
from tests.conftest import ConfigDir

FACTS = [{"text": "Project Prometheus launched in November 2025 with $6.2 billion.", "source": "NYT"}]


@pytest.fixture
def harness(config_dir: ConfigDir, tmp_path: Path) -> Harness:
    config_dir.write(facts=FACTS)
    return Harness(config_dir.path, tmp_path / "bot.db")


async def test_latest_lists_newest_matched_stories_first_with_source_time_and_summary(
    harness: Harness,
) -> None:
    add_story(harness.db, "Old Prometheus story", age=7200, rules=("prometheus",), summary="Older.")
    add_story(harness.db, "Unmatched gadget review", age=60)
    add_story(
        harness.db, "Bajaj named co-CEO", age=600, rules=("prometheus", "bajaj"), summary="Vik Bajaj leads."
    )
    reply = await harness.run("latest")
    assert [e.title for e in reply.entries] == ["Bajaj named co-CEO", "Old Prometheus story"]
    first = reply.entries[0]
    assert first.url == "https://news.example/2"
    assert "Example News" in first.meta and "2026-11-25 11:50 UTC" in first.meta
    assert "rules: bajaj, prometheus" in first.meta
    assert first.text == "Vik Bajaj leads."
    assert not reply.ephemeral and not reply.is_error


async def test_latest_pages_with_trailing_page_words_or_page_option(harness: Harness) -> None:
    for number in range(7):
        add_story(harness.db, f"Prometheus story {number}", age=1000 - number * 10, rules=("prometheus",))
    first = await harness.run("latest 3 prometheus")
    second = await harness.run("latest 3 prometheus page 2")
    third = await harness.run("latest 3 --page 3")
    assert [e.title for e in first.entries] == [
        "Prometheus story 6",
        "Prometheus story 5",
        "Prometheus story 4",
    ]
    assert [e.title for e in second.entries] == [
        "Prometheus story 3",
        "Prometheus story 2",
        "Prometheus story 1",
    ]
    assert [e.title for e in third.entries] == ["Prometheus story 0"]
    assert "latest 3 prometheus page 2" in first.footer
    assert third.footer == ""


async def test_latest_filters_by_rule(harness: Harness) -> None:
    add_story(harness.db, "Prometheus only", rules=("prometheus",))
    add_story(harness.db, "Bajaj only", rules=("bajaj",))
    reply = await harness.run("latest bajaj")
    assert [e.title for e in reply.entries] == ["Bajaj only"]


async def test_latest_uses_first_seen_time_when_a_feed_claims_a_future_date(harness: Harness) -> None:
    add_story(harness.db, "Seen an hour ago", age=3600, rules=("prometheus",))
    future = add_story(harness.db, "Claims the future", age=7200, rules=("prometheus",))
    harness.db.execute("UPDATE items SET published_at = seen_at + 86400 * 30 WHERE id = ?", [future])
    reply = await harness.run("latest")
    assert [e.title for e in reply.entries] == ["Seen an hour ago", "Claims the future"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("latest 0", "between 1 and 10"),
        ("latest 11", "between 1 and 10"),
        ("latest 5 prometheus extra", "Too many arguments"),
        ("latest 5 6", "Too many arguments"),
        ("latest nosuchrule", "no rule named 'nosuchrule'"),
        ("latest 5 page two", "page must be a number"),
        ("latest --color red", "Unknown option --color"),
        ("status now", "takes no arguments"),
        ("facts please", "takes no arguments"),
    ],
)
async def test_bad_read_arguments_get_a_clear_error_and_change_nothing(
    harness: Harness, text: str, expected: str
) -> None:
    add_story(harness.db, "Prometheus", rules=("prometheus",))
    before = snapshot(harness.db)
    reply = await harness.run(text)
    assert reply.is_error and reply.ephemeral
    assert expected in reply_text(reply)
    assert snapshot(harness.db) == before


async def test_latest_with_nothing_stored_says_so(harness: Harness) -> None:
    reply = await harness.run("latest")
    assert reply.title == "No matched stories yet" and not reply.is_error and not reply.entries


async def test_search_ranks_best_match_first_and_newest_first_on_ties(harness: Harness) -> None:
    add_story(harness.db, "Bezos fund news", age=5000)
    add_story(harness.db, "Bezos fund news", age=100)
    add_story(harness.db, "Fund Bezos fund Bezos fund", summary="fund", age=9000)
    add_story(harness.db, "Unrelated weather report", age=10)
    reply = await harness.run("search bezos fund")
    titles = [e.title for e in reply.entries]
    assert titles[0] == "Fund Bezos fund Bezos fund"
    assert len(titles) == 3
    metas = [e.meta for e in reply.entries[1:]]
    assert "11:58" in metas[0] and "10:36" in metas[1]  # the tie: newer first


async def test_search_covers_unmatched_items_and_phrases(harness: Harness) -> None:
    add_story(harness.db, "Vik Bajaj interview", summary="The co-CEO speaks.")
    add_story(harness.db, "Bajaj Auto results; Vik speaks")
    reply = await harness.run('search "Vik Bajaj"')
    assert [e.title for e in reply.entries] == ["Vik Bajaj interview"]


@pytest.mark.parametrize(
    "text", ['search "', "search AND", "search c++ (", "search *", "search it's \"Bajaj", "search NEAR(a b)"]
)
async def test_search_never_errors_on_operator_like_text(harness: Harness, text: str) -> None:
    add_story(harness.db, "It's Bajaj and c++ news")
    reply = await harness.run(text)
    assert reply.title != "Something went wrong"
    if text in ('search "', "search *"):
        assert reply.is_error and "at least one word" in reply_text(reply)
    else:
        assert not reply.is_error


async def test_search_without_words_gives_usage(harness: Harness) -> None:
    reply = await harness.run("search")
    assert reply.is_error and "Usage: /news search <words>" in reply_text(reply)


async def test_search_pages(harness: Harness) -> None:
    for number in range(7):
        add_story(harness.db, f"Prometheus item {number}", age=100 + number)
    first = await harness.run("search prometheus")
    second = await harness.run("search prometheus --page 2")
    assert len(first.entries) == 5 and len(second.entries) == 2
    assert "--page 2" in first.footer
    assert not {e.title for e in first.entries} & {e.title for e in second.entries}


async def test_facts_shows_curated_facts_and_key_figures_with_their_story(harness: Harness) -> None:
    add_story(
        harness.db,
        "Bezos plans $100B fund",
        summary="Co-CEO Vik Bajaj said so.",
        age=7200,
        rules=("prometheus",),
    )
    add_story(harness.db, "Prometheus fund: $100 billion", age=60, rules=("prometheus",))
    add_story(harness.db, "Unmatched: $9 billion elsewhere", age=30)
    reply = await harness.run("facts")
    text = reply_text(reply)
    assert reply.entries[0].title == FACTS[0]["text"] and "source: NYT" in reply.entries[0].meta
    amount = next(e for e in reply.entries if e.title == "Amount: $100 billion")
    assert "first in: Bezos plans $100B fund" in amount.meta and "seen in 2 stories" in amount.meta
    assert amount.url == "https://news.example/0"
    assert "Person: Vik Bajaj, Co-CEO" in text
    assert "$9 billion" not in text
    assert not reply.ephemeral


async def test_status_counts_items_alerts_queue_and_feed_health(
    harness: Harness, config_dir: ConfigDir
) -> None:
    config_dir.write(
        feeds=[
            {"url": "http://127.0.0.1:1/ok.xml", "name": "Good"},
            {"url": "http://127.0.0.1:1/bad.xml", "name": "Bad"},
        ]
    )
    db = harness.db
    now = NOW - 300
    add_story(db, "Fresh", age=60, rules=("prometheus",))
    add_story(db, "Two days old", age=2 * 86400)
    db.execute(
        "INSERT INTO feeds (url, name, last_fetch_at, last_success_at, error_count) VALUES (?, 'Good', ?, ?, 0)",
        ["http://127.0.0.1:1/ok.xml", now, now],
    )
    db.execute(
        "INSERT INTO feeds (url, name, last_fetch_at, error_count, last_error) VALUES (?, 'Bad', ?, 3, 'HTTP 404')",
        ["http://127.0.0.1:1/bad.xml", now],
    )
    item = db.execute("SELECT id FROM items WHERE title = 'Fresh'").fetchone()[0]
    db.execute(
        "INSERT INTO deliveries (item_id, platform, channel, status, next_attempt_at, created_at, sent_at) "
        "VALUES (?, 'slack', 'C1', 'sent', 0, 0, ?), (?, 'discord', 'D1', 'pending', 0, 0, NULL)",
        [item, now, item],
    )
    reply = await harness.run("status")
    fields = {f.name: f.value for f in reply.fields}
    assert fields["Feeds"] == "1 healthy, 1 failing"
    assert fields["Items (24h)"] == "1 new · 2 stored"
    assert fields["Matched stories (24h)"] == "1"
    assert fields["Alerts sent (24h)"] == "1"
    assert fields["Queue"] == "1 alerts waiting"
    assert fields["Last poll"] == "2026-11-25 11:55 UTC (5m ago)"
    assert reply.lines == ("Bad: HTTP 404 (3 failed polls in a row)",)


async def test_help_lists_every_subcommand_with_an_example(harness: Harness) -> None:
    reply = await harness.run("help")
    text = reply_text(reply)
    for word in ("latest", "search", "facts", "status", "rules add", "feeds import", "audit", "routes"):
        assert f"/news {word}" in text
    assert all("e.g. /news " in e.meta for e in reply.entries)
    assert reply.ephemeral


async def test_help_for_non_admins_leaves_out_admin_subcommands(harness: Harness) -> None:
    reply = await harness.core.handle(slack("help", user="USOMEONE"))
    assert "rules add" not in reply_text(reply) and "/news latest" in reply_text(reply)


async def test_empty_text_shows_help(harness: Harness) -> None:
    reply = await harness.run("")
    assert "/news latest" in reply_text(reply)


async def test_unknown_subcommand_suggests_the_closest(harness: Harness) -> None:
    before = snapshot(harness.db)
    reply = await harness.run("lastest 5")
    assert reply.is_error and "Did you mean latest?" in reply.title
    assert snapshot(harness.db) == before


async def test_over_long_input_is_refused_before_parsing(harness: Harness) -> None:
    before = snapshot(harness.db)
    reply = await harness.run("search " + "x" * 2100)
    assert reply.is_error and "the limit is 2,000" in reply_text(reply)
    assert snapshot(harness.db) == before
