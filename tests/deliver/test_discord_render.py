"""Discord embeds from alerts and replies: escaping, highlighting, colours and hard limits."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import discord
import pytest

from bot.core.model import Alert, Item, Reply, ReplyEntry, ReplyField
from bot.deliver.adapters.discord_render import (
    DEFAULT_COLOR,
    ERROR_COLOR,
    escape_discord,
    render_discord_alert,
    render_discord_reply,
)


def alert(title: str = "Project Prometheus expands", summary: str = "", **item: object) -> Alert:
    fields: dict[str, object] = {"id": "1", "feed_url": "f", "title": title, "summary": summary}
    fields.update(item)
    return Alert(1, Item(**fields), rules=("prometheus", "bajaj"), terms=("Prometheus", "Vik Bajaj"))  # type: ignore[arg-type]


def assert_within_discord_limits(embeds: list[discord.Embed]) -> None:
    assert 1 <= len(embeds) <= 10
    assert sum(len(e) for e in embeds) <= 6000
    for e in embeds:
        assert len(e.title or "") <= 256
        assert len(e.description or "") <= 4096
        assert len(e.fields) <= 25
        for f in e.fields:
            assert 1 <= len(f.name or "") <= 256
            assert 1 <= len(f.value or "") <= 1024
        assert len(e.footer.text or "") <= 2048
        assert len(e.author.name or "") <= 256


@pytest.mark.parametrize(
    ("raw", "forbidden"),
    [
        ("@everyone and @here", ["@everyone", "@here"]),
        ("<@123> <@!123> <@&456>", ["<@123>", "<@!123>", "<@&456>"]),
        ("[click](https://evil.example)", ["[click](", "[click]"]),
        ("\\[click](https://evil.example)", ["\\\\[click]("]),  # a feed's own backslash cannot re-arm it
        (
            "**bold** __under__ ~~gone~~ ||spoiler|| `code`",
            ["**bold**", "__under", "~~gone", "||spoiler", "`code`"],
        ),
    ],
)
def test_escape_makes_feed_text_literal(raw: str, forbidden: list[str]) -> None:
    escaped = escape_discord(raw)
    for bad in forbidden:
        assert bad not in escaped


def test_escape_leaves_plain_text_and_addresses_alone() -> None:
    assert escape_discord("Bezos's $6.2B venture, Nov 2025") == "Bezos's $6.2B venture, Nov 2025"
    assert escape_discord("mail press@example.com") == "mail press@example.com"


def test_matched_terms_are_bold_whatever_their_case_and_the_rest_is_escaped() -> None:
    embed = render_discord_alert(alert(summary="PROMETHEUS hires; vik bajaj says *soon*"))
    assert embed.description == "**PROMETHEUS** hires; **vik bajaj** says \\*soon\\*"


def test_alert_embed_has_link_source_time_and_rule_colour() -> None:
    published = datetime(2025, 11, 17, 9, 30, tzinfo=UTC)
    a = alert(link="https://news.example/p", source="The Verge", published=published)
    embed = render_discord_alert(a, {"bajaj": 0x00FF00})
    assert embed.url == "https://news.example/p"
    assert embed.author.name == "The Verge"
    assert embed.timestamp == published
    assert embed.color is not None and embed.color.value == 0x00FF00
    assert embed.footer.text == "Matched: prometheus, bajaj"


def test_alert_without_a_rule_colour_uses_the_default_colour() -> None:
    embed = render_discord_alert(alert(), {"other": 0x123456})
    assert embed.color is not None and embed.color.value == DEFAULT_COLOR


@pytest.mark.parametrize("link", ["javascript:alert(1)", "ftp://x.example/a", "//news.example/a", "https://"])
def test_only_http_links_become_the_title_link(link: str) -> None:
    assert render_discord_alert(alert(link=link)).url is None


def test_alerts_stay_within_limits_for_any_text() -> None:
    rng = random.Random(7)
    alphabet = "abc xyz.!?*_~`|>#-[]()@<>&\n\\ PrometheusBajaj"
    for _ in range(40):
        size = rng.choice([0, 10, 300, 5000, 40000])
        text = "".join(rng.choice(alphabet) for _ in range(size))
        a = alert(title=text[:3000] or "t", summary=text, source=text[:4000], link="https://x.example/")
        assert_within_discord_limits([render_discord_alert(a)])


def test_reply_lists_entries_as_links_and_counts_what_did_not_fit() -> None:
    entries = tuple(
        ReplyEntry(
            title=f"Story {i} " + "x" * 250, url=f"https://n.example/{i}", meta="Reuters", text="y" * 400
        )
        for i in range(60)
    )
    embeds = render_discord_reply(Reply(title="Latest", lines=("Newest first",), entries=entries))
    assert_within_discord_limits(embeds)
    description = embeds[0].description or ""
    assert description.startswith("Newest first\n**[Story 0 ")
    assert "](https://n.example/0)**" in description
    assert description.splitlines()[-1].startswith("… and ")


def test_entry_urls_cannot_break_out_of_the_markdown_link() -> None:
    entry = ReplyEntry(title="T", url="https://n.example/a_(b)")
    description = render_discord_reply(Reply(title="x", entries=(entry,))).pop().description or ""
    assert "(https://n.example/a_%28b%29" in description
    assert (
        render_discord_reply(Reply(title="x", entries=(ReplyEntry("T", url="javascript:x"),)))[0].description
        == "**T**"
    )


def test_error_replies_are_red_and_many_fields_spill_into_more_embeds() -> None:
    fields = tuple(ReplyField(name=f"feed {i}", value="ok") for i in range(60))
    embeds = render_discord_reply(
        Reply(title="Status", fields=fields, footer="polled 2 min ago", is_error=True)
    )
    assert_within_discord_limits(embeds)
    assert [len(e.fields) for e in embeds] == [25, 25, 10]
    assert all(e.color is not None and e.color.value == ERROR_COLOR for e in embeds)
    assert embeds[-1].footer.text == "polled 2 min ago"


def test_replies_stay_within_limits_for_any_size() -> None:
    rng = random.Random(11)
    for _ in range(30):
        big = "w " * rng.choice([1, 50, 600, 3000])
        reply = Reply(
            title=big,
            lines=tuple(big for _ in range(rng.randint(0, 5))),
            entries=tuple(ReplyEntry(big, "https://e.example", big, big) for _ in range(rng.randint(0, 30))),
            fields=tuple(ReplyField(big, big) for _ in range(rng.randint(0, 300))),
            footer=big,
        )
        embeds = render_discord_reply(reply)
        assert_within_discord_limits(embeds)
        if sum(len(e.fields) for e in embeds) < len(reply.fields):
            assert "more not shown" in (embeds[-1].footer.text or "")
