"""Decide whether two reports are the same story (pure: no database, no clock, no network).

Different outlets word one event differently ("Bezos's Project Prometheus to buy aerospace parts
maker" / "Jeff Bezos AI venture agrees deal for aircraft component supplier"), while different
events about one company share most of their words. So:

1. `story_features` reduces headline + the summary's first sentence to weighted tokens: stop
   words and reporting filler dropped, light stemming, a few news synonyms folded together
   (buy/acquire/purchase, aircraft/aerospace, ...), amounts normalised ("$6.2bn" = "$6.2
   billion"), and extra weight on amounts and names, the parts that tell events apart.
2. `minhash` + `band_keys` (MinHash with LSH banding) find candidates in O(1): an item is
   compared only with stored stories that share a band.
3. `is_same_story` confirms a candidate with the exact weighted Jaccard similarity of the two
   feature sets, and refuses when both give amounts and none of them agree.

Tuned for precision: a false merge hides news; a missed one only costs an extra alert.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.dedup import strip_outlet_suffix

Features = Mapping[str, int]  # token -> weight (small positive integer)


@dataclass(frozen=True)
class StoryFeatures:
    """Weighted tokens of the headline alone, and of headline + summary lead together."""

    headline: Features
    combined: Features

    def to_json(self) -> str:
        return json.dumps({"h": dict(self.headline), "c": dict(self.combined)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StoryFeatures:
        data = json.loads(text)
        return cls(headline=data["h"], combined=data["c"])


NUM_PERM = 96  # MinHash signature length
ROWS_PER_BAND = 2  # 48 bands of 2: a pair at weighted Jaccard 0.3 becomes a candidate 99% of the time
BANDS = NUM_PERM // ROWS_PER_BAND
SAME_STORY_THRESHOLD = 0.30  # weighted Jaccard of headline + lead needed to merge
HEADLINE_THRESHOLD = 0.30  # ... and of the headlines alone (see README.md, "One alert per story"),
CLEAR_THRESHOLD = 0.50  # unless headline + lead alone are this similar
MIN_WEIGHT = 5  # fewer weighted tokens than this ("Markets wrap") is too little to group on
LEAD_WORDS = 40  # at most this much of the summary's first sentence counts

AMOUNT_WEIGHT = 3  # "$1.1 billion", "14,000", "10%": rarely shared by different events
NAME_WEIGHT = 2  # a word capitalised mid-sentence: a person, company, product or place
WORD_WEIGHT = 1

_SEED = 20251117  # fixed: signatures stored in the database must stay comparable across runs
_PRIME = (1 << 61) - 1
_rng = random.Random(_SEED)
_PERMS = tuple((_rng.randrange(1, _PRIME), _rng.randrange(0, _PRIME)) for _ in range(NUM_PERM))

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“'‘(]?[A-Z0-9])")
_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b|(?<=s)['’](?=\s|$)")
_AMOUNT = re.compile(
    r"(?<![\w.])[$€£]?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
    r"(?:\s*(%|percent\b|per cent\b|trillion\b|tn\b|billion\b|bn\b|b\b|million\b|mn\b|m\b|k\b))?(?!\w)",
    re.IGNORECASE,
)
_SCALE = {"trillion": 1e12, "tn": 1e12, "billion": 1e9, "bn": 1e9, "b": 1e9, "million": 1e6, "mn": 1e6}
_SCALE |= {"m": 1e6, "k": 1e3}
_WORD = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*")

# Function words, and the words news uses about itself ("reports", "people familiar said"),
# which two different stories share as easily as two copies of one.
_STOP = frozenset(
    """
    a about above after again against all also am an and any are as at be been before being below
    between both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just me more most my no
    nor not now of off on once only or other our out over own same she should so some such than
    that the their them then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yet per via amid among
    after new news latest update updates exclusive breaking report reports reported reporting say
    says said saying told tell tells according cite cites citing source sources people familiar
    matter knowledge person persons statement statements announce announces announced announcement
    week weeks day days monday tuesday wednesday thursday friday saturday sunday today yesterday
    year years month months time first last next plan plans planned planning set sets move moves
    make makes making made take takes get gets one two three four five six seven eight nine ten mr
    ms co inc corp ltd llc plc company companies firm firms startup startups start venture ventures
    business group deal deals agree agrees agreed ai artificial intelligence reuters bloomberg nyt
    ft wsj cnbc axios techcrunch wired semafor bbc verge guardian ap afp information insider
    fortune journal times street wall york financial
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

# News synonyms folded to one token each: outlets reach for different verbs and nouns.
_SYNONYMS = {  # canonical token: the words folded into it
    "acquire": "buy buys bought buying acquire acquires acquired acquiring acquisition acquisitions purchase purchases purchased purchasing takeover snap snaps",
    "hire": "hire hires hired hiring poach poaches poached recruit recruits join joins appoint appoints appointed taps tapped names",
    "cut": "cut cuts cutting layoff layoffs lay laying eliminate eliminates slash slashes",
    "job": "job jobs role roles position positions worker workers employee employees staff staffers",
    "aero": "aircraft aerospace aviation plane planes jet jets airplane airplanes",
    "part": "part parts component components",
    "maker": "maker makers manufacturer manufacturers supplier suppliers producer producers",
    "launch": "launch launches launched unveil unveils unveiled debut debuts introduces",
    "leave": "leave leaves leaving depart departs departing retire retires retiring exit exits",
    "land": "land lands landed landing",
    "outage": "outage outages offline",
    "revenue": "revenue revenues sales",
    "forecast": "forecast forecasts outlook guidance",
    "factory": "factory factories plant plants",
    "ceo": "ceo ceos",
}
_SYNONYM_OF = {word: canon for canon, words in _SYNONYMS.items() for word in words.split()}
_PHRASES = (
    (re.compile(r"\bchief executives?(?: officers?)?\b", re.IGNORECASE), "CEO"),
    (re.compile(r"\bstep(?:s|ping)? down\b", re.IGNORECASE), "leave"),
    (re.compile(r"\b(?:a\.i\.|a\.i)(?=\W|$)", re.IGNORECASE), "AI"),
    (re.compile(r"\bstart-ups?\b", re.IGNORECASE), "startup"),
)


def story_text(title: str, summary: str, source: str = "") -> tuple[str, str]:
    """The headline without an outlet suffix, and the summary's first sentence (capped)."""
    headline = strip_outlet_suffix(title, source)
    first = _SENTENCE_END.split(summary.strip(), maxsplit=1)[0] if summary.strip() else ""
    return headline, " ".join(first.split()[:LEAD_WORDS])


def story_features(title: str, summary: str = "", source: str = "") -> StoryFeatures:
    """Weighted tokens of the headline and of headline + lead sentence."""
    headline, lead = story_text(title, summary, source)
    head = _weighted_tokens(headline)
    combined = dict(head)
    for token, weight in _weighted_tokens(lead).items():
        combined[token] = max(combined.get(token, 0), weight)
    return StoryFeatures(headline=head, combined=combined)


def _weighted_tokens(text: str) -> dict[str, int]:
    """Each token once, weighted by the strongest role it plays (amount > name > word)."""
    features: dict[str, int] = {}
    if text:
        for phrase, replacement in _PHRASES:
            text = phrase.sub(replacement, text)
        text = _POSSESSIVE.sub("", text)
        text = _AMOUNT.sub(lambda m: _add_amount(features, m), text)
        title_case = _looks_title_case(text)
        for sentence in _SENTENCE_END.split(text):
            for index, raw in enumerate(_WORD.findall(sentence)):
                token = _word_token(raw)
                if token is None:
                    continue
                named = index > 0 and not title_case and raw[0].isupper()
                weight = NAME_WEIGHT if named or _is_acronym(raw) else WORD_WEIGHT
                features[token] = max(features.get(token, 0), weight)
    return features


def _add_amount(features: dict[str, int], match: re.Match[str]) -> str:
    number, unit = match.group(1), (match.group(2) or "").lower()
    value = float(number.replace(",", ""))
    if not unit and value.is_integer() and 1900 <= value <= 2100:
        return match.group(0)  # a year: an ordinary word ("in 2026"), not an identifying amount
    if unit in ("%", "percent", "per cent"):
        token = f"#{value:g}%"
    else:
        token = f"#{_two_figures(value * _SCALE.get(unit, 1.0))}"
    # A bare small number ("Gemini 3", "11th") tells less than "$1.1 billion" or "14,000".
    features[token] = NAME_WEIGHT if not unit and value < 100 else AMOUNT_WEIGHT
    return " "


def _two_figures(value: float) -> str:
    """Two significant figures, so "$57.01 billion" and "$57 billion" are one amount."""
    return f"{float(f'{value:.2g}'):.6g}" if value else "0"


def _looks_title_case(text: str) -> bool:
    """Headline Case Capitalises Every Word, which says nothing about names."""
    words = [w for w in _WORD.findall(text) if w.lower() not in _STOP and w[0].isalpha()]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) / len(words) > 0.6


def _is_acronym(raw: str) -> bool:
    return len(raw) >= 2 and raw.isupper() and raw.isalpha()


def _word_token(raw: str) -> str | None:
    word = _fold(raw)
    if not word or word in _STOP or (len(word) < 2 and not word.isdigit()):
        return None
    return _SYNONYM_OF.get(word) or _SYNONYM_OF.get(_stem(word)) or _stem(word)


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.replace("-", "").replace(".", "")


def _stem(word: str) -> str:
    """Crude suffix stripping: only consistency between two reports matters, not linguistics."""
    if len(word) > 5 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def similarity(a: Features, b: Features) -> float:
    """Weighted Jaccard: sum of min weights over sum of max weights."""
    keys = a.keys() | b.keys()
    if not keys:
        return 0.0
    low = sum(min(a.get(k, 0), b.get(k, 0)) for k in keys)
    high = sum(max(a.get(k, 0), b.get(k, 0)) for k in keys)
    return low / high


def amounts_conflict(a: StoryFeatures, b: StoryFeatures) -> bool:
    """The amounts say these are different events.

    Either both reports give amounts and share none ("$6.2bn" vs "$100bn"), or one headline leads
    with an amount the other report never mentions ("raises $8bn at $50bn" vs "in talks at $50bn").
    """
    amounts_a, amounts_b = _amounts(a.combined), _amounts(b.combined)
    if amounts_a and amounts_b and not (amounts_a & amounts_b):
        return True
    return bool(_amounts(a.headline) - amounts_b) or bool(_amounts(b.headline) - amounts_a)


def _amounts(features: Features) -> set[str]:
    return {token for token in features if token.startswith("#")}


def is_groupable(features: StoryFeatures) -> bool:
    return sum(features.combined.values()) >= MIN_WEIGHT


def is_same_story(a: StoryFeatures, b: StoryFeatures) -> bool:
    """The verification step: LSH candidates merge only when this holds.

    Both the whole text and the headlines alone must be similar: two events about one company
    often share a lead's background sentence ("the AI venture co-led by Jeff Bezos ..."), but
    rarely the headline's words as well.
    """
    if not (is_groupable(a) and is_groupable(b)) or amounts_conflict(a, b):
        return False
    overall = similarity(a.combined, b.combined)
    if overall >= CLEAR_THRESHOLD:
        return True
    return overall >= SAME_STORY_THRESHOLD and similarity(a.headline, b.headline) >= HEADLINE_THRESHOLD


def minhash(features: Features) -> tuple[int, ...]:
    """MinHash signature of the weighted set (a token of weight w counts as w distinct elements)."""
    elements = [_hash64(f"{token}#{copy}") for token, weight in features.items() for copy in range(weight)]
    if not elements:
        return ()
    return tuple(min((a * x + b) % _PRIME for x in elements) for a, b in _PERMS)


def band_keys(signature: Sequence[int]) -> list[str]:
    """One key per LSH band: two signatures agreeing on every row of some band are candidates."""
    keys: list[str] = []
    for band in range(len(signature) // ROWS_PER_BAND):
        rows = signature[band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND]
        digest = hashlib.blake2b(repr(tuple(rows)).encode(), digest_size=8).hexdigest()
        keys.append(f"{band:02d}{digest}")
    return keys


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


Sketch = tuple["StoryFeatures", tuple[str, ...]]  # an item's features and LSH band keys


def story_sketch(title: str, summary: str = "", source: str = "") -> Sketch:
    """What the story index needs of one item: its features and its band keys (pure; computed in
    the parser workers so the event loop does not spend its time on MinHash)."""
    features = story_features(title, summary, source)
    return features, tuple(band_keys(minhash(features.combined)))
