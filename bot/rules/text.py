"""Tokenising item text and rule words the same way, once per item.

A word is a run of letters (apostrophes inside it allowed: "Bezos's", "O'Brien") or a number
(with decimal points or thousands separators: "6.2", "100,000"). Everything else separates
words, so "co-CEO" is two words and "$100bn" is "100" then "bn". Each word is normalised by
casefolding, dropping accents, dropping a possessive "'s" and removing inner apostrophes, so
"Bézos's" and "BEZOS" are the same word. Rule words go through the same functions, which is
what makes matching consistent.

Only fixed regular expressions live here; no user text is ever compiled into one.
Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from typing import Any

# Letters (no digits, no underscore) joined by apostrophes, or digits joined by . or ,
_WORD = re.compile(r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)*|\d+(?:[.,]\d+)*")
_APOSTROPHES = "'’ʼ"
_POSSESSIVES = ("'s", "’s", "ʼs")

_norm_cache: dict[str, str] = {}
_NORM_CACHE_LIMIT = 200_000


def normalise_word(raw: str) -> str:
    """The comparable form of one word as `_WORD` finds it."""
    cached = _norm_cache.get(raw)
    if cached is not None:
        return cached
    word = raw.casefold()
    if not word.isascii():
        word = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    if word.endswith(_POSSESSIVES) and len(word) > 2:
        word = word[:-2]
    if any(a in word for a in _APOSTROPHES):
        word = "".join(c for c in word if c not in _APOSTROPHES)
    if word[:1].isdigit() and "," in word:
        word = word.replace(",", "")  # 100,000 == 100000; a decimal point stays
    if len(_norm_cache) >= _NORM_CACHE_LIMIT:
        _norm_cache.clear()
    _norm_cache[raw] = word
    return word


def prepare(text: str) -> str:
    """NFC-compose non-ASCII text so a decomposed accent does not split a word."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def _normalised(text: str) -> list[str]:
    """The normalised words of `prepare`d text; the hot path, so mostly C-level calls."""
    cached = _norm_cache.get
    return [cached(raw) or normalise_word(raw) for raw in _WORD.findall(text)]


def words_of(text: str) -> list[str]:
    """Just the normalised words of `text` (used for rule words and phrases)."""
    return _normalised(prepare(text))


class Doc:
    """One item's title and summary, tokenised once and shared by every rule.

    Positions index one list: the title's words, one `None` separator, then the summary's words.
    The separator keeps phrases from running across fields; NEAR checks fields explicitly.
    `vocab` answers "is this word anywhere" in one set look-up; the position index and the
    character spans (needed only for phrases, NEAR, fields and highlighting) are built on first use.
    """

    __slots__ = ("_index", "_sorted", "_spans", "boundary", "memo", "summary", "title", "tokens", "vocab")

    def __init__(self, title: str, summary: str) -> None:
        self.title, self.summary = prepare(title), prepare(summary)
        title_words = _normalised(self.title)
        self.boundary = len(title_words)
        self.tokens: list[str | None] = [*title_words, None, *_normalised(self.summary)]
        self.vocab: set[str | None] = set(self.tokens)
        self._index: dict[str, list[int]] | None = None
        self._spans: list[tuple[int, int]] | None = None
        self._sorted: list[str] | None = None
        self.memo: dict[int, Any] = {}  # per-node results (keyed by id) so shared work runs once

    def words_with_prefix(self, prefix: str) -> list[str]:
        """The distinct words starting with `prefix`, found by binary search in the sorted vocabulary."""
        if self._sorted is None:
            self._sorted = sorted(t for t in self.vocab if t is not None)
        words, i = self._sorted, bisect_left(self._sorted, prefix)
        found = []
        while i < len(words) and words[i].startswith(prefix):
            found.append(words[i])
            i += 1
        return found

    @classmethod
    def of(cls, title: str, summary: str) -> Doc:
        return cls(title, summary)

    @property
    def index(self) -> dict[str, list[int]]:
        """Word -> its positions, in order."""
        if self._index is None:
            index: dict[str, list[int]] = {}
            for pos, token in enumerate(self.tokens):
                if token is not None:
                    index.setdefault(token, []).append(pos)
            self._index = index
        return self._index

    def in_field(self, pos: int, field_name: str) -> bool:
        if field_name == "title":
            return pos < self.boundary
        if field_name == "summary":
            return pos > self.boundary
        return True

    def same_field(self, a: int, b: int) -> bool:
        return (a < self.boundary) == (b < self.boundary)

    def surface(self, start: int, end: int) -> str:
        """The original text from token `start` through token `end` (same field)."""
        if self._spans is None:
            title = [m.span() for m in _WORD.finditer(self.title)]
            self._spans = [*title, (0, 0), *(m.span() for m in _WORD.finditer(self.summary))]
        text = self.title if start < self.boundary else self.summary
        return text[self._spans[start][0] : self._spans[end][1]]
