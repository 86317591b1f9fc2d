"""Turn one feedparser entry into an Item (pure: no network, no database, no clock).

Feed text is untrusted and messy: HTML in titles, entity-encoded summaries, missing links or
guids, dates in the future or the distant past. This module makes plain text and sane values of
it; escaping for a platform happens later, in each renderer. Plain text keeps whatever the feed
wrote that is not HTML (`<!channel>`, `<@U123>`, `<https://x|y>` stay literal text for the
renderers to escape) and loses the invisible bidi controls that could make it display as
something else.
"""

from __future__ import annotations

import calendar
import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from bot.core.dedup import fold, item_id, story_key, strip_outlet_suffix
from bot.core.links import canonical_link, display_link
from bot.core.model import Item
from bot.core.render.text import truncate

MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 4000
_FUTURE_TOLERANCE = timedelta(days=1)  # beyond this a date is wrong (bad clock or timezone), not news
_EARLIEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=UTC)
_SPACES = re.compile(r"\s+")
# Embedding, override and isolate controls and the direction marks: invisible, they reorder how a
# headline displays (after U+202E, "annexe\u202egpj.exe" reads "annexeexe.jpg"). Right-to-left
# letters themselves are kept.
_BIDI_CONTROLS = dict.fromkeys(
    map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)
# `<!` not opening a comment, a marked section (CDATA, Word's `<![if ...]>`) or a doctype is no HTML,
# yet the parser swallows it as a "bogus comment": `zebra <!channel>` would lose its Slack markup and
# read as `zebra`. Escaped, it stays text.
_NOT_A_DECLARATION = re.compile(r"<!(?!--|\[|doctype)", re.IGNORECASE)
# Element names that are markup; any other `<name ...>` (`<https://x|y>`, `<t:170000:R>`) is text.
_HTML_TAGS = frozenset(
    """a abbr acronym address area article aside audio b base basefont bdi bdo big blink blockquote body
    br button canvas caption center cite code col colgroup data datalist dd del details dfn dialog dir div
    dl dt em embed fieldset figcaption figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head
    header hgroup hr html i iframe img input ins kbd label legend li link main map mark marquee math
    menu meta meter nav nobr noframes noscript object ol optgroup option output p param picture pre
    progress q rp rt ruby s samp script search section select slot small source span strike strong
    style sub summary sup svg table tbody td template textarea tfoot th thead time title tr track tt u
    ul var video wbr applet image keygen listing menuitem noembed plaintext rb rtc spacer xmp""".split()  # noqa: SIM905
)
# custom elements (`<amp-img>`) and XML-namespaced Word/Office tags (`<o:p>`, `<st1:place>`)
_OTHER_MARKUP = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9-]*|:[a-z][a-z0-9-]*)")


def _is_markup(tag: str) -> bool:
    return tag in _HTML_TAGS or _OTHER_MARKUP.fullmatch(tag) is not None


class _TextExtractor(HTMLParser):
    """Collects visible text; block-level tags become spaces; script, style and inline SVG are
    dropped; a `<...>` that is not HTML is kept as the literal text it was."""

    _SKIP = frozenset({"script", "style", "noscript", "template", "head", "title", "svg", "math"})
    _BLOCK = frozenset({"p", "br", "div", "li", "ul", "ol", "tr", "td", "h1", "h2", "h3", "h4", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not _is_markup(tag):
            self.handle_data(self.get_starttag_text() or "")
        elif tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not _is_markup(tag):
            self.handle_data(self.get_starttag_text() or "")
        elif tag in self._BLOCK:  # <br/>; a self-closed <script/> opens nothing to skip
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if not _is_markup(tag):
            self.handle_data(f"</{tag}>")
        elif tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def plain_text(markup: str) -> str:
    """Visible text of an HTML fragment, entities decoded, bidi controls removed, whitespace
    collapsed."""
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return _tidy(markup)
    extractor = _TextExtractor()
    extractor.feed(_NOT_A_DECLARATION.sub("&lt;!", markup))
    extractor.close()
    return _tidy(html.unescape("".join(extractor.parts)))  # double-encoded feeds (&amp;amp;) are common


def _tidy(text: str) -> str:
    return _SPACES.sub(" ", text.translate(_BIDI_CONTROLS).replace("\xa0", " ")).strip()


def entry_time(entry: Mapping[str, Any], now: datetime) -> datetime | None:
    """The entry's publication time in UTC, or None when missing or implausible."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if not parsed:
            continue
        try:
            moment = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
        except (OverflowError, ValueError, TypeError, OSError):
            continue
        if moment < _EARLIEST_PLAUSIBLE:
            continue
        if moment > now + _FUTURE_TOLERANCE:
            return now  # a future date is a feed bug; treat the item as published now
        return moment
    return None


def _entry_text(entry: Mapping[str, Any]) -> str:
    summary = entry.get("summary") or ""
    if not summary:
        for content in entry.get("content") or []:
            value = content.get("value") if isinstance(content, Mapping) else None
            if value:
                summary = value
                break
    return plain_text(str(summary))


def _entry_source(entry: Mapping[str, Any], feed_title: str) -> str:
    source = entry.get("source")
    if isinstance(source, Mapping) and source.get("title"):
        return plain_text(str(source["title"]))
    return feed_title


def _only_repeats_title(summary: str, title: str, source: str) -> bool:
    folded = fold(summary)
    return folded.startswith(fold(title)) and len(folded) <= len(fold(title)) + len(fold(source)) + 12


def _names_source(title: str, source: str) -> bool:
    return fold(title).endswith(" " + fold(source)) and fold(title) != fold(source)


def normalise_entry(
    entry: Mapping[str, Any], *, feed_url: str, feed_title: str, now: datetime
) -> Item | None:
    """An Item for `entry`, or None when the entry has neither a title nor a summary to show."""
    source = _entry_source(entry, feed_title)
    title = plain_text(str(entry.get("title") or ""))
    summary = truncate(_entry_text(entry), MAX_SUMMARY_CHARS)
    if not title:
        if not summary:
            return None
        title = truncate(summary, 120)
    if source:  # "Headline - Reuters" from an aggregator: show the outlet once, as the source
        title = strip_outlet_suffix(title, source) if _names_source(title, source) else title
    title = truncate(title, MAX_TITLE_CHARS)
    if _only_repeats_title(summary, title, source):
        summary = ""  # Google News descriptions are the headline and outlet again

    raw_link = entry.get("link") or ""
    link = display_link(str(raw_link)) if raw_link else None
    link_key = canonical_link(link)
    guid = str(entry.get("id") or entry.get("guid") or "").strip() or None
    published = entry_time(entry, now)
    return Item(
        id=item_id(guid, link_key, title, published.isoformat() if published else None),
        feed_url=feed_url,
        title=title,
        link=link,
        canonical_link=link_key,
        guid=guid,
        summary=summary,
        published=published,
        source=source,
        story_key=story_key(title, source),
    )
