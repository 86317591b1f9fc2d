"""A small Block Kit validator for tests: the platform's documented limits on views and messages.

Not the whole schema: the limits a renderer can break with long or hostile input (block counts,
text lengths, ids, element counts), the fields each block type requires, and the mention syntax
that must never come out of feed text. Returns a list of problems (empty: valid).
"""

from __future__ import annotations

import re
from typing import Any

# https://api.slack.com/reference/surfaces/views, /reference/block-kit/blocks, /block-elements
LIMITS = {
    "view_blocks": 100,
    "message_blocks": 50,
    "modal_title": 24,
    "modal_submit": 24,
    "modal_close": 24,
    "private_metadata": 3000,
    "callback_id": 255,
    "block_id": 255,
    "action_id": 255,
    "section_text": 3000,
    "header_text": 150,
    "button_text": 75,
    "button_value": 2000,
    "context_elements": 10,
    "actions_elements": 25,
    "input_label": 2000,
    "placeholder": 150,
    "plain_text_input_initial": 3000,
    "checkbox_options": 10,
}
BLOCK_TYPES = {"section", "context", "header", "actions", "divider", "input", "image", "rich_text"}
# What a feed must never be able to produce: a broadcast, user, group or channel mention.
MENTIONS = re.compile(r"<!(?:channel|here|everyone|subteam)|<@[UW]")


def validate_view(view: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    kind = view.get("type")
    if kind not in ("home", "modal"):
        problems.append(f"view type {kind!r}")
    if kind == "modal":
        for key in ("title", "submit", "close"):
            if key in view:
                problems += _text(view[key], LIMITS[f"modal_{key}"], f"modal {key}", plain=True)
        if "title" not in view:
            problems.append("modal without a title")
        if "callback_id" in view and len(view["callback_id"]) > LIMITS["callback_id"]:
            problems.append("callback_id too long")
        has_input = any(b.get("type") == "input" for b in view.get("blocks", []))
        if has_input and "submit" not in view:
            problems.append("modal with inputs but no submit")
    if len(view.get("private_metadata", "")) > LIMITS["private_metadata"]:
        problems.append("private_metadata over 3000")
    problems += validate_blocks(view.get("blocks", []), LIMITS["view_blocks"])
    return problems


def validate_blocks(blocks: list[dict[str, Any]], max_blocks: int = 50) -> list[str]:
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks, the limit is {max_blocks}")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"block {i} ({block.get('type')})"
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            problems.append(f"{where}: unknown type")
        block_id = block.get("block_id")
        if block_id is not None:
            if len(block_id) > LIMITS["block_id"]:
                problems.append(f"{where}: block_id too long")
            if block_id in block_ids:
                problems.append(f"{where}: duplicate block_id {block_id}")
            block_ids.add(block_id)
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"{where}: no text")
            if "text" in block:
                problems += _text(block["text"], LIMITS["section_text"], where)
            if "accessory" in block:
                problems += _element(block["accessory"], where)
        elif kind == "header":
            problems += _text(block["text"], LIMITS["header_text"], where, plain=True)
        elif kind == "context":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= LIMITS["context_elements"]:
                problems.append(f"{where}: {len(elements)} elements")
            for element in elements:
                problems += _text(element, LIMITS["section_text"], where)
        elif kind == "actions":
            elements = block.get("elements", [])
            if not 1 <= len(elements) <= LIMITS["actions_elements"]:
                problems.append(f"{where}: {len(elements)} elements")
            ids = [e.get("action_id") for e in elements]
            if len(ids) != len(set(ids)):
                problems.append(f"{where}: duplicate action_id")
            for element in elements:
                problems += _element(element, where)
        elif kind == "input":
            problems += _text(block.get("label", {}), LIMITS["input_label"], where, plain=True)
            problems += _element(block.get("element", {}), where)
    return problems


def _element(element: dict[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    kind = element.get("type")
    action_id = element.get("action_id", "")
    if len(action_id) > LIMITS["action_id"]:
        problems.append(f"{where}: action_id too long")
    if kind == "button":
        problems += _text(element.get("text", {}), LIMITS["button_text"], f"{where} button", plain=True)
        if len(element.get("value", "")) > LIMITS["button_value"]:
            problems.append(f"{where}: button value too long")
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"{where}: button style")
    elif kind == "plain_text_input":
        initial = element.get("initial_value", "")
        limit = min(element.get("max_length", 3000), LIMITS["plain_text_input_initial"])
        if len(initial) > limit:
            problems.append(f"{where}: initial_value over max_length")
        if "placeholder" in element:
            problems += _text(element["placeholder"], LIMITS["placeholder"], where, plain=True)
    elif kind == "checkboxes":
        options = element.get("options", [])
        if not 1 <= len(options) <= LIMITS["checkbox_options"]:
            problems.append(f"{where}: checkbox options")
        values = [o.get("value") for o in options]
        for chosen in element.get("initial_options", []):
            if chosen.get("value") not in values:
                problems.append(f"{where}: initial option not among options")
    else:
        problems.append(f"{where}: element type {kind!r} not expected here")
    return problems


def _text(obj: dict[str, Any], limit: int, where: str, *, plain: bool = False) -> list[str]:
    problems: list[str] = []
    kind = obj.get("type")
    text = obj.get("text", "")
    if plain and kind != "plain_text":
        problems.append(f"{where}: must be plain_text")
    if kind not in ("plain_text", "mrkdwn"):
        problems.append(f"{where}: text type {kind!r}")
    if not text:
        problems.append(f"{where}: empty text")
    if len(text) > limit:
        problems.append(f"{where}: {len(text)} characters, the limit is {limit}")
    if MENTIONS.search(text):
        problems.append(f"{where}: a mention in {text[:80]!r}")
    if kind == "mrkdwn" and obj.get("verbatim") is not True:
        problems.append(f"{where}: mrkdwn without verbatim (Slack would auto-link names)")
    return problems
