"""bot.core.render.slack: Block Kit for alerts and replies, escaping untrusted text, Slack's limits."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.model import Alert, Item, Reply, ReplyEntry, ReplyField
from bot.core.render.slack import (
    BLOCK_LIMIT,
    HEADER_LIMIT,
    SECTION_LIMIT,
    TEXT_LIMIT,
    escape_slack,
    render_slack_alert,
    render_slack_reply,
    safe_url,
)


def make_alert(
    *,
    title: str = "Bezos's Project Prometheus raises $6.2B",
    summary: str = "Jeff Bezos and Vik Bajaj lead Project Prometheus, an AI venture.",
    link: str | None = "https://example.com/story?id=1&src=rss",
    terms: tuple[str, ...] = ("Project Prometheus", "Bezos"),
    source: str = "Example News",
    published: datetime | None = datetime(2025, 11, 17, 14, 2, tzinfo=UTC),
) -> Alert:
    item = Item(
        id="i1",
        feed_url="https://example.com/rss.xml",
        title=title,
        link=link,
        summary=summary,
        published=published,
        source=source,
    )
    return Alert(delivery_id=1, item=item, rules=("prometheus",), terms=terms)


def all_texts(payload: dict[str, Any]) -> list[str]:
    """Every string Slack would parse as text: top-level text and each text object."""
    found = [payload["text"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload["blocks"])
    return found


# Our own markup: a link to an http(s) URL or a date token. Anything else in <...> came from a feed.
OWN_MARKUP = re.compile(r"<(?:https?://[^|<>\s]+\|[^<>]*|!date\^\d+\^[^|<>]*\|[^<>]*)>")


def assert_no_injected_markup(payload: dict[str, Any]) -> None:
    for text in all_texts(payload):
        leftover = OWN_MARKUP.sub("", text)
        assert "<" not in leftover and ">" not in leftover, text
        assert "<!channel>" not in text and "<!here>" not in text and "<!everyone>" not in text


def assert_within_limits(payload: dict[str, Any]) -> None:
    assert len(payload["text"]) <= TEXT_LIMIT
    assert 0 < len(payload["blocks"]) <= BLOCK_LIMIT
    for block in payload["blocks"]:
        if block["type"] == "header":
            assert 0 < len(block["text"]["text"]) <= HEADER_LIMIT
        if block["type"] == "section":
            if "text" in block:
                assert 0 < len(block["text"]["text"]) <= SECTION_LIMIT
            for field in block.get("fields", []):
                assert len(field["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            for element in block["elements"]:
                assert len(element["text"]) <= SECTION_LIMIT


def test_alert_headline_links_to_the_story() -> None:
    payload = render_slack_alert(make_alert())
    headline = payload["blocks"][0]["text"]["text"]
    assert (
        headline == "*<https://example.com/story?id=1&amp;src=rss|Bezos's Project Prometheus raises $6.2B>*"
    )


def test_alert_context_shows_source_time_in_reader_zone_and_rules() -> None:
    payload = render_slack_alert(make_alert())
    context = payload["blocks"][1]["elements"][0]["text"]
    stamp = int(datetime(2025, 11, 17, 14, 2, tzinfo=UTC).timestamp())
    assert context == (
        f"Example News · <!date^{stamp}^{{date_short_pretty}} {{time}}|2025-11-17 14:02 UTC>"
        " · Rules: prometheus"
    )


def test_alert_summary_bolds_each_matched_term_case_insensitively() -> None:
    alert = make_alert(
        summary="bezos said Project Prometheus will grow. BEZOS again; project prometheus too.",
        terms=("Bezos", "Project Prometheus"),
    )
    summary = render_slack_alert(alert)["blocks"][2]["text"]["text"]
    assert summary == (
        "*bezos* said *Project Prometheus* will grow. *BEZOS* again; *project prometheus* too."
    )


def test_bolding_respects_word_boundaries() -> None:
    alert = make_alert(summary="Prometheusian myths, not Prometheus.", terms=("Prometheus",))
    summary = render_slack_alert(alert)["blocks"][2]["text"]["text"]
    assert summary == "Prometheusian myths, not *Prometheus*."


def test_bolding_finds_cjk_terms_inside_running_text() -> None:
    alert = make_alert(
        summary="ジェフ・ベゾス氏が１０００億ドル。베이조스의 회사",
        terms=("ベゾス", "１０００億", "베이조스"),
    )
    summary = render_slack_alert(alert)["blocks"][2]["text"]["text"]
    assert summary == "ジェフ・*ベゾス*氏が*１０００億*ドル。*베이조스*의 회사"


def test_bolding_a_term_never_breaks_an_escape_sequence() -> None:
    alert = make_alert(summary="AT&T & amp <lt> gt", terms=("amp", "lt", "gt", "AT&T"))
    summary = render_slack_alert(alert)["blocks"][2]["text"]["text"]
    assert summary == "*AT&amp;T* &amp; *amp* &lt;*lt*&gt; *gt*"


def test_alert_fallback_text_names_headline_and_source_for_notifications() -> None:
    payload = render_slack_alert(make_alert())
    assert payload["text"] == "Bezos's Project Prometheus raises $6.2B — Example News"


@pytest.mark.parametrize(
    "hostile",
    [
        "<!channel> Bezos news",
        "<!here|here> now",
        "<!everyone>",
        "<@U0123456789> look",
        "<!subteam^S012345|@admins>",
        "<https://evil.example/phish|Official Slack notice>",
        "&lt;!channel&gt;",
        "<<!channel>>",
    ],
)
def test_feed_text_cannot_mention_anyone_or_choose_a_link_label(hostile: str) -> None:
    alert = make_alert(title=hostile, summary=f"{hostile} {hostile}", source=hostile, terms=("Bezos",))
    payload = render_slack_alert(alert)
    assert_no_injected_markup(payload)
    assert "<https://evil.example" not in json.dumps(payload)


def test_plain_broadcast_words_are_broken_up() -> None:
    payload = render_slack_alert(make_alert(summary="Ping @here and @Channel and @everyone"))
    summary = payload["blocks"][2]["text"]["text"]
    assert "@here" not in summary and "@Channel" not in summary and "@everyone" not in summary
    assert summary.replace("\u200b", "") == "Ping @here and @Channel and @everyone"


def test_feed_text_is_not_auto_parsed_by_slack() -> None:
    payload = render_slack_alert(make_alert())
    for block in payload["blocks"]:
        for obj in [block.get("text"), *block.get("elements", [])]:
            if obj and obj["type"] == "mrkdwn":
                assert obj["verbatim"] is True


def test_feed_markup_characters_cannot_format_the_message() -> None:
    alert = make_alert(summary="*fake bold* _fake italic_ ~strike~ `code`", terms=())
    summary = render_slack_alert(alert)["blocks"][2]["text"]["text"]
    assert not set("*_~`") & set(summary)
    assert summary == "∗fake bold∗ ˍfake italicˍ ∼strike∼ ˋcodeˋ"


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "data:text/html,hi", "ftp://example.com/x", "//example.com/x", "", None],
)
def test_only_http_links_are_linked(url: str | None) -> None:
    payload = render_slack_alert(make_alert(link=url, title="Headline"))
    assert payload["blocks"][0]["text"]["text"] == "*Headline*"


def test_link_url_cannot_end_early_or_carry_its_own_label() -> None:
    url = "https://example.com/a|Fake label>x<y> z"
    assert safe_url(url) == "https://example.com/a%7CFake%20label%3Ex%3Cy%3E%20z"
    headline = render_slack_alert(make_alert(link=url, title="T"))["blocks"][0]["text"]["text"]
    assert headline == "*<https://example.com/a%7CFake%20label%3Ex%3Cy%3E%20z|T>*"


def test_escape_slack_escapes_ampersand_first() -> None:
    assert escape_slack("a & <b> &amp;") == "a &amp; &lt;b&gt; &amp;amp;"


def test_huge_feed_text_is_cut_at_a_word_boundary_within_limits() -> None:
    words = ("Bezos & <Prometheus> fund " * 20_000).strip()
    payload = render_slack_alert(make_alert(title=words, summary=words, source=words))
    assert_within_limits(payload)
    assert_no_injected_markup(payload)
    summary = payload["blocks"][2]["text"]["text"]
    assert summary.endswith("…")
    assert len(summary) > SECTION_LIMIT * 0.9  # cut near the limit, not far below it
    # The cut falls between words: the last word before the ellipsis is whole.
    assert re.search(r"(\*Bezos\*|&amp;|&lt;\*?Prometheus\*?&gt;|fund)…$", summary)


@pytest.mark.slow
def test_random_hostile_text_always_renders_within_limits_and_escaped() -> None:
    rng = random.Random(1)
    alphabet = ["&", "<", ">", "!", "|", "*", "_", "@here", "<!channel>", " ", ".", "Bezos", "x", "\n"]
    for _ in range(200):

        def text(n: int) -> str:
            return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, n)))

        alert = make_alert(title=text(400), summary=text(4000), source=text(100), terms=("Bezos", "x"))
        payload = render_slack_alert(alert)
        assert_within_limits(payload)
        assert_no_injected_markup(payload)


def test_reply_renders_header_lines_fields_entries_and_footer() -> None:
    reply = Reply(
        title="Latest stories",
        lines=("Two stories matched.",),
        entries=(
            ReplyEntry(title="Prometheus raises $6.2B", url="https://example.com/a", meta="Reuters · today"),
            ReplyEntry(title="No link story", text="A summary."),
        ),
        fields=(ReplyField(name="Feeds", value="12"),),
        footer="Use /news help",
        ephemeral=False,
    )
    payload = render_slack_reply(reply)
    assert payload["response_type"] == "in_channel"
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds == ["header", "section", "section", "section", "section", "context"]
    assert payload["blocks"][0]["text"] == {"type": "plain_text", "text": "Latest stories"}
    assert payload["blocks"][1]["text"]["text"] == "Two stories matched."
    assert payload["blocks"][2]["fields"][0]["text"] == "*Feeds*\n12"
    assert payload["blocks"][3]["text"]["text"] == (
        "*<https://example.com/a|Prometheus raises $6.2B>*\nReuters · today"
    )
    assert payload["blocks"][4]["text"]["text"] == "*No link story*\nA summary."
    assert payload["blocks"][5]["elements"][0]["text"] == "Use /news help"
    assert payload["text"] == "Latest stories\nTwo stories matched."


def test_error_reply_is_ephemeral_and_marked() -> None:
    payload = render_slack_reply(Reply(title="Not allowed", lines=("Admins only.",), is_error=True))
    assert payload["response_type"] == "ephemeral"
    assert payload["blocks"][0]["text"]["text"] == "⚠️ Not allowed"


def test_reply_text_from_stories_is_escaped() -> None:
    reply = Reply(
        title="<!channel> title",
        lines=("<!here> line",),
        entries=(ReplyEntry(title="<@U1> story", url="javascript:x", meta="<!everyone>", text="<b>"),),
        fields=(ReplyField(name="<!channel>", value="<@U2>"),),
        footer="<!here>",
    )
    assert_no_injected_markup(render_slack_reply(reply))


def test_reply_with_hundreds_of_entries_stays_within_limits_and_says_how_many_are_left() -> None:
    entries = tuple(
        ReplyEntry(title=f"Story {n} " + "word " * 200, url=f"https://e.com/{n}", text="t " * 3000)
        for n in range(300)
    )
    reply = Reply(
        title="T" * 500,
        lines=tuple("line " * 100 for _ in range(200)),
        entries=entries,
        fields=tuple(ReplyField(name=f"f{n}", value="v" * 5000) for n in range(25)),
        footer="f " * 5000,
    )
    payload = render_slack_reply(reply)
    assert_within_limits(payload)
    assert payload["blocks"][-1]["elements"][0]["text"].startswith("f f")
    more = payload["blocks"][-2]["elements"][0]["text"]
    shown = sum(
        1
        for b in payload["blocks"]
        if b["type"] == "section" and "Story" in b.get("text", {}).get("text", "")
    )
    assert more == f"…and {300 - shown} more"
