"""Split a feed body into its frame and its item elements, cheaply and conservatively (pure).

The incremental parse (bot.poll.feed_parse) hands feedparser only the items it has not seen, framed
by the feed's own header and footer. That is only the same as parsing the whole body when every
`<item>`/`<entry>` found here is exactly one entry of the feed and nothing else in the body can
change how an entry reads. So `split_feed` answers None, meaning "parse it all", whenever it is not
sure:

- the body is not UTF-8, or declares another encoding (the decoding of one item would then depend
  on the bytes of the others: feedparser falls back to another charset for the whole document);
- a DOCTYPE (entities), a comment, or a processing instruction after the root element's start;
- a CDATA section holding anything that looks like an item tag;
- item tags with a namespace prefix (`<rss:item>`), self-closed, nested or unclosed items, both
  `<item>` and `<entry>` in one body, or anything but white space between two items;
- no items at all (nothing to save).

It never looks inside an item: its bytes are hashed whole by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_CDATA = re.compile(rb"<!\[CDATA\[.*?\]\]>", re.DOTALL)
_ITEM_TAG = re.compile(rb"</?(item|entry)(?=[\s>/])")
_ITEM_WORD = re.compile(rb"</?(?:[^\s<>/]*:)?(?:item|entry)\b")
_PREFIXED_ITEM = re.compile(rb"</?[^\s<>/!?]+:(?:item|entry)[\s>/]")
_SELF_CLOSED = re.compile(rb"<(?:item|entry)(?:\s[^<>]*)?/>")
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_XML_SPACE = b" \t\r\n"


@dataclass(frozen=True)
class FeedSplit:
    """The body is `head + items[0] + gap + items[1] + ... + tail`, the gaps white space only."""

    head: bytes
    items: tuple[bytes, ...]
    tail: bytes

    def join(self, items: list[bytes]) -> bytes:
        """The body with only `items` in it (the same head and tail)."""
        return self.head + b"\n".join(items) + self.tail


def split_feed(body: bytes) -> FeedSplit | None:
    """The frame and item elements of `body`, or None when the split might not be exact."""
    first = _FIRST_ELEMENT.search(body)
    if first is None or not _plain_utf8(body, prolog=body[: first.start()]):
        return None
    upper = body.upper()
    if b"<!--" in body or b"<!DOCTYPE" in upper or b"<!ENTITY" in upper or b"<?" in body[first.start() :]:
        return None
    sections = [section.group() for section in _CDATA.finditer(body)]
    if body.count(b"<![CDATA[") != len(sections) or any(_ITEM_WORD.search(text) for text in sections):
        return None  # an unterminated section, or item tags inside one
    if _PREFIXED_ITEM.search(body) or _SELF_CLOSED.search(body):
        return None
    tags = list(_ITEM_TAG.finditer(body))
    if not tags or len(tags) % 2 or len({tag.group(1) for tag in tags}) != 1:
        return None
    items = []
    end = -1
    for opening, closing in zip(tags[::2], tags[1::2], strict=True):
        if opening.group().startswith(b"</") or not closing.group().startswith(b"</"):
            return None  # nested or unbalanced
        if end >= 0 and not _is_space(body[end : opening.start()]):
            return None  # something other than white space between two items
        close = body.find(b">", closing.end())
        if close < 0 or not _is_space(body[closing.end() : close]):
            return None
        end = close + 1
        items.append(body[opening.start() : end])
    return FeedSplit(head=body[: tags[0].start()], items=tuple(items), tail=body[end:])


def _is_space(gap: bytes) -> bool:
    return not gap.translate(None, _XML_SPACE)


def _plain_utf8(body: bytes, prolog: bytes) -> bool:
    """UTF-8 without a byte-order mark, valid throughout, declaring no other encoding."""
    if body.startswith((b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe")):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if b"encoding" not in prolog:
        return True
    declared = _ENCODING.search(prolog)
    return declared is not None and declared.group(1).decode().lower() in _UTF8_NAMES
