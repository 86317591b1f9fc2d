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
from collections.abc import Iterator
from dataclasses import dataclass, field

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
    if word[0].isdigit() and "," in word:
        word = word.replace(",", "")  # 100,000 == 100000; a decimal point stays
    if len(_norm_cache) >= _NORM_CACHE_LIMIT:
        _norm_cache.clear()
    _norm_cache[raw] = word
    return word


def prepare(text: str) -> str:
    """NFC-compose non-ASCII text so a decomposed accent does not split a word."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def iter_words(text: str) -> Iterator[tuple[str, int, int]]:
    """(normalised word, start, end) for each word of already `prepare`d text."""
    for m in _WORD.finditer(text):
        yield normalise_word(m.group()), m.start(), m.end()


def words_of(text: str) -> list[str]:
    """Just the normalised words of `text` (used for rule words and phrases)."""
    return [w for w, _, _ in iter_words(prepare(text))]


@dataclass
class Doc:
    """One item's title and summary, tokenised once and shared by every rule.

    Positions index one list: the title's words, one `None` separator, then the summary's words.
    The separator keeps phrases from running across fields; NEAR checks fields explicitly.
    """

    title: str
    summary: str
    tokens: list[str | None]
    spans: list[tuple[int, int]]  # character offsets of each token in its own field
    boundary: int  # position of the separator: title < boundary < summary
    index: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, title: str, summary: str) -> Doc:
        title, summary = prepare(title), prepare(summary)
        tokens: list[str | None] = []
        spans: list[tuple[int, int]] = []
        for word, start, end in iter_words(title):
            tokens.append(word)
            spans.append((start, end))
        boundary = len(tokens)
        tokens.append(None)
        spans.append((0, 0))
        for word, start, end in iter_words(summary):
            tokens.append(word)
            spans.append((start, end))
        index: dict[str, list[int]] = {}
        for pos, token in enumerate(tokens):
            if token is not None:
                index.setdefault(token, []).append(pos)
        return cls(title, summary, tokens, spans, boundary, index)

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
        text = self.title if start < self.boundary else self.summary
        return text[self.spans[start][0] : self.spans[end][1]]
