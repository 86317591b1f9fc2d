"""The `group` command's core: JSON lines of reports in, one line out per report with its story.

Input objects carry `id`, `title`, `summary`, `link`, `source` and `published` (ISO 8601), in the
order the reports appeared. Each goes through what the poll cycle does to a new matched item: the
exact-duplicate checks of the item store (same link, same normalised headline: then it is a copy of
that stored item's story) and `group_item`, the pipeline's own event index, candidates, thresholds
and 48-hour window, with `published` as the clock. Run it on a throw-away database. A line that is
not a usable report yields `{"id": ..., "error": ...}` and the stream goes on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from bot.core.model import Item
from bot.core.normalise import normalise_entry
from bot.core.rules.jsonl import json_objects
from bot.core.story import TextEmbedder
from bot.poll.embedder import story_embedder
from bot.store import transaction
from bot.store.items import insert_new_items
from bot.store.stories import best_candidate, compare_with_stories, group_item, prune_story_index

FEED_URL = "group://stdin"


def group_jsonl(
    lines: Iterable[str], db: Database, *, explain: bool = False, embeddings: bool = True
) -> Iterator[str]:
    """`embeddings`: use the sentence encoder, as the pipeline does unless `story_embeddings` is off."""
    embedder = story_embedder() if embeddings else None
    clock = 0.0
    for number, report in json_objects(lines):
        if isinstance(report, str):  # a line that is not a JSON object: the reason
            yield _dump({"id": None, "error": f"line {number}: {report}"})
            continue
        problem = _problem(report)
        if problem:
            report_id = report.get("id")
            shown_id = report_id if isinstance(report_id, str | int) else None
            yield _dump({"id": shown_id, "error": f"line {number}: {problem}"})
            continue
        published = _when(report.get("published"))
        clock = max(clock, published.timestamp()) if published else clock
        item = _item(report, published)
        if item is None:
            yield _dump({"id": report["id"], "error": f"line {number}: neither title nor summary"})
            continue
        yield _dump({"id": report["id"], **_group_one(db, item, clock, explain, embedder)})


def _group_one(
    db: Database, item: Item, now: float, explain: bool, embedder: TextEmbedder | None
) -> dict[str, Any]:
    with transaction(db):
        prune_story_index(db, now)
        if not insert_new_items(db, [item], now=now, backlog=False):
            return {"story": _story_of_duplicate(db, item), "why": "an exact duplicate of a stored report"}
        candidates = compare_with_stories(db, item, now, None, embedder) if explain else []
        story_id = group_item(db, item, now, None, embedder)
    result: dict[str, Any] = {"story": story_id or item.id}
    if explain:
        best = best_candidate(candidates)
        result["joined"] = best.item_id if best else None
        result["candidates"] = [
            {"item": c.item_id, "same": c.verdict.same, "reason": c.verdict.reason,
             "score": round(c.verdict.score, 3), "headline_score": round(c.verdict.headline_score, 3),
             "shared": list(c.verdict.shared)}
            | ({} if c.verdict.embedding_score is None else {"cosine": round(c.verdict.embedding_score, 3)})
            for c in candidates
        ]  # fmt: skip
    return result


def _story_of_duplicate(db: Database, item: Item) -> str:
    row = db.execute(
        "SELECT coalesce(story_id, id) FROM items WHERE id = ? OR canonical_link = ? OR story_key = ?"
        " ORDER BY seen_at DESC LIMIT 1",
        [item.id, item.canonical_link, item.story_key],
    ).fetchone()
    return str(row[0]) if row else item.id


def _item(report: dict[str, Any], published: datetime | None) -> Item | None:
    entry = {"title": report.get("title") or "", "summary": report.get("summary") or "",
             "link": report.get("link") or "", "id": f"group:{report['id']}"}  # fmt: skip
    now = published or datetime.now(UTC)
    item = normalise_entry(entry, feed_url=FEED_URL, feed_title=report.get("source") or "", now=now)
    if item is None:
        return None
    # The caller's id names the report in the output; the store's id must be unique per report.
    return replace(item, published=published)


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _problem(report: dict[str, Any]) -> str:
    if "id" not in report or not isinstance(report["id"], str | int) or isinstance(report["id"], bool):
        return '"id" is missing or not a string or number'
    for key in ("title", "summary", "link", "source", "published"):
        if report.get(key) is not None and not isinstance(report[key], str):
            return f'"{key}" is not a string'
    if report.get("published") and _when(report["published"]) is None:
        return '"published" is not an ISO 8601 time'
    return ""


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False)
