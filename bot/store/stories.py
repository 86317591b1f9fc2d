"""Group items into stories across outlets: the event index (bot.core.story) kept in SQLite.

A story's id is the id of its first item. Each indexed item stores its features (story_members)
and its event tokens under its story (story_bands, stamped with the story's first-seen time), so
finding the story of a new item is a handful of indexed lookups whatever the table's size:
candidates share an event token that is not common and started within STORY_WINDOW; at most
MAX_CANDIDATES of them (most shared tokens first) are verified with bot.core.story.judge against their
first report and newest copies. story_terms counts in how many indexed items each token appears:
a token in more than COMMON_SHARE of them ("machine", "industrial" in a year of news about one
company) is boilerplate too. Call these inside the caller's transaction.

Also here: the outbox side of grouping. A later copy of a story becomes an 'update' delivery
for each channel the story already alerted (its parent), not a second alert. And undoing a wrong
grouping: `split_from_story` makes a report a story of its own (`story split`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlite_utils import Database

from bot.core.model import Item
from bot.core.routing import PlannedDelivery
from bot.core.story import Sketch, StoryFeatures, TextEmbedder, Verdict, is_groupable, judge, story_sketch
from bot.store.outbox import enqueue, mark_sent

STORY_WINDOW = 48 * 3600.0  # only stories first seen this recently take new copies
MAX_CANDIDATES = 20  # stories verified per item (most shared tokens first): bounds the cost per item
MAX_MEMBERS_PER_STORY = 4  # copies compared per candidate story: its first and its newest; a hot story
# with hundreds of copies must not make every further lookup slower
# A token's newest stories looked at: one shared by more stories of the last 48 h than this says
# little about which event a report tells, and the cap keeps the lookup flat as the store grows.
MAX_POSTINGS = 100
COMMON_SHARE = 0.12  # an event token in more than this share of indexed items is no evidence
MIN_ITEMS_FOR_COMMON = 40  # ... once there are enough items to tell


@dataclass(frozen=True)
class Candidate:
    """One stored report a new item was compared with, and the verdict."""

    story_id: str
    item_id: str
    verdict: Verdict


@lru_cache(maxsize=512)
def _sketch(
    title: str, summary: str, source: str, embedder: TextEmbedder | None = None
) -> tuple[StoryFeatures, tuple[str, ...]]:
    """Features and index keys of one item (cached: find_story and add_to_story both need them)."""
    return story_sketch(title, summary, source, embedder)


def group_item(
    db: Database, item: Item, now: float, sketch: Sketch | None = None, embedder: TextEmbedder | None = None
) -> str | None:
    """File a newly stored item under the recent story it reports, or as a new story of its own.

    Returns the story it joined, or None when it starts one. The pipeline and `python -m bot group`
    both call this, so grouping measured from outside is the grouping the channels get. `embedder`
    makes the item's sentence embedding when no `sketch` is given (None: words only)."""
    sketch = sketch or _sketch(item.title, item.summary, item.source, embedder)
    story_id = find_story(db, item, now, sketch)
    add_to_story(db, item, story_id or item.id, now, sketch)
    return story_id


@lru_cache(maxsize=4096)
def _features(stored: str) -> StoryFeatures:
    """A stored report's features (cached: a hot story's members are read for every new report)."""
    return StoryFeatures.from_json(stored)


def find_story(db: Database, item: Item, now: float, sketch: Sketch | None = None) -> str | None:
    """The id of the recent story `item` is another report of, or None if it is a new story.

    `sketch` is the item's `story_sketch`, when already computed (the parser workers do)."""
    best = best_candidate(compare_with_stories(db, item, now, sketch))
    return best.story_id if best else None


def best_candidate(candidates: Iterable[Candidate]) -> Candidate | None:
    same = [c for c in candidates if c.verdict.same]
    return max(same, key=lambda c: c.verdict.score) if same else None


def compare_with_stories(
    db: Database, item: Item, now: float, sketch: Sketch | None = None, embedder: TextEmbedder | None = None
) -> list[Candidate]:
    """Every recent story's reports that share an uncommon event token with `item`, each with the
    verdict of bot.core.story.judge (what `group --explain` prints)."""
    features, keys = sketch or _sketch(item.title, item.summary, item.source, embedder)
    if not keys or not is_groupable(features):
        return []
    common = common_terms(db, keys)
    keys = tuple(k for k in keys if k not in common)
    if not keys:
        return []
    stories = candidate_stories(db, keys, since=now - STORY_WINDOW, exclude=item.id)
    if not stories:
        return []
    marks = ",".join("?" * len(stories))
    members = db.execute(
        "SELECT story_id, item_id, features FROM (SELECT story_id, item_id, features,"
        " row_number() OVER (PARTITION BY story_id ORDER BY seen_at DESC, item_id) AS newest,"
        " row_number() OVER (PARTITION BY story_id ORDER BY seen_at, item_id) AS oldest"
        f" FROM story_members WHERE story_id IN ({marks})) WHERE newest < ? OR oldest = 1",
        [*stories, MAX_MEMBERS_PER_STORY],
    ).fetchall()
    others = [(story_id, item_id, _features(stored)) for story_id, item_id, stored in members]
    common |= common_terms(db, tuple({t for _, _, other in others for t in other.combined}))
    return [
        Candidate(story_id, item_id, judge(features, other, common)) for story_id, item_id, other in others
    ]


def candidate_stories(db: Database, keys: Sequence[str], *, since: float, exclude: str) -> list[str]:
    """Up to MAX_CANDIDATES recent stories that share event tokens with `keys`, those sharing the most
    first. Each token contributes only its MAX_POSTINGS newest stories (an index range scan), so the
    cost per item does not grow with the number of stored stories."""
    one_token = (
        "SELECT * FROM (SELECT story_id, seen_at FROM story_bands"
        " WHERE band = ? AND seen_at >= ? AND story_id != ? ORDER BY seen_at DESC LIMIT ?)"
    )
    stories: list[str] = []
    for start in range(0, len(keys), 200):  # SQLite's bound-parameter limit, four per token
        chunk = keys[start : start + 200]
        rows = db.execute(
            f"SELECT story_id FROM ({' UNION ALL '.join([one_token] * len(chunk))})"
            " GROUP BY story_id ORDER BY count(*) DESC, max(seen_at) DESC LIMIT ?",
            [value for key in chunk for value in (key, since, exclude, MAX_POSTINGS)] + [MAX_CANDIDATES],
        )
        stories += [row[0] for row in rows if row[0] not in stories]
    return stories[:MAX_CANDIDATES]


def common_terms(db: Database, tokens: Iterable[str]) -> set[str]:
    """The tokens among `tokens` that appear in more than COMMON_SHARE of the indexed items."""
    tokens = list(tokens)
    total_row = db.execute("SELECT items FROM story_terms WHERE token = ''").fetchone()
    total = total_row[0] if total_row else 0
    if total < MIN_ITEMS_FOR_COMMON or not tokens:
        return set()
    common: set[str] = set()
    for start in range(0, len(tokens), 500):  # SQLite's bound-parameter limit
        chunk = tokens[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(
            f"SELECT token FROM story_terms WHERE token IN ({marks}) AND items > ?",
            [*chunk, total * COMMON_SHARE],
        )
        common.update(row[0] for row in rows)
    return common


def add_to_story(db: Database, item: Item, story_id: str, now: float, sketch: Sketch | None = None) -> None:
    """Record `item` as part of `story_id` (its own id for a new story) and index it."""
    db.execute("UPDATE items SET story_id = ? WHERE id = ?", [story_id, item.id])
    features, keys = sketch or _sketch(item.title, item.summary, item.source)
    if not keys or not is_groupable(features):
        return  # too little text to group on: it stays a story of its own
    started = db.execute("SELECT min(seen_at) FROM story_members WHERE story_id = ?", [story_id]).fetchone()[
        0
    ]
    started = now if started is None else min(started, now)
    inserted = db.execute(
        "INSERT INTO story_members (item_id, story_id, seen_at, features) VALUES (?,?,?,?)"
        " ON CONFLICT DO NOTHING",
        [item.id, story_id, now, features.to_json()],
    ).rowcount
    db.conn.executemany(
        "INSERT INTO story_bands (band, story_id, seen_at) VALUES (?,?,?) ON CONFLICT DO NOTHING",
        [(key, story_id, started) for key in keys],
    )
    if inserted:
        db.conn.executemany(
            "INSERT INTO story_terms (token, items) VALUES (?, 1) ON CONFLICT DO UPDATE SET items = items + 1",
            [(token,) for token in ("", *keys)],
        )


def prune_story_index(db: Database, now: float) -> int:
    """Drop index rows of stories too old to take new copies; returns how many band rows went."""
    cutoff = now - STORY_WINDOW
    removed = db.execute("DELETE FROM story_bands WHERE seen_at < ?", [cutoff]).rowcount
    db.execute("DELETE FROM story_members WHERE seen_at < ?", [cutoff])
    return int(removed)


def story_alerts(db: Database, story_id: str) -> dict[tuple[str, str], int]:
    """(platform, channel) -> the delivery id of the story's alert there (queued or sent)."""
    rows = db.execute(
        "SELECT d.platform, d.channel, min(d.id) FROM deliveries d JOIN items i ON i.id = d.item_id"
        " WHERE i.story_id = ? AND d.kind = 'alert' GROUP BY d.platform, d.channel",
        [story_id],
    )
    return {(platform, channel): delivery_id for platform, channel, delivery_id in rows}


def enqueue_update(
    db: Database, item_id: str, delivery: PlannedDelivery, parent_id: int, *, now: float
) -> int:
    """Queue "also reported by" for `item_id` in a channel whose story alert is `parent_id`."""
    cursor = db.execute(
        "INSERT INTO deliveries (item_id, platform, channel, rules, terms, next_attempt_at, created_at,"
        " kind, parent_id) VALUES (?,?,?,?,?,?,?, 'update', ?) ON CONFLICT DO NOTHING",
        [item_id, delivery.platform, delivery.channel, json.dumps(list(delivery.rules)),
         json.dumps(list(delivery.terms)), now, now, parent_id],
    )  # fmt: skip
    return int(cursor.rowcount)


def enqueue_copy(
    db: Database, item_id: str, story_id: str, planned: Iterable[PlannedDelivery], *, now: float
) -> int:
    """Queue a later copy of `story_id`: an update where the story already alerted, else an alert.

    Channels reached only through this copy's rules never saw the story, so they get the alert.
    Returns how many rows were queued.
    """
    parents = story_alerts(db, story_id)
    alerts: list[PlannedDelivery] = []
    added = 0
    for delivery in planned:
        parent_id = parents.get((delivery.platform, delivery.channel))
        if parent_id is None:
            alerts.append(delivery)
        else:
            added += enqueue_update(db, item_id, delivery, parent_id, now=now)
    return added + enqueue(db, item_id, alerts, now=now)


@dataclass(frozen=True)
class StoryReport:
    """One report (item) of a story, as `story show` lists it."""

    item_id: str
    title: str
    link: str | None
    source: str
    seen_at: float


def story_of(db: Database, item_id: str) -> str | None:
    """The story `item_id` belongs to (None for an item that matched no rule: it was never grouped)."""
    row = db.execute("SELECT story_id FROM items WHERE id = ?", [item_id]).fetchone()
    return row[0] if row else None


def story_reports(db: Database, story_id: str, *, limit: int) -> list[StoryReport]:
    """The story's reports in the order they arrived (its first report first), at most `limit`."""
    rows = db.execute(
        "SELECT id, title, link, source, seen_at FROM items WHERE story_id = ?"
        " ORDER BY id != ?, seen_at, rowid LIMIT ?",
        [story_id, story_id, limit],
    )
    return [StoryReport(*row) for row in rows]


SPLIT_MARK = "skipped: split from its story"


def split_from_story(db: Database, item: Item, now: float) -> list[int]:
    """Make `item`, a later report of another story, a story of its own (inside the caller's
    transaction). Returns the ids of its "also reported by" rows that had not gone out yet: they are
    dropped (marked sent with SPLIT_MARK), since it is no longer a copy of that story.

    Its index row moves to the new story, stamped with the time the item was first seen, so later
    copies of it join it rather than the story it was wrongly grouped with. The old story keeps the
    band keys the item added: they only make it a candidate, and candidates are verified against
    their members, of which the item no longer is one."""
    first_seen = db.execute("SELECT seen_at FROM items WHERE id = ?", [item.id]).fetchone()[0]
    # Moved, not re-added: the item is already counted in story_terms.
    db.execute(
        "UPDATE story_members SET story_id = ?, seen_at = ? WHERE item_id = ?", [item.id, first_seen, item.id]
    )
    add_to_story(db, item, item.id, first_seen)
    unsent = [
        row[0]
        for row in db.execute(
            "SELECT id FROM deliveries WHERE item_id = ? AND kind = 'update' AND status = 'pending'",
            [item.id],
        )
    ]
    if unsent:
        mark_sent(db, unsent, message_ref=SPLIT_MARK, now=now)
    return unsent
