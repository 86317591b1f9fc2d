"""Tokenising item text and rule words the same way, once per item.

A word is a run of letters (apostrophes inside it allowed: "Bezos's", "O'Brien"; combining marks
inside it too, so Hindi "बेजोस" with its vowel signs is one word) or a number (with decimal points
or thousands separators: "6.2", "100,000"). Han, Hiragana, Katakana and Hangul characters are one
word each: Chinese and Japanese do not separate words with spaces and Korean glues particles onto
them ("베이조스의"), so a name written in those scripts is matched as the phrase of its characters
wherever it stands in the text. Everything else separates words, so "co-CEO" is two words and
"$100bn" is "100" then "bn". Full-width forms are folded first ("１０００億" is "1000" then "億").

Each word is normalised by casefolding, dropping Latin/Greek/Cyrillic-style accents (never the
vowel signs of Indic scripts, which are letters there), dropping a possessive "'s" and removing
inner apostrophes, so "Bézos's" and "BEZOS" are the same word. Rule words go through the same
functions, which is what makes matching consistent.

Only fixed regular expressions live here; no user text is ever compiled into one.
Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable
from itertools import chain
from typing import Any

# Characters that are a word each: Han (with 々 〆 〇), Hiragana, Katakana (with the long-vowel
# mark ー, but not the middle dot ・, which separates like punctuation) and Hangul. Every one of
# them is a \w character, so the letter class below has to exclude them explicitly.
_CJK = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u3005-\u3007\u3021-\u3029\u3031-\u3035\u303b\u303c"  # 々 〆 〇, Hangzhou numerals, kana repeat marks
    "\u3041-\u3096\u309d-\u309f"  # Hiragana
    "\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff"  # Katakana, ー, phonetic extensions (not ・ U+30FB)
    "\u3131-\u318e"  # Hangul compatibility jamo
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs, extension A, compatibility ideographs
    "\ua960-\ua97f\uac00-\ud7a3\ud7b0-\ud7ff"  # Hangul jamo extensions and syllables
    "\U0001b000-\U0001b16f"  # kana supplement (hentaigana)
    "\U00020000-\U0002fa1f\U00030000-\U000323af"  # CJK ideograph extensions B-H, compatibility supplement
)


def _combining_marks() -> str:
    """Every combining mark (Mn, Mc, Me) as a regex class body, read from the Unicode database.

    Python's `re` has no \\p{M}, and matras, viramas and the like are not \\w, so this is how a
    word keeps its vowel signs. Only blocks that hold marks are scanned (about 10 ms at import).
    """
    blocks = chain(
        range(0x300, 0x3400), range(0xA000, 0xAC00), range(0xF900, 0x20000), range(0xE0100, 0xE01F0)
    )
    ranges: list[list[int]] = []
    for cp in blocks:
        if unicodedata.category(chr(cp))[0] == "M":
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1][1] = cp
            else:
                ranges.append([cp, cp])
    return "".join(f"{chr(a)}-{chr(b)}" if a < b else chr(a) for a, b in ranges)


# Soft hyphen, zero-width non-joiner and joiner sit inside words (HTML &shy;, Persian, Indic
# conjuncts) without being part of how the word is spelt: kept in the word, dropped when normalised.
_JOINERS = "\u00ad\u200c\u200d"
# A letter (\w without digits, underscore or the one-character scripts), then letters and marks.
_LETTER = rf"[^\W\d_{_CJK}]"
_RUN = rf"{_LETTER}+(?:[{_combining_marks()}{_JOINERS}]{_LETTER}*)*"
_WORD = re.compile(rf"{_RUN}(?:['’ʼ]{_RUN})*|\d+(?:[.,]\d+)*|[{_CJK}]")
# The same tokens for pure-ASCII text (most items), with cheaper character classes.
_ASCII_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*|[0-9]+(?:[.,][0-9]+)*")
# The same again for lower-cased ASCII text: one range per class is the cheapest scan there is.
_LOWER_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*|[0-9]+(?:[.,][0-9]+)*")
_CJK_CHAR = re.compile(f"[{_CJK}]")
_APOSTROPHES = "'’ʼ"
_POSSESSIVES = ("'s", "’s", "ʼs")

# Accents dropped after NFKD: the generic combining-diacritics blocks (Latin, Greek, Cyrillic),
# Hebrew points and Arabic harakat (optional vowel marks), and the joiners. Never the marks of
# Indic, Thai or other scripts, where they are vowels a word cannot lose.
_ACCENTS = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
    "\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7\u064b-\u065f\u0670" + _JOINERS + "]"
)

# Full-width and half-width forms (U+FF00-U+FFEF) folded to their NFKC character: "１０００" is
# "1000", "ＡＩ" is "AI", "ｶﾀｶﾅ" is "カタカナ". Only one-to-one foldings, so character offsets in
# the folded text are those of the original and highlighted terms can be cut from the original.
_WIDE = re.compile("[\uff00-\uffef]")
_WIDE_FOLD = {
    cp: folded
    for cp in range(0xFF00, 0xFFF0)
    if len(folded := unicodedata.normalize("NFKC", chr(cp))) == 1 and folded != chr(cp)
}

_norm_cache: dict[str, str] = {}
_NORM_CACHE_LIMIT = 200_000


def normalise_word(raw: str) -> str:
    """The comparable form of one word as `_WORD` finds it."""
    cached = _norm_cache.get(raw)
    if cached is not None:
        return cached
    word = raw.casefold()
    if not word.isascii():
        word = _fold_accents(word)
    if word.endswith(_POSSESSIVES) and len(word) > 2:
        word = word[:-2]
    if any(a in word for a in _APOSTROPHES):
        word = "".join(c for c in word if c not in _APOSTROPHES)
    if word[:1].isdigit():
        word = _plain_number(word)
    if len(_norm_cache) >= _NORM_CACHE_LIMIT:
        _norm_cache.clear()
    _norm_cache[raw] = word
    return word


def _fold_accents(word: str) -> str:
    """Drop accents ("é" -> "e") but keep other scripts' marks; NFC so Hangul and kana recompose."""
    return unicodedata.normalize("NFC", _ACCENTS.sub("", unicodedata.normalize("NFKD", word)))


def _plain_number(word: str) -> str:
    """100,000 == 100000 (a decimal point stays); other scripts' digits as ASCII ("१००" == "100")."""
    word = word.replace(",", "")
    if word.isascii():
        return word
    return "".join(str(d) if (d := unicodedata.decimal(c, None)) is not None else c for c in word)


def _fold_wide(text: str) -> str:
    return text.translate(_WIDE_FOLD) if _WIDE.search(text) else text


def prepare(text: str) -> str:
    """Fold full-width forms and NFC-compose non-ASCII text, so a decomposed accent does not split a word."""
    return text if text.isascii() else unicodedata.normalize("NFC", _fold_wide(text))


def _keeps_offsets(text: str) -> bool:
    """Whether `prepare(text)` has the same character offsets as `text` (NFC had nothing to do)."""
    return text.isascii() or unicodedata.is_normalized("NFC", _fold_wide(text))


def _tokens(text: str) -> re.Pattern[str]:
    return _ASCII_WORD if text.isascii() else _WORD


def _normalised(text: str) -> list[str]:
    """The normalised words of `prepare`d text; the hot path, so mostly C-level calls."""
    cached = _norm_cache.get
    if not text.isascii():
        return [cached(raw) or normalise_word(raw) for raw in _WORD.findall(text)]
    # ASCII (most items): lower-cased first, which is all casefolding does to ASCII and gives the
    # same words at the same places. Without an apostrophe or a comma each word is then already
    # in its normal form (no possessive, no inner apostrophe, no thousands separator).
    words = _LOWER_WORD.findall(text.lower())
    if "'" not in text and "," not in text:
        return words
    return [cached(raw) or normalise_word(raw) for raw in words]


def _word_spans(text: str) -> list[tuple[int, int]]:
    """The character span of each word `_normalised` finds in `prepare`d text, in order."""
    if text.isascii():  # lower-casing ASCII keeps every offset
        return [m.span() for m in _LOWER_WORD.finditer(text.lower())]
    return [m.span() for m in _WORD.finditer(text)]


def words_of(text: str) -> list[str]:
    """Just the normalised words of `text` (used for rule words and phrases)."""
    return _normalised(prepare(text))


# Word edges for finding a reported term again in raw text (bolding, in bot.core.render): no word
# character on that side, except a Han/kana/Hangul one, which is a word of its own ("が１０００億").
EDGE_BEFORE = rf"(?<![^\W{_CJK}])"
EDGE_AFTER = rf"(?![^\W{_CJK}])"


def is_cjk_char(text: str) -> bool:
    """Whether `text` is one Han/kana/Hangul character: a word of its own, with no word boundaries."""
    return len(text) == 1 and _CJK_CHAR.match(text) is not None


# --- the lead: the title and the summary's first sentence ---------------------------------------

HEAD = 4  # a wildcard is pre-checked against the first HEAD letters of the item's words
# The lead's cap: a story that names the venture only after its twentieth summary word mentions it
# in passing ("...; the cuts come as Bezos devotes more attention to Project Prometheus"). Chosen on
# the development sets (dev 4: precision 0.84 -> 0.91 at 20 words, no relevant item lost on any set).
LEAD_WORDS = 20
_CJK_PER_WORD = 3  # one-character words: about three make a word of a spaced language
_CLOSERS = "\"'’”»)\\]」』）】"
# A sentence ends at . ! ? … (or Arabic-script ؟ ۔) followed by a space, the end or CJK text
# (Chinese and Japanese put no space after "!" and "?", which arrive here folded from "！" "？"),
# or at 。 and the Devanagari danda, which need nothing after them. Closing quotes and brackets
# stay with the sentence they close. A match starts only where a run of stops starts, and runs are
# taken whole (possessive), so a feed of 100,000 dots is one linear scan, not a quadratic one.
_STOPS = ".!?…؟۔"
_SENTENCE_END = re.compile(
    rf"(?<![{_STOPS}])[{_STOPS}]++[{_CLOSERS}]*+(?=\s|$|[{_CJK}])|[。।॥][{_CLOSERS}]*+"
)
_ANY_STOP = re.compile(f"[{_STOPS}。।॥]")
_LAST_LETTERS = re.compile(r"[^\W\d_]+\Z")
_NEXT_CHAR = re.compile(r"\s*(\S?)")
# Words whose period is not a sentence end ("Mr. Bezos", "Amazon.com Inc. founder"). When one ends
# a sentence the lead runs on into the next, which errs towards matching; the cap still bounds it.
_ABBREVIATED = (
    "mr mrs ms dr prof sr jr st mt ft gen gov sen rep rev lt col capt sgt inc corp co ltd plc llc bros vs "
    "no nos vol approx dept jan feb mar apr jun jul aug sep sept oct nov dec"
)
_ABBREVIATIONS = frozenset(_ABBREVIATED.split())


def lead_words(text: str, spans: list[tuple[int, int]]) -> int:
    """How many of the words of `text` (their `spans`) belong to its first sentence, capped."""
    capped = _capped(text, spans)
    limit = spans[capped][0] if capped < len(spans) else len(text)
    cut = first_sentence_end(text, limit)
    if cut is None:
        return capped
    return bisect_left(spans, cut, key=lambda span: span[0])


def _capped(text: str, spans: list[tuple[int, int]]) -> int:
    """How many words fit in LEAD_WORDS, a Han/kana/Hangul character counting a third of a word."""
    budget = LEAD_WORDS * _CJK_PER_WORD
    for i, (start, _) in enumerate(spans):
        budget -= 1 if _CJK_CHAR.match(text, start) else _CJK_PER_WORD
        if budget < 0:
            return i
    return len(spans)


def first_sentence_end(text: str, limit: int, start: int = 0) -> int | None:
    """The offset just past the first sentence's end in `text[:limit]`, or None if there is none.

    `start` may skip text known to hold no stop (no sentence end can begin before the first stop).
    """
    for end in _SENTENCE_END.finditer(text, start, limit):
        stop = end.group()
        if stop[0] in "。।॥":
            return end.end()
        if _next_char(text, end.end()).islower():
            continue  # "e.g. the", "approx. five", "“Why?” she asked": the sentence goes on
        if stop.rstrip(_CLOSERS) == "." and _is_abbreviation(text, end.start()):
            continue
        return end.end()
    return None


def _next_char(text: str, at: int) -> str:
    """The first non-space character at or after `at` ("" at the end)."""
    found = _NEXT_CHAR.match(text, at)
    return found.group(1) if found else ""


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the period at `dot` closes an initial ("U.S.", "J. Bezos") or a known abbreviation.

    Numbers need no rule: "6.2" has no space after its point, so it never looks like an end.
    """
    # The letters just before the dot; a window of 16 cannot cut a short word, only a long one.
    before = _LAST_LETTERS.search(text, max(0, dot - 16), dot)
    if before is None:
        return False
    word = before.group()
    return len(word) == 1 or word.casefold() in _ABBREVIATIONS


class Doc:
    """One item's title and summary, tokenised once and shared by every rule.

    Positions index one list: the title's words, one `None` separator, then the summary's words.
    The separator keeps phrases from running across fields; NEAR checks fields explicitly.
    `vocab` answers "is this word anywhere" in one set look-up; the position index, the character
    spans and the lead (needed only for phrases, NEAR, fields and highlighting) are built on first use.
    """

    __slots__ = (
        "_heads",
        "_index",
        "_lead_end",
        "_prefixed",
        "_raw",
        "_shown",
        "_sorted",
        "_spans",
        "boundary",
        "memo",
        "summary",
        "title",
        "tokens",
        "vocab",
    )

    def __init__(self, title: str, summary: str) -> None:
        self._raw = (title, summary)
        self.title, self.summary = prepare(title), prepare(summary)
        title_words = _normalised(self.title)
        self.boundary = len(title_words)
        self.tokens: list[str | None] = [*title_words, None, *_normalised(self.summary)]
        self.vocab: set[str | None] = set(self.tokens)
        self._index: dict[str, list[int]] | None = None
        self._spans: list[tuple[int, int]] | None = None
        self._sorted: list[str] | None = None
        self._prefixed: dict[str, list[str]] = {}
        self._heads: set[str] | None = None
        self._lead_end: int | None = None
        self._shown: tuple[str, str] | None = None
        # Per-node results under the node's key (its words, fields and operators), so work that
        # several nodes or rules share runs once.
        self.memo: dict[str, Any] = {}

    def words_with_prefix(self, prefix: str) -> list[str]:
        """The distinct words starting with `prefix`, found by binary search in the sorted vocabulary."""
        found = self._prefixed.get(prefix)
        if found is not None:
            return found  # rules share wildcards ("manufactur*"): each is looked up once per item
        if self._sorted is None:
            self._sorted = sorted(t for t in self.vocab if t is not None)
        words, i = self._sorted, bisect_left(self._sorted, prefix)
        found = self._prefixed[prefix] = []
        while i < len(words) and words[i].startswith(prefix):
            found.append(words[i])
            i += 1
        return found

    @property
    def heads(self) -> set[str]:
        """The first HEAD letters of each distinct word (the whole word if shorter), for wildcards."""
        if self._heads is None:
            self._heads = {t[:HEAD] for t in self.vocab if t is not None}
        return self._heads

    @classmethod
    def of(cls, title: str, summary: str) -> Doc:
        return cls(title, summary)

    @property
    def index(self) -> dict[str, list[int]]:
        """Word -> its positions, in order."""
        if self._index is None:
            index: dict[str, list[int]] = {}
            get = index.get  # not setdefault, which builds a list for every word
            for pos, token in enumerate(self.tokens):
                if token is None:
                    continue
                found = get(token)
                if found is None:
                    index[token] = [pos]
                else:
                    found.append(pos)
            self._index = index
        return self._index

    @property
    def spans(self) -> list[tuple[int, int]]:
        """Each position's character span in its field's (prepared) text; (0, 0) for the separator."""
        if self._spans is None:
            self._spans = [*_word_spans(self.title), (0, 0), *_word_spans(self.summary)]
        return self._spans

    @property
    def lead_end(self) -> int:
        """One past the last position of the lead: the whole title, then the summary's first sentence."""
        if self._lead_end is None:
            self._lead_end = self.boundary + 1 + self._lead_words()
        return self._lead_end

    def _lead_words(self) -> int:
        """How many summary words are in the lead (see `lead_words`).

        A summary of at most LEAD_WORDS words and no Han/kana/Hangul (most items) is under the cap
        as a whole, so the words before its first sentence end are counted without working out
        every word's span.
        """
        summary, count = self.summary, len(self.tokens) - self.boundary - 1
        if count > LEAD_WORDS or _CJK_CHAR.search(summary):
            return lead_words(summary, self.spans[self.boundary + 1 :])
        stop = _ANY_STOP.search(summary)
        if stop is None or not summary[stop.end() :].strip(_CLOSERS + _STOPS + " \t\r\n"):
            return count  # no stop before the end: one sentence (the usual summary)
        cut = first_sentence_end(summary, len(summary), stop.start())
        if cut is None or _tokens(summary).search(summary, cut) is None:
            return count
        return len(_tokens(summary).findall(summary, 0, cut))

    def in_field(self, pos: int, field_name: str) -> bool:
        if field_name == "title":
            return pos < self.boundary
        if field_name == "summary":
            return pos > self.boundary
        if field_name == "lead":  # the title is all lead: its words need no sentence search
            return pos < self.boundary or (pos != self.boundary and pos < self.lead_end)
        return True

    def field_range(self, field_name: str) -> tuple[int, int]:
        """The positions `low <= pos < high` of a field's words (the separator holds no word)."""
        if field_name == "title":
            return 0, self.boundary
        if field_name == "summary":
            return self.boundary + 1, len(self.tokens)
        if field_name == "lead":
            return 0, self.lead_end
        return 0, len(self.tokens)

    def same_field(self, a: int, b: int) -> bool:
        """Whether two positions are in the same field: title or summary (the lead is not a third)."""
        return (a < self.boundary) == (b < self.boundary)

    def surface(self, start: int, end: int) -> str:
        """The text from token `start` through token `end` (same field), as the item wrote it.

        Cut from the original text when preparing it kept every offset (full-width "１０００億" is
        reported as written, not folded); from the prepared text when NFC had to recompose it.
        """
        return self.surfaces(((start, end),))[0]

    def surfaces(self, spans: Iterable[tuple[int, int]]) -> tuple[str, ...]:
        """The distinct `surface`s of token spans, in the order given."""
        if self._shown is None:
            raw_title, raw_summary = self._raw
            self._shown = (
                raw_title if _keeps_offsets(raw_title) else self.title,
                raw_summary if _keeps_offsets(raw_summary) else self.summary,
            )
        title, summary = self._shown
        chars, boundary = self.spans, self.boundary
        return tuple(
            dict.fromkeys(
                (title if start < boundary else summary)[chars[start][0] : chars[end][1]]
                for start, end in spans
            )
        )
