"""Parse fetched feed bytes with feedparser, normalise the entries and match them against the
rules (pure: no network, no database, no clock read).

Runs in a worker process (see bot.poll.parse_pool) because feedparser and the matcher take tens of
milliseconds per feed and would otherwise stall the event loop. Returns a ParsedFeed value in every
case: broken input becomes `error_kind`/`error`, never an exception, so one bad feed never stops a
cycle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import feedparser

from bot.core.model import Item, RuleMatch
from bot.core.normalise import normalise_entry, plain_text
from bot.core.rules import RuleSet, RuleSpec
from bot.core.story import Sketch, story_sketch
from bot.poll.embedder import story_embedder

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
    # The feed's own (rel, href) links that WebSub reads (hub, self), resolved against the feed's URL:
    # untrusted text, checked by bot.core.websub.pick_links before any use.
    links: tuple[tuple[str, str], ...] = ()

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


def parse_feed_bytes(body: bytes, *, url: str, content_type: str | None, now: datetime) -> ParsedFeed:
    """Parse `body` (already fetched) into normalised items; never raises for bad input."""
    if not body.strip():
        return ParsedFeed(error_kind="empty", error="the response body is empty")
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
        return ParsedFeed(error_kind="parse", error=f"feedparser failed: {type(error).__name__}: {error}")

    entries = parsed.get("entries") or []
    if not parsed.get("version") and not entries:
        looks_like_html = re.search(rb"<html|<!doctype html", body[:2048], re.IGNORECASE)
        reason = "an HTML page, not a feed" if looks_like_html else "not an RSS or Atom feed"
        return ParsedFeed(error_kind="not_a_feed", error=f"the response is {reason}")

    feed_title = plain_text(str(parsed.get("feed", {}).get("title") or ""))
    items: list[Item] = []
    skipped = 0
    for entry in entries[:MAX_ENTRIES]:
        try:
            item = normalise_entry(entry, feed_url=url, feed_title=feed_title, now=now)
        except Exception:  # one odd entry must not lose the rest of the feed
            item = None
        if item is None:
            skipped += 1
        else:
            items.append(item)

    notes = []
    if len(entries) > MAX_ENTRIES:  # said first: it must survive the cut to 300 characters below
        notes.append(f"cut to {MAX_ENTRIES} of {len(entries)} entries")
    if parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), _HARMLESS_BOZO):
        problem = parsed.get("bozo_exception")
        notes.append(f"malformed feed, read what could be read: {type(problem).__name__}: {problem}")
    warning = "; ".join(notes)[:300] or None
    return ParsedFeed(
        items=tuple(items), title=feed_title, warning=warning, skipped_entries=skipped,
        links=_websub_links(parsed.get("feed", {}).get("links")),
    )  # fmt: skip


def _websub_links(links: object) -> tuple[tuple[str, str], ...]:
    """The feed-level hub and self links (at most a few: a hostile feed may list thousands)."""
    found: list[tuple[str, str]] = []
    for link in links if isinstance(links, list) else []:
        rel, href = (link.get("rel"), link.get("href")) if isinstance(link, dict) else (None, None)
        if isinstance(rel, str) and isinstance(href, str) and rel.lower() in ("hub", "self"):
            found.append((rel.lower(), href))
            if len(found) >= 8:
                break
    return tuple(found)


RuleKey = tuple[tuple[str, str, bool], ...]  # (name, query, enabled) per rule: small to send to a worker
ListKey = tuple[tuple[str, str], ...]  # (name, query) per named list the rules use (`@name`)
_compiled_rules: dict[tuple[RuleKey, ListKey], RuleSet] = {}  # per worker: rules compile once, not per feed


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
    known: frozenset[str] = frozenset(),
    embed: bool = False,
    lists: ListKey = (),
) -> ParsedFeed:
    """Picklable entry point for the process pool: parse, normalise and match one feed.

    Items whose id is in `known` (this feed's items already stored) are returned unmatched: the store
    drops them as seen before, so matching them and sketching their story would be thrown away.
    `embed`: the matched items' sketches carry sentence embeddings (the encoder loads once per worker)."""
    parsed = parse_feed_bytes(
        body, url=url, content_type=content_type, now=datetime.fromtimestamp(now_timestamp, tz=UTC)
    )
    if not parsed.ok or not parsed.items:
        return parsed
    ruleset = _compiled_rules.get((rules, lists))
    if ruleset is None:
        _compiled_rules.clear()
        ruleset = _compiled_rules[rules, lists] = RuleSet.compile(
            [RuleSpec(name=name, query=query, enabled=enabled) for name, query, enabled in rules], dict(lists)
        )
    matches = match_items(tuple(item for item in parsed.items if item.id not in known), ruleset)
    embedder = story_embedder() if embed else None
    sketches = {
        item.id: story_sketch(item.title, item.summary, item.source, embedder)
        for item in parsed.items
        if item.id in matches
    }
    return replace(parsed, matches=matches, sketches=sketches)
