"""Render the App Home, the rule and feed editors, and the alert buttons as Block Kit. Pure.

Text from feeds, rules and users goes through `escape_slack` (mrkdwn) or `plain` (plain_text), as
in bot.core.render.slack, so no view can mention anyone. Slack's view limits are kept whatever the
input: 100 blocks per view, 24 characters for a modal's title and buttons on it, 75 per button
text, 2,000 per button value, 3,000 per section text and private_metadata, 150 per header.

The action and callback ids below are the contract with the adapter (bot.deliver.adapters.slack_views).
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.core.precision import RulePrecision
from bot.core.render.slack import (
    MUTE_STORY,
    NOT_RELEVANT,
    SECTION_LIMIT,
    alert_buttons,
    escape_slack,
    safe_url,
)
from bot.core.render.text import fit, truncate
from bot.core.rules.preview import RulePreview
from bot.core.views import HomeView, RuleForm

VIEW_BLOCKS = 100
MODAL_TITLE = 24
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
METADATA_LIMIT = 3000
QUERY_INPUT_MAX = 1000  # a rule query is at most 1,000 characters (bot.commands.admin)

# action_id / callback_id: what the adapter listens for
ADD_RULE = "home_add_rule"
ADD_FEED = "home_add_feed"
EDIT_RULE = "home_edit_rule"
TEST_RULE = "rule_test"
RULE_MODAL = "rule_edit"
FEED_MODAL = "feed_add"
# block_id of each input; the action_id inside is always "value"
NAME_BLOCK, QUERY_BLOCK, ENABLED_BLOCK = "name", "query", "enabled"
URL_BLOCK, FEED_NAME_BLOCK = "url", "feed_name"
PREVIEW_BLOCK = "preview"

Block = dict[str, Any]
__all__ = [
    "MUTE_STORY",
    "NOT_RELEVANT",
    "alert_buttons",
    "render_feed_modal",
    "render_home",
    "render_rule_modal",
]
_ANGLES = str.maketrans("<>", "‹›")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,20}")
_STATE_MARK = {"failing": "🔴", "paused": "⏸️", "not polled yet": "⚪", "healthy": "🟢"}


def plain(text: str, limit: int) -> dict[str, Any]:
    """A plain_text object: shown literally by Slack; angle brackets become look-alikes anyway."""
    shown = truncate(" ".join(text.split()), limit).translate(_ANGLES)
    return {"type": "plain_text", "text": shown or "-", "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str, accessory: Block | None = None, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": _mrkdwn(text or " ")}
    if accessory is not None:
        block["accessory"] = accessory
    if block_id is not None:
        block["block_id"] = block_id
    return block


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _header(text: str) -> Block:
    return {"type": "header", "text": plain(text, 150)}


def _button(text: str, action_id: str, value: str = "", style: str | None = None) -> Block:
    button: Block = {"type": "button", "text": plain(text, BUTTON_TEXT), "action_id": action_id}
    if value:
        button["value"] = value[:BUTTON_VALUE]
    if style:
        button["style"] = style
    return button


def _lines_within(lines: list[str], limit: int = SECTION_LIMIT) -> str:
    """Whole lines, in order, while they fit in `limit`: a cut never splits a link or an escape."""
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > limit:
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)


def _escaped(text: str, limit: int = SECTION_LIMIT) -> str:
    return fit(" ".join(text.split()), limit, escape_slack)


def _link(url: str | None, title: str) -> str:
    label = _escaped(title, 300) or "(untitled)"
    target = safe_url(url)
    return f"<{target}|{label}>" if target else label


def _channel(channel: str) -> str:
    """A channel reference: Slack shows `<#C123>` as the channel's name; anything else as text."""
    return f"<#{channel}>" if _CHANNEL_ID.fullmatch(channel) else _escaped(channel, 100)


# -- App Home -------------------------------------------------------------------------------


def render_home(view: HomeView, *, title: str = "Prometheus News") -> dict[str, Any]:
    """The App Home tab: notice, latest stories, feed health (failing first), rules with their
    7-day match counts; for admins also the Add/Edit buttons and the week's precision per rule."""
    blocks: list[Block] = [_header(title)]
    if view.notice:
        mark = "⚠️ " if view.notice_is_error else "✅ "
        blocks.append(_section(mark + _escaped(view.notice, SECTION_LIMIT - 3)))
    if view.is_admin:
        blocks.append(
            {
                "type": "actions",
                "block_id": "home_admin",
                "elements": [_button("Add rule", ADD_RULE, style="primary"), _button("Add feed", ADD_FEED)],
            }
        )
    tail: list[Block] = []  # kept whatever the budget: the rules and the admins' report
    tail.append(_header("Rules (matches in 7 days)"))
    for rule in view.rules:
        where = ", ".join(_channel(c) for c in rule.channels[:10]) or "no channel here"
        state = "" if rule.enabled else " (disabled)"
        lines = [
            f"*{_escaped(rule.name, 100)}*{state} · {rule.matched_7d} matched · {where}",
            f"`{_escaped(rule.query, 2500)}`",
        ]
        accessory = _button("Edit", EDIT_RULE, rule.name) if view.is_admin else None
        tail.append(_section(_lines_within(lines), accessory))
    if view.is_admin:
        tail.extend(_precision_blocks(view.precision))

    blocks.append(_header("Latest matched stories"))
    if not view.stories:
        blocks.append(_context("No matched stories yet."))
    for story in view.stories:
        blocks.append(_section(f"*{_link(story.link, story.title)}*\n{_escaped(story.meta, 500)}"))
    blocks.append({"type": "divider"})
    blocks.append(_header("Feeds"))
    if not view.feeds:
        blocks.append(_context("No feeds configured."))
    for feed in view.feeds:
        mark = _STATE_MARK.get(feed.state, "•")
        blocks.append(
            _section(
                f"{mark} *{_escaped(feed.name, 200)}* · {_escaped(feed.state, 40)}\n{_escaped(feed.detail, 500)}"
            )
        )
    blocks.append({"type": "divider"})
    room = VIEW_BLOCKS - len(tail) - 1
    if len(blocks) > room:
        blocks = [*blocks[: max(room, 1)], _context("(shortened to fit Slack's view)")]
    return {"type": "home", "blocks": (blocks + tail)[:VIEW_BLOCKS]}


def _precision_blocks(report: tuple[RulePrecision, ...]) -> list[Block]:
    blocks: list[Block] = [_header("Not relevant this week (admins)")]
    if not report:
        blocks.append(_context("No alerts and no feedback in the last 7 days."))
    for rule in report[:15]:
        if rule.precision is None:
            figure = f"{rule.flagged} marked not relevant"
        else:
            figure = f"{rule.alerted - rule.flagged}/{rule.alerted} not flagged ({rule.precision:.0%})"
        lines = [f"*{_escaped(rule.rule, 100)}* · {figure}"]
        for example in rule.examples[:3]:
            lines.append(
                f"• `feedback:{example.feedback_id}` {_link(example.link, example.title or example.item_id)}"
            )
        blocks.append(_section(_lines_within(lines)))
    blocks.append(
        _context(
            "Explain an example: `python -m bot rules explain feedback:<id>` · all: `/news rules feedback`"
        )
    )
    return blocks


# -- the rule editor ------------------------------------------------------------------------


def render_rule_modal(form: RuleForm) -> dict[str, Any]:
    """The rule editor: name (new rules only), query, enabled, the channels it is routed to, a Test
    button and, after a test, the preview. `private_metadata` carries the edited rule's name."""
    blocks: list[Block] = []
    if form.name is None:
        blocks.append(
            _input(NAME_BLOCK, "Rule name", form.draft_name, "lower-case letters, digits, - and _", 64)
        )
    else:
        blocks.append(_section(f"Rule *{_escaped(form.name, 100)}*"))
    blocks.append(
        _input(
            QUERY_BLOCK,
            "Query",
            form.query,
            '"Project Prometheus" OR (Prometheus AND Bezos)',
            QUERY_INPUT_MAX,
            multiline=True,
        )
    )
    option = {"text": plain("Enabled", 75), "value": "on"}
    enabled: Block = {"type": "checkboxes", "action_id": "value", "options": [option]}
    if form.enabled:
        enabled["initial_options"] = [option]
    blocks.append(
        {
            "type": "input",
            "block_id": ENABLED_BLOCK,
            "optional": True,
            "label": plain("State", 2000),
            "element": enabled,
        }
    )
    where = ", ".join(_channel(c) for c in form.channels[:20]) or "none on Slack"
    blocks.append(_context(f"Routed to: {where} (routes are edited in config/routes.yaml)"))
    blocks.append({"type": "actions", "block_id": "test", "elements": [_button("Test", TEST_RULE)]})
    if form.preview is not None:
        blocks.extend(_preview_blocks(form.preview))
    metadata = json.dumps({"rule": form.name or ""})
    return {
        "type": "modal",
        "callback_id": RULE_MODAL,
        "title": plain("Edit rule" if form.name else "New rule", MODAL_TITLE),
        "submit": plain("Save", MODAL_TITLE),
        "close": plain("Cancel", MODAL_TITLE),
        "private_metadata": metadata[:METADATA_LIMIT],
        "blocks": blocks[:VIEW_BLOCKS],
    }


def _input(
    block_id: str, label: str, value: str, placeholder: str, max_length: int, *, multiline: bool = False
) -> Block:
    element: Block = {
        "type": "plain_text_input",
        "action_id": "value",
        "max_length": max_length,
        "placeholder": plain(placeholder, 150),
        "multiline": multiline,
    }
    if value:
        element["initial_value"] = value[:max_length]
    return {"type": "input", "block_id": block_id, "label": plain(label, 2000), "element": element}


def _preview_blocks(preview: RulePreview) -> list[Block]:
    blocks: list[Block] = [{"type": "divider"}]
    if not preview.ok:
        pointer = escape_slack(preview.pointer)  # the query's text: look-alikes keep it literal
        text = f"⚠️ Does not parse at position {preview.position}: expected {_escaped(preview.error or '', 500)}\n```{pointer}```"
        blocks.append(_section(_lines_within(text.split("\n")), block_id=PREVIEW_BLOCK))
        return blocks
    lines = [f"*Matches {preview.matched} of {preview.scanned} stored items of the last 7 days.*"]
    lines += [f"• {_link(h.link, h.title)}" for h in preview.headlines]
    blocks.append(_section(_lines_within(lines), block_id=PREVIEW_BLOCK))
    if preview.would_stop:
        stopped = [f"*Would stop {len(preview.would_stop)} of the last 24 hours' alerts:*"]
        stopped += [
            f"• {_escaped(a.item.title, 200)} ({_channel(a.channel)})" for a in preview.would_stop[:8]
        ]
        if len(preview.would_stop) > 8:
            stopped.append(f"…and {len(preview.would_stop) - 8} more")
        blocks.append(_section(_lines_within(stopped)))
    else:
        blocks.append(_context("Would stop none of the last 24 hours' alerts."))
    return blocks


def render_feed_modal() -> dict[str, Any]:
    """The "Add feed" form: the URL and an optional name, saved as `feeds add`."""
    name = _input(FEED_NAME_BLOCK, "Name (optional)", "", "Example News", 200)
    name["optional"] = True
    return {
        "type": "modal",
        "callback_id": FEED_MODAL,
        "title": plain("Add feed", MODAL_TITLE),
        "submit": plain("Add", MODAL_TITLE),
        "close": plain("Cancel", MODAL_TITLE),
        "blocks": [
            _input(URL_BLOCK, "Feed URL", "", "https://example.com/rss.xml", 2000),
            name,
            _context("The bot fetches it once first; the result shows on your Home tab."),
        ],
    }
