"""Dedup keys (pure): the item id, the headline key that recognises the same story across fetches
and feeds, and the outlet suffix that aggregators append to headlines.

Three keys identify a story, checked in this order by the store: the guid (as the item id), the
canonical link, and the story key (normalised headline). Google News changes an item's guid and
link between fetches, so for its items the headline is what stays the same.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

MIN_STORY_KEY_WORDS = 4  # shorter headlines ("Markets wrap") repeat too often to identify a story
_SUFFIX_SEPARATORS = re.compile(r"\s+[-–—|:·•]\s+(?=[^-–—|:·•]+$)")
_NON_WORD = re.compile(r"[^\w]+")


def item_id(guid: str | None, link_key: str | None, title: str, published: str | None) -> str:
    """Stable id: from the guid, else the canonical link, else the headline and date."""
    if guid and guid.strip():
        basis = "guid:" + guid.strip()
    elif link_key:
        basis = "link:" + link_key
    else:
        basis = f"title:{fold(title)}|{published or ''}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


def fold(text: str) -> str:
    """Lower-case, accent-free, punctuation-free, single-spaced text."""
    if text.isascii():  # no accents to remove: skip the per-character pass (most feed text)
        return " ".join(_NON_WORD.sub(" ", text.casefold().replace("'", "")).split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    without_marks = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_NON_WORD.sub(" ", without_marks.replace("'", "").replace("’", "")).split())


def strip_outlet_suffix(title: str, source: str = "") -> str:
    """Remove a trailing " - Reuters" style outlet name.

    The suffix is removed when it names `source`, or when it is short (at most four words) and
    the headline before it is long enough to stand alone, which is how aggregators format it.
    """
    parts = _SUFFIX_SEPARATORS.split(title.strip(), maxsplit=1)
    if len(parts) != 2:
        return title.strip()
    headline, suffix = parts[0].strip(), parts[1].strip()
    if source and fold(suffix) == fold(source):
        return headline
    if len(suffix.split()) <= 4 and len(headline.split()) >= MIN_STORY_KEY_WORDS and not suffix.endswith("?"):
        return headline
    return title.strip()


def story_key(title: str, source: str = "") -> str | None:
    """The normalised headline (outlet suffix removed), or None when too short to identify a story."""
    folded = fold(strip_outlet_suffix(title, source))
    if len(folded.split()) < MIN_STORY_KEY_WORDS:
        return None
    return folded
