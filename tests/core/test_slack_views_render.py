"""The App Home and modal renderers keep Slack's limits and stay mention-free whatever the input;
the test validator (tests/block_kit.py) itself catches what it is meant to."""

from __future__ import annotations

import json

from bot.core.precision import FlaggedExample, RulePrecision
from bot.core.render.slack_views import render_feed_modal, render_home, render_rule_modal
from bot.core.rules.preview import PreviewAlert, PreviewItem, preview_rule
from bot.core.views import HomeFeed, HomeRule, HomeStory, HomeView, RuleForm
from tests.block_kit import validate_view

HOSTILE = "<!everyone> <@U0BOSS> <!subteam^S1> @channel *x* " + "long " * 2000
LONG_URL = "https://example.com/" + "a" * 1990


def huge_home(is_admin: bool) -> HomeView:
    example = FlaggedExample(1, "i1", HOSTILE, "U1", 0.0, LONG_URL)
    return HomeView(
        stories=tuple(HomeStory(HOSTILE, LONG_URL, HOSTILE) for _ in range(8)),
        feeds=tuple(HomeFeed(HOSTILE, "https://f", "failing", HOSTILE) for _ in range(15)),
        rules=tuple(
            HomeRule(f"rule-{n}", HOSTILE[:1000], n % 2 == 0, n, ("C0123456789", "<!here>"))
            for n in range(20)
        ),
        is_admin=is_admin,
        precision=tuple(RulePrecision(f"rule-{n}", 10, 3, (example,) * 5) for n in range(40)),
        notice=HOSTILE,
    )


def test_a_home_of_hostile_and_huge_input_is_valid_for_admins_and_readers() -> None:
    for admin in (True, False):
        view = render_home(huge_home(admin))
        assert validate_view(view) == []
        assert len(view["blocks"]) <= 100
        assert "<#C0123456789>" in json.dumps(view)  # a channel id is shown as the channel
        assert "<!here>" not in json.dumps(view)  # anything else is text


def test_rule_modals_with_previews_are_valid_and_titles_fit() -> None:
    items = [PreviewItem(str(n), HOSTILE, "", LONG_URL) for n in range(50)]
    alerts = [PreviewAlert(n, PreviewItem(str(n), HOSTILE), ("r",), "<!channel>") for n in range(30)]
    for preview in (
        preview_rule("r", "long", enabled=False, items=items, alerts=alerts),
        preview_rule("r", "x AND (" + "<!channel> " * 80, enabled=True, items=items, alerts=alerts),
    ):
        for name in (None, "r"):
            view = render_rule_modal(
                RuleForm(name=name, query=HOSTILE[:1000], preview=preview, draft_name=HOSTILE[:64])
            )
            assert validate_view(view) == [], view
    assert validate_view(render_feed_modal()) == []


def test_the_validator_catches_broken_views() -> None:
    good = render_feed_modal()
    assert validate_view({**good, "title": {"type": "plain_text", "text": "A title of more than 24 chars"}})
    assert validate_view({**good, "blocks": [{"type": "divider"}] * 101})
    assert validate_view(
        {
            **good,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "<!here>", "verbatim": True}}],
        }
    )
    button = {"type": "button", "text": {"type": "plain_text", "text": "x"}, "action_id": "a" * 256}
    assert validate_view({**good, "blocks": [{"type": "actions", "elements": [button]}]})
