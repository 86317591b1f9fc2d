"""Feed lists to and from OPML 2.0 text (pure: strings in, values out).

Reading refuses any DOCTYPE or entity declaration before parsing: OPML never needs one, and
refusing them rules out entity-expansion bombs and external entities without a new dependency.
The rest is the standard library's ElementTree (expat), which does not fetch anything.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from bot.config import FeedConfig
from bot.core.durations import format_duration
from bot.errors import OpmlError

MAX_OPML_FEEDS = 200
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    name: str | None = None


def feeds_to_opml(feeds: tuple[FeedConfig, ...] | list[FeedConfig], title: str = "News bot feeds") -> str:
    """An OPML 2.0 document listing `feeds` (paused feeds too, marked with a category)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attributes = {"type": "rss", "text": feed.name or feed.url, "xmlUrl": feed.url}
        if feed.name:
            attributes["title"] = feed.name
        if feed.interval is not None:
            attributes["interval"] = format_duration(feed.interval)
        if not feed.enabled:
            attributes["category"] = "paused"
        ET.SubElement(body, "outline", attributes)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def opml_to_feeds(text: str) -> list[OpmlFeed]:
    """Every outline with an xmlUrl (nested folders included), in document order, without repeats.

    Raises OpmlError for text that is not OPML, declares a DOCTYPE or entities, or lists more
    than MAX_OPML_FEEDS feeds. URLs are returned as written; the caller checks them.
    """
    if _DECLARATION.search(text):
        raise OpmlError("OPML with a DOCTYPE or entity declarations is not accepted")
    try:
        root = ET.fromstring(text.strip().removeprefix("\ufeff"))
    except ET.ParseError as error:
        raise OpmlError(f"not valid XML ({error})") from error
    if root.tag != "opml":
        raise OpmlError(f"the document is <{root.tag}>, not <opml>")
    feeds: list[OpmlFeed] = []
    seen: set[str] = set()
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url or url in seen:
            continue
        seen.add(url)
        name = (outline.get("title") or outline.get("text") or "").strip() or None
        feeds.append(OpmlFeed(url, None if name == url else name))
        if len(feeds) > MAX_OPML_FEEDS:
            raise OpmlError(f"more than {MAX_OPML_FEEDS} feeds in one import")
    return feeds
