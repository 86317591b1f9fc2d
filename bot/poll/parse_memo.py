"""What one parse of a feed leaves for the next: each item element's normalised result (pure data).

A memo maps the hash of an item element's bytes to the Item it became (None: skipped), the rules it
matched and its story sketch. It is valid only for the same frame (the body around the items, the
feed's URL and content type, and this code: see `frame_digest`), and its matches only for the same
rules. It is a cache: any memo, or none, gives the same parse result; a good one saves the work.
Stored per feed as zlib-compressed JSON (bot.store.parse_memos); built and read in the workers.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import zlib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import feedparser

from bot.core.model import Item, RuleMatch
from bot.core.story import Sketch, StoryFeatures

MEMO_FORMAT = 1
_BOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class MemoEntry:
    item: Item | None  # None: the entry had nothing to show and was skipped
    matches: tuple[RuleMatch, ...] = ()  # under the memo's rules
    sketch: Sketch | None = None  # computed only for items that matched


@dataclass(frozen=True)
class ParseMemo:
    frame: str
    rules: str
    entries: dict[str, MemoEntry]

    def to_bytes(self) -> bytes:
        data = {
            "format": MEMO_FORMAT,
            "frame": self.frame,
            "rules": self.rules,
            "entries": {key: _entry_json(entry) for key, entry in self.entries.items()},
        }
        return zlib.compress(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(), 1)

    @classmethod
    def from_bytes(cls, blob: bytes) -> ParseMemo | None:
        """The memo in `blob`, or None when it is unreadable or of another format (then unused)."""
        try:
            data = json.loads(zlib.decompress(blob))
            if data.get("format") != MEMO_FORMAT:
                return None
            entries = {key: _entry_from_json(value) for key, value in data["entries"].items()}
            return cls(frame=data["frame"], rules=data["rules"], entries=entries)
        except (ValueError, KeyError, TypeError, AttributeError, zlib.error):
            return None


def element_digest(element: bytes) -> str:
    return hashlib.sha256(element).hexdigest()[:32]


def frame_digest(head: bytes, tail: bytes, url: str, content_type: str | None) -> str:
    """Everything besides an item's own bytes that its parse can depend on."""
    digest = hashlib.sha256(code_digest().encode())
    for part in (url.encode(), (content_type or "").encode(), head, tail):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def rules_digest(rules: object) -> str:
    return hashlib.sha256(json.dumps(rules).encode()).hexdigest()


@cache
def code_digest() -> str:
    """The parser, normaliser, matcher and story code, and feedparser's version: a memo made by other
    code is not trusted (a change to normalising must not leave old results in use)."""
    sources = sorted([*(_BOT / "core").rglob("*.py"), *(_BOT / "poll").glob("*.py")])
    if not sources:  # installed without its source: a memo is trusted by this process only
        return secrets.token_hex(16)
    digest = hashlib.sha256(feedparser.__version__.encode())
    for path in sources:
        digest.update(str(path.relative_to(_BOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _entry_json(entry: MemoEntry) -> dict[str, Any]:
    item = entry.item
    data: dict[str, Any] = {"item": None}
    if item is not None:
        data["item"] = {
            "id": item.id, "feed_url": item.feed_url, "title": item.title, "link": item.link,
            "canonical_link": item.canonical_link, "guid": item.guid, "summary": item.summary,
            "published": item.published.isoformat() if item.published else None, "source": item.source,
            "story_key": item.story_key,
        }  # fmt: skip
    data["matches"] = [[match.rule, list(match.terms)] for match in entry.matches]
    if entry.sketch is not None:
        features, keys = entry.sketch
        data["sketch"] = [features.to_json(), list(keys)]
    return data


def _entry_from_json(data: dict[str, Any]) -> MemoEntry:
    item = None
    if data["item"] is not None:
        fields = dict(data["item"])
        published = fields.pop("published")
        item = Item(**fields, published=datetime.fromisoformat(published) if published else None)
    matches = tuple(RuleMatch(rule, tuple(terms)) for rule, terms in data["matches"])
    sketch = None
    if data.get("sketch") is not None:
        features, keys = data["sketch"]
        sketch = (StoryFeatures.from_json(features), tuple(keys))
    return MemoEntry(item=item, matches=matches, sketch=sketch)
