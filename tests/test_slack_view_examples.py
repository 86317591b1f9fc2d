"""docs/slack-views/*.json: each Slack view and the alert with its buttons, rendered by the real
renderers from fixed example data, in the JSON Slack's Block Kit Builder takes
(https://app.slack.com/block-kit-builder: paste a file into its JSON pane).

The test fails when a file differs from what the renderers make now; rewrite them with
`UPDATE_EXAMPLES=1 python -m pytest tests/test_slack_view_examples.py`.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.model import Alert, Item
from bot.core.precision import FlaggedExample, RulePrecision
from bot.core.render.slack import render_slack_alert
from bot.core.render.slack_views import render_feed_modal, render_home, render_rule_modal
from bot.core.rules.preview import PreviewAlert, PreviewItem, preview_rule
from bot.core.views import HomeFeed, HomeRule, HomeStory, HomeView, RuleForm
from tests.block_kit import validate_blocks, validate_view
from tests.paths import ROOT

EXAMPLES = ROOT / "docs" / "slack-views"
QUERY = '"Project Prometheus" OR (Prometheus AND (Bezos OR Bajaj))'
ITEMS = [
    PreviewItem("a1", "Bezos's Project Prometheus buys an aerospace supplier", "", "https://news.example/a1"),
    PreviewItem("a2", "Vik Bajaj on Prometheus's first factory", "", "https://news.example/a2"),
    PreviewItem("a3", "Prometheus 3.0 released with PromQL improvements", "", "https://news.example/a3"),
]


def home(is_admin: bool) -> HomeView:
    return HomeView(
        stories=(
            HomeStory(ITEMS[0].title, ITEMS[0].link, "Reuters · 2026-11-25 14:02 UTC · prometheus"),
            HomeStory(ITEMS[1].title, ITEMS[1].link, "Bloomberg · 2026-11-25 11:40 UTC · prometheus, bajaj"),
        ),
        feeds=(
            HomeFeed(
                "Example wire", "https://wire.example/rss", "failing", "HTTP 503 (4 failed polls in a row)"
            ),
            HomeFeed(
                "Google News: Prometheus", "https://news.google.com/rss", "healthy", "last success 3 min ago"
            ),
        ),
        rules=(
            HomeRule("prometheus", QUERY, True, 42, ("C0123456789",)),
            HomeRule("bajaj", '"Vik Bajaj"', True, 7, ()),
        ),
        is_admin=is_admin,
        precision=(
            RulePrecision(
                "prometheus",
                40,
                2,
                (FlaggedExample(12, "a3", ITEMS[2].title, "U0READER", 0.0, ITEMS[2].link),),
            ),
        ),
    )


def examples() -> dict[str, dict[str, Any]]:
    alerts = [PreviewAlert(7, ITEMS[2], ("prometheus",), "C0123456789")]
    preview = preview_rule(
        "prometheus",
        '"Project Prometheus" OR (Bezos AND Prometheus)',
        enabled=True,
        items=ITEMS,
        alerts=alerts,
    )
    broken = preview_rule("prometheus", "Bezos AND (fund", enabled=True, items=ITEMS, alerts=alerts)
    form = RuleForm(name="prometheus", query=preview.query, channels=("C0123456789",))
    alert = Alert(
        delivery_id=7,
        item=Item(
            id="a1",
            feed_url="https://wire.example/rss",
            title=ITEMS[0].title,
            link=ITEMS[0].link,
            source="Reuters",
            summary="The AI start-up co-led by Jeff Bezos agreed to buy the supplier for $2 billion.",
            published=datetime(2026, 11, 25, 14, 2, tzinfo=UTC),
        ),
        rules=("prometheus",),
        terms=("Project Prometheus", "Bezos"),
    )
    return {
        "home-admin": render_home(home(True)),
        "home-reader": render_home(home(False)),
        "rule-modal": render_rule_modal(form),
        "rule-modal-tested": render_rule_modal(RuleForm(**{**form.__dict__, "preview": preview})),
        "rule-modal-parse-error": render_rule_modal(
            RuleForm(**{**form.__dict__, "query": broken.query, "preview": broken})
        ),
        "rule-modal-new": render_rule_modal(RuleForm(name=None)),
        "feed-modal": render_feed_modal(),
        "alert-with-buttons": {"blocks": render_slack_alert(alert, buttons=True)["blocks"]},
    }


@pytest.mark.parametrize("name", sorted(examples()))
def test_the_documented_block_kit_examples_are_what_the_renderers_make(name: str) -> None:
    view = examples()[name]
    problems = validate_view(view) if "type" in view else validate_blocks(view["blocks"])
    assert problems == []
    text = json.dumps(view, indent=2, ensure_ascii=False) + "\n"
    path = EXAMPLES / f"{name}.json"
    if os.environ.get("UPDATE_EXAMPLES"):
        EXAMPLES.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, f"{path} is stale: rerun with UPDATE_EXAMPLES=1"
