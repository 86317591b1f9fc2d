"""The `match` command's core: JSON lines of items in, one JSON line of verdict out per item.

Input objects carry `id`, `title`, `summary`, `link` and optionally `source`. A line that is not
a usable item yields `{"id": <id or null>, "error": "<reason>"}` and the stream goes on; blank
lines are skipped. Pure: reads strings, yields strings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from bot.core.rules.ruleset import RuleSet


def match_jsonl(lines: Iterable[str], ruleset: RuleSet) -> Iterator[str]:
    for number, item in json_objects(lines):
        if isinstance(item, str):  # a line that is not a JSON object: the reason
            yield _dump({"id": None, "error": f"line {number}: {item}"})
            continue
        item_id = item.get("id")
        problem = _problem(item)
        if problem:
            shown_id = item_id if isinstance(item_id, str | int) else None
            yield _dump({"id": shown_id, "error": f"line {number}: {problem}"})
            continue
        matches = ruleset.match(item["title"], item.get("summary") or "")
        terms = dict.fromkeys(term for m in matches for term in m.terms)
        rules = [m.rule for m in matches]
        yield _dump({"id": item_id, "matched": bool(matches), "rules": rules, "terms": list(terms)})


def json_objects(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, the line's JSON object) for each non-blank line, or (number, why it is not one)."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as error:
            yield number, f"not valid JSON ({error})"
            continue
        yield number, value if isinstance(value, dict) else "expected a JSON object"


def _problem(item: dict[str, Any]) -> str:
    if "id" not in item or not isinstance(item["id"], str | int) or isinstance(item["id"], bool):
        return '"id" is missing or not a string or number'
    if not isinstance(item.get("title"), str):
        return '"title" is missing or not a string'
    for key in ("summary", "link", "source"):
        if item.get(key) is not None and not isinstance(item[key], str):
            return f'"{key}" is not a string'
    return ""


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False)
