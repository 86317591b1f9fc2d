"""Parse fetched feed bytes with feedparser, normalise the entries and match them against the
rules (pure: no network, no database, no clock read).

Runs in a worker process (see bot.poll.parse_pool) because feedparser and the matcher take tens of
milliseconds per feed and would otherwise stall the event loop. Returns a ParsedFeed value in every
case: broken input becomes `error_kind`/`error`, never an exception, so one bad feed never stops a
cycle.

Incremental: a feed that changed by five items costs about five items. With the memo its last parse
left (bot.poll.parse_memo), only the item elements not seen before are given to feedparser, framed by
the feed's own head and tail (bot.poll.feed_split); the others' items, matches and sketches come from
the memo. The result is the full parse's, item for item: the split is refused whenever it might not
be exact, the partial parse must be clean (no feedparser complaint of any kind, one entry per item
element given), and anything else falls back to parsing the whole body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import feedparser

from bot.core.model import Item, RuleMatch
from bot.core.normalise import normalise_entry, plain_text
from bot.core.rules import RuleSet, RuleSpec
from bot.core.story import Sketch, story_sketch
from bot.poll.feed_split import FeedSplit, split_feed
from bot.poll.parse_memo import MemoEntry, ParseMemo, element_digest, frame_digest, rules_digest

MAX_ENTRIES = 500  # a feed with more is truncated to its first (usually newest) entries
_DOCTYPE = re.compile(rb"<!DOCTYPE[^>\[]*(\[.*?\]\s*)?>", re.IGNORECASE | re.DOTALL)
# feedparser flags these although the feed parsed fine
_HARMLESS_BOZO = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedFeed:
    """What one feed body yielded. `error_kind` set means no usable feed; `warning` means partial."""

    items: tuple[Item, ...] = ()
    title: str = ""
    error_kind: str | None = None
    error: str | None = None
    warning: str | None = None
    skipped_entries: int = 0
    matches: dict[str, tuple[RuleMatch, ...]] = field(default_factory=dict)  # item id -> rules that fired
    sketches: dict[str, Sketch] = field(default_factory=dict)  # matched item id -> its story sketch
    memo: bytes | None = field(default=None, compare=False, repr=False)  # for the next parse of this feed

    @property
    def ok(self) -> bool:
        return self.error_kind is None


def defuse_entities(body: bytes) -> bytes:
    """Drop the DOCTYPE when the body declares entities.

    feedparser resists billion-laughs, but one large internal entity referenced many times makes
    its loose parser use gigabytes (measured: a 250 KB feed reached 3 GB). Feeds have no legitimate
    need for internal entity declarations, so removing the DOCTYPE loses nothing real.
    """
    if _ENTITY_DECLARATION.search(body, 0, 65536) is None and _ENTITY_DECLARATION.search(body) is None:
        return body
    return _DOCTYPE.sub(b"", body, count=1)


@dataclass(frozen=True)
class _Parse:
    feed: ParsedFeed
    entries: tuple[Item | None, ...] = ()  # per feedparser entry kept, in order (None: skipped)
    clean: bool = False  # feedparser complained of nothing at all and no entry was cut


def parse_feed_bytes(body: bytes, *, url: str, content_type: str | None, now: datetime) -> ParsedFeed:
    """Parse `body` (already fetched) into normalised items; never raises for bad input."""
    return _parse(body, url=url, content_type=content_type, now=now).feed


def _parse(body: bytes, *, url: str, content_type: str | None, now: datetime) -> _Parse:
    if not body.strip():
        return _Parse(ParsedFeed(error_kind="empty", error="the response body is empty"))
    # Summaries and titles become plain text (bot.core.normalise), so feedparser's sanitising and its
    # rewriting of links inside their HTML would be thrown away; worse, that rewriting re-serialises
    # the markup and mangled text that is not HTML (`<https://x|y>` became `<https:>`). The item's
    # own link and guid are still resolved against xml:base and the feed's URL: feedparser resolves
    # those whatever `resolve_relative_uris` says (it only governs links inside embedded HTML).
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(
            defuse_entities(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as error:  # feedparser can raise on pathological input; it must not stop the cycle
        return _Parse(
            ParsedFeed(error_kind="parse", error=f"feedparser failed: {type(error).__name__}: {error}")
        )

    entries = parsed.get("entries") or []
    if not parsed.get("version") and not entries:
        looks_like_html = re.search(rb"<html|<!doctype html", body[:2048], re.IGNORECASE)
        reason = "an HTML page, not a feed" if looks_like_html else "not an RSS or Atom feed"
        return _Parse(ParsedFeed(error_kind="not_a_feed", error=f"the response is {reason}"))

    feed_title = plain_text(str(parsed.get("feed", {}).get("title") or ""))
    normalised = tuple(_normalise(entry, url, feed_title, now) for entry in entries[:MAX_ENTRIES])
    items = [item for item in normalised if item is not None]

    notes = []
    if len(entries) > MAX_ENTRIES:  # said first: it must survive the cut to 300 characters below
        notes.append(f"cut to {MAX_ENTRIES} of {len(entries)} entries")
    if parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), _HARMLESS_BOZO):
        problem = parsed.get("bozo_exception")
        notes.append(f"malformed feed, read what could be read: {type(problem).__name__}: {problem}")
    warning = "; ".join(notes)[:300] or None
    feed = ParsedFeed(
        items=tuple(items), title=feed_title, warning=warning, skipped_entries=len(normalised) - len(items)
    )
    return _Parse(feed, normalised, clean=not parsed.get("bozo") and len(entries) <= MAX_ENTRIES)


def _normalise(entry: Any, url: str, feed_title: str, now: datetime) -> Item | None:
    try:
        return normalise_entry(entry, feed_url=url, feed_title=feed_title, now=now)
    except Exception:  # one odd entry must not lose the rest of the feed
        return None


RuleKey = tuple[tuple[str, str, bool], ...]  # (name, query, enabled) per rule: small to send to a worker
_compiled_rules: dict[RuleKey, RuleSet] = {}  # per worker process: rules compile once, not per feed


def match_items(items: tuple[Item, ...], ruleset: RuleSet) -> dict[str, tuple[RuleMatch, ...]]:
    """Each item's matches (items matching nothing are left out)."""
    found = {item.id: tuple(ruleset.match(item.title, item.summary)) for item in items}
    return {item_id: matches for item_id, matches in found.items() if matches}


def parse_in_worker(
    body: bytes,
    url: str,
    content_type: str | None,
    now_timestamp: float,
    rules: RuleKey,
    memo: bytes | None = None,
) -> ParsedFeed:
    """Picklable entry point for the process pool: parse, normalise and match one feed, using the memo
    of its last parse (if any) for the items seen then; the result carries the memo for the next."""
    now = datetime.fromtimestamp(now_timestamp, tz=UTC)
    split = split_feed(body)
    if split is None or len(split.items) > MAX_ENTRIES:
        return _matched(parse_feed_bytes(body, url=url, content_type=content_type, now=now), rules)
    frame = frame_digest(split.head, split.tail, url, content_type)
    keys = [element_digest(element) for element in split.items]
    previous = ParseMemo.from_bytes(memo) if memo else None
    known = previous.entries if previous is not None and previous.frame == frame else {}
    parsed = _entries_from_memo(split, keys, known, url=url, content_type=content_type, now=now)
    if parsed is not None and previous is not None:
        return _matched_with_memo(parsed, keys, known, previous.rules, rules, frame, now)
    # no memo, or the partial parse was not exactly the whole one's: the whole body, as always
    whole = _parse(body, url=url, content_type=content_type, now=now)
    if not (whole.clean and whole.feed.ok and len(whole.entries) == len(keys)):
        return _matched(whole.feed, rules)  # no memo from a parse that is not sure of every entry
    return _matched_with_memo((whole.feed, whole.entries), keys, {}, None, rules, frame, now)


def _entries_from_memo(
    split: FeedSplit,
    keys: list[str],
    known: dict[str, MemoEntry],
    *,
    url: str,
    content_type: str | None,
    now: datetime,
) -> tuple[ParsedFeed, tuple[Item | None, ...]] | None:
    """The feed and each item element's entry, feedparser given only the elements not in `known`;
    None when there is no memo or the partial parse is not exactly the whole one's."""
    if not known:
        return None
    unseen = {key: element for key, element in zip(keys, split.items, strict=True) if key not in known}
    partial = _parse(split.join(list(unseen.values())), url=url, content_type=content_type, now=now)
    if not (partial.clean and partial.feed.ok and len(partial.entries) == len(unseen)):
        return None
    fresh = dict(zip(unseen, partial.entries, strict=True))
    entries = tuple(known[key].item if key in known else fresh[key] for key in keys)
    items = tuple(item for item in entries if item is not None)
    feed = replace(partial.feed, items=items, skipped_entries=len(entries) - len(items))
    return feed, entries


def _matched_with_memo(
    parsed: tuple[ParsedFeed, tuple[Item | None, ...]],
    keys: list[str],
    known: dict[str, MemoEntry],
    cached_rules: str | None,
    rules: RuleKey,
    frame: str,
    now: datetime,
) -> ParsedFeed:
    """Match the items (taking each seen item's matches and sketch from the memo when the rules are
    the same) and make the memo for the next parse."""
    feed, entries = parsed
    same_rules = cached_rules == rules_digest(rules)
    ruleset = _ruleset(rules) if feed.items else None
    memo_entries: dict[str, MemoEntry] = {}
    last: dict[str, MemoEntry] = {}  # per item id, its last item in the feed (as match_items counts)
    for key, item in zip(keys, entries, strict=True):
        entry = known.get(key) if same_rules else None
        if entry is None or entry.item != item:
            entry = MemoEntry(item=item, sketch=known[key].sketch if key in known else None)
            if item is not None and ruleset is not None:
                entry = replace(entry, matches=tuple(ruleset.match(item.title, item.summary)))
        if item is not None:
            if entry.matches and entry.sketch is None:
                entry = replace(entry, sketch=story_sketch(item.title, item.summary, item.source))
            last[item.id] = entry
        if item is None or item.published != now:  # "now" stands in for a future date: not kept
            memo_entries[key] = entry
    matches = {item_id: entry.matches for item_id, entry in last.items() if entry.matches}
    sketches = {item_id: entry.sketch for item_id, entry in last.items() if entry.matches and entry.sketch}
    memo = ParseMemo(frame=frame, rules=rules_digest(rules), entries=memo_entries)
    return replace(feed, matches=matches, sketches=sketches, memo=memo.to_bytes())


def _ruleset(rules: RuleKey) -> RuleSet:
    ruleset = _compiled_rules.get(rules)
    if ruleset is None:
        _compiled_rules.clear()
        ruleset = _compiled_rules[rules] = RuleSet.compile(
            [RuleSpec(name=name, query=query, enabled=enabled) for name, query, enabled in rules]
        )
    return ruleset


def _matched(parsed: ParsedFeed, rules: RuleKey) -> ParsedFeed:
    """`parsed` with its items' matches and the matched items' story sketches (no memo)."""
    if not parsed.ok or not parsed.items:
        return parsed
    matches = match_items(parsed.items, _ruleset(rules))
    sketches = {
        item.id: story_sketch(item.title, item.summary, item.source)
        for item in parsed.items
        if item.id in matches
    }
    return replace(parsed, matches=matches, sketches=sketches)
