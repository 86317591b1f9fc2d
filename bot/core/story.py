"""Decide whether two reports are the same *event* (pure: no database, no clock, no network).

Every report about the company shares its name, its founders' names and the outlets' standard
descriptors ("Project Prometheus, the AI startup co-led by Jeff Bezos and Vik Bajaj, ..."), so those
words are no evidence that two reports tell the same news. What tells events apart is the action and
its object: who was bought or hired, the amount, the place, the product, and the stage (in talks /
agreed / closed; suit filed / dismissed). So:

1. `story_features` reduces the headline and the summary's first sentence to weighted *event*
   tokens: appositives and brackets (", co-led by Vik Bajaj,") removed, stop words, reporting filler
   and the story's boilerplate (`BOILERPLATE`: the company, its founders, its standard descriptors
   and amounts) dropped, light stemming, news synonyms folded (buy/acquire/purchase, ...), amounts
   normalised ("$6.2bn" = "$6.2 billion"), names and amounts weighted up. It also notes the
   report's action classes (acquire, hire, raise, site, partner, legal, ...) and stage (talks,
   agreed, done; filed, resolved; approved).
2. `index_keys` are the tokens a store indexes so a new report is compared only with recent stories
   that share an event token.
3. `judge` verifies a candidate: the actions and stages must agree, the amounts must not conflict,
   each headline's own names must not be missing from the other report, and the shared event weight
   must be large enough and a large enough share of both. `common` lets the caller add words that
   are frequent across the stored items (the store keeps their document frequency): they are treated
   as boilerplate too.

Tuned for precision: a false merge hides an event; a missed one only costs an extra alert.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
import struct
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace

from bot.core.dedup import strip_outlet_suffix
from bot.core.story_lexicon import (
    ACTIONS,
    BOILERPLATE,
    BOILERPLATE_AMOUNTS,
    BOILERPLATE_PREFIXES,
    CONCEPTS,
    STAGE_ORDER,
    STAGES,
    SUBJECT_FORMS,
)

Features = Mapping[str, int]  # token -> weight (small positive integer)

FEATURES_VERSION = 3  # 3: may carry a sentence embedding; 2: the same event parts without one
COMPARABLE_VERSIONS = (2, 3)  # stored features of version 1 lack the event parts and are not compared


@dataclass(frozen=True)
class StoryFeatures:
    """A report's event tokens (headline alone, and headline + lead), its names, actions and stage."""

    headline: Features
    combined: Features
    names: tuple[str, ...] = ()  # distinctive names in an English headline that is not in Title Case
    actions: tuple[str, ...] = ()  # action classes of the headline
    stages: tuple[str, ...] = ()  # the furthest stage the headline (else the lead) reports, if any
    about_subject: bool = False  # names the story's subject (the company, its founders) at all
    version: int = FEATURES_VERSION
    # The sentence embedding of the story text (float16, norm 1), and the model that made it: two
    # embeddings are compared only when one model made both. Empty: lexical evidence only.
    embedding: bytes = b""
    embedding_model: str = ""

    def to_json(self) -> str:
        data: dict[str, object] = {"h": dict(self.headline), "c": dict(self.combined), "n": list(self.names)}
        data |= {"a": list(self.actions), "s": list(self.stages), "v": self.version, "ab": self.about_subject}
        if self.embedding:
            data |= {"e": base64.b64encode(self.embedding).decode("ascii"), "em": self.embedding_model}
        return json.dumps(data, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> StoryFeatures:
        data = json.loads(text)
        return cls(
            headline=data["h"], combined=data["c"], names=tuple(data.get("n", ())),
            actions=tuple(data.get("a", ())), stages=tuple(data.get("s", ())), version=data.get("v", 1),
            about_subject=bool(data.get("ab", False)), embedding=base64.b64decode(data.get("e", "")),
            embedding_model=data.get("em", ""),
        )  # fmt: skip


LEAD_WORDS = 40  # at most this much of the summary's first sentence counts
MIN_WEIGHT = 4  # a report with less event weight than this ("Markets wrap") is never grouped
MIN_SHARED = 4  # shared event weight needed to merge: a name and a word, or an amount and a word
SAME_EVENT_THRESHOLD = 0.34  # weighted Jaccard of the event tokens of headline + lead
HEADLINE_THRESHOLD = 0.2  # ... and of the headlines alone, unless the whole is clearly alike
CLEAR_THRESHOLD = 0.55
MIN_ANCHORS = 6  # shared names and amounts (weight) that, with enough overlap, say "the same object"
ANCHORED_OVERLAP = 0.4  # share of the shorter report's event weight found in the other
ACTION_OVERLAP = 0.4  # ... when one shared name and the same kind of action are the evidence
SAME_HEADLINE = 0.8  # headlines this alike (after vetoes) are one report re-run or lightly edited
EMBED_THRESHOLD = 0.75  # cosine of the story texts' sentence embeddings that, past every veto, is evidence

AMOUNT_WEIGHT = 3  # "$1.1 billion", "14,000", "10%": rarely shared by different events
NAME_WEIGHT = 2  # a word capitalised mid-sentence: a person, company, product or place
WORD_WEIGHT = 1

_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+(?=[\"“'‘(]?[A-Z0-9])|(?<=[。！？])")
_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b|(?<=s)['’](?=\s|$)")
_AMOUNT = re.compile(
    r"(?<![A-Za-z0-9.,])[$€£¥₹]?\s?(\d{1,3}(?:,\d{3})+(?![\d,])|\d{1,3}(?:\.\d{3})+(?![\d.,])|\d+(?:[.,]\d+)?)"
    r"(?:\s*(%|percent\b|per cent\b|trillion\b|tn\b|billion\b|bn\b|bln\b|b\b|million\b|mn\b|mln\b|m\b|k\b"
    r"|milliarden\b|mrd\b|milliards?\b|mil millones\b|bilh[õo]es\b|bi\b|millionen\b|mio\b|millions\b"
    r"|millones\b|milh[õo]es\b|億|亿|억|万|만|兆|조|अरब|करोड़|लाख))?(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_CURRENCY = "$€£¥₹"
# A percentage right after a share-price move ("shares jump 20%", "stock fell as much as 9%") is the
# market's reaction to an event, which outlets report at different moments: not the event's amount.
_MARKET_MOVE = re.compile(
    r"\b(?:jump|surge|soar|rise|rose|climb|gain|fall|fell|drop|slump|plunge|tumble|sink|sank|slide|slid"
    r"|rall(?:y|ie)|spike|skyrocket|sli[dp])(?:s|ed|d|ing)?\s+(?:(?:as much as|nearly|almost|about|around"
    r"|more than|over|by|up to)\s+)?[$€£¥₹]?\s?$",
    re.IGNORECASE,
)
_SCALE = {"trillion": 1e12, "tn": 1e12, "billion": 1e9, "bn": 1e9, "b": 1e9, "million": 1e6, "mn": 1e6}
_SCALE |= {
    "bln": 1e9,
    "mln": 1e6,
    "m": 1e6,
    "k": 1e3,
    "milliarden": 1e9,
    "mrd": 1e9,
    "milliard": 1e9,
    "milliards": 1e9,
}
_SCALE |= {"mil millones": 1e9, "bilhões": 1e9, "bilhoes": 1e9, "bi": 1e9, "millionen": 1e6, "mio": 1e6}
_SCALE |= {"millions": 1e6, "millones": 1e6, "milhões": 1e6, "milhoes": 1e6, "億": 1e8, "亿": 1e8, "억": 1e8}
_SCALE |= {"万": 1e4, "만": 1e4, "兆": 1e12, "조": 1e12, "अरब": 1e9, "करोड़": 1e7, "लाख": 1e5}
_WORD = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*")

# Descriptors outlets wrap around a name: ", the AI startup co-led by Jeff Bezos," / "(backed by ...)" /
# "— which raised $6.2bn —". They describe the company, not the event, so they are cut before tokens.
_APPOSITIVE_START = (
    r"(?:the|a|an|which|who|whose|co-?led|co-?run|co-?founded|co-?headed|founded|backed|led|run|"
    r"launched|started|helmed|headed|chaired|owned|created|set up|now)\b"
)
_APPOSITIVES = (
    re.compile(r"\s*\([^()]{0,200}\)"),
    re.compile(r"\s+[—–]\s+[^—–]{0,200}?\s+[—–](?=\s)"),
    re.compile(rf",\s+{_APPOSITIVE_START}[^,;:!?]{{0,160}}?,(?=\s)", re.IGNORECASE),
)

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
    business group deal deals ai artificial intelligence reuters bloomberg nyt
    ft wsj cnbc axios techcrunch wired semafor bbc verge guardian ap afp information insider
    fortune journal times street wall york financial former ex its may might
    dollar dollars euro euros yen won rupee rupees pound pounds usd eur
    der die das den dem des ein eine einen und mit von für im zu auf bei nach über aus als wie sich ist
    le la les du de et pour avec un une dans sur par au aux qui que est son sa ses
    el los las del y con por para al que es su sus en un una o os as do da dos das e com em um uma
    no na nos nas ao aos pelo pela
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
_ENGLISH_STOP = frozenset("the of to and in for on with as by at from its is are was has have will".split())  # noqa: SIM905
_FOREIGN_STOP = frozenset(
    """der die das den dem des ein eine einen und mit von für im zu auf bei nach über aus als wie sich ist
    le la les du et pour avec une dans sur par au aux qui est son sa ses el los las del y con por para al
    su sus una os dos das com em um uma na nos nas ao aos pelo pela""".split()  # noqa: SIM905
)

_PHRASES = (
    (re.compile(r"\bchief executives?(?: officers?)?\b", re.IGNORECASE), "CEO"),
    (re.compile(r"\bstep(?:s|ping)? down\b", re.IGNORECASE), "leave"),
    (re.compile(r"\b(?:a\.i\.|a\.i)(?=\W|$)", re.IGNORECASE), "AI"),
    (re.compile(r"\bstart-ups?\b", re.IGNORECASE), "startup"),
    (re.compile(r"\bteams? up\b", re.IGNORECASE), "partner"),
    (
        re.compile(
            r"\bin (?:advanced |early |exclusive )?(?:talks|discussions|negotiations)\b", re.IGNORECASE
        ),
        "talks",
    ),
)

# Wire and update markers before a headline: "UPDATE 2-", "CORRECTED-", "REFILE-", "EXCLUSIVE:".
_WIRE_PREFIX = re.compile(
    r"^\s*(?:(?:UPDATE\s*\d*|CORRECTED|CORRECTION|REFILE|EXCLUSIVE|BREAKING|RPT|WRAPUP\s*\d*)\s*[-:—–]\s*)+",
    re.IGNORECASE,
)
# Scripts written without spaces between words (or with particles attached): their words are found
# inside the text, by the lexicon's forms, not by splitting it.
_RUN_SCRIPTS = re.compile(
    r"[\u0900-\u097f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]+"
)


def story_text(title: str, summary: str, source: str = "") -> tuple[str, str]:
    """The headline without wire prefixes or an outlet suffix, and the summary's first sentence (capped)."""
    headline = _WIRE_PREFIX.sub("", strip_outlet_suffix(title, source))
    first = _SENTENCE_END.split(summary.strip(), maxsplit=1)[0] if summary.strip() else ""
    return headline, " ".join(first.split()[:LEAD_WORDS])


def story_features(title: str, summary: str = "", source: str = "") -> StoryFeatures:
    """Event tokens of the headline and of headline + lead, with names, actions and stages."""
    headline, lead = story_text(title, summary, source)
    head, head_names, head_marks = _event_tokens(headline)
    body, _, body_marks = _event_tokens(lead)
    combined = dict(head)
    for token, weight in body.items():
        combined[token] = max(combined.get(token, 0), weight)
    names = head_names  # the headline's own names: what a different event's headline would not share
    actions = _classes(head_marks, _ACTION_OF)
    stages = _furthest_stage(head_marks) or _furthest_stage(body_marks)
    about = _SUBJECT in head_marks or _SUBJECT in body_marks
    return StoryFeatures(
        headline=head, combined=combined, names=names, actions=actions, stages=stages, about_subject=about
    )


def _furthest_stage(marks: set[str]) -> tuple[str, ...]:
    stages = {_STAGE_OF[mark] for mark in marks if mark in _STAGE_OF}
    return (max(stages, key=STAGE_ORDER.index),) if stages else ()


def _event_tokens(text: str) -> tuple[dict[str, int], tuple[str, ...], set[str]]:
    """Each event token once, weighted by the strongest role it plays (amount > name > word); the
    distinctive names among them; and every folded word (boilerplate too) for actions and stages."""
    features: dict[str, int] = {}
    names: list[str] = []
    marks: set[str] = set()
    if not text:
        return features, (), marks
    text = unicodedata.normalize("NFKC", text)  # full-width digits and letters
    for phrase, replacement in _PHRASES:
        text = phrase.sub(replacement, text)
    for appositive in _APPOSITIVES:
        text = appositive.sub(" ", text)
    text = _POSSESSIVE.sub("", text)
    text = _AMOUNT.sub(lambda m: _add_amount(features, m), text)
    text = _RUN_SCRIPTS.sub(lambda m: _add_run_forms(features, marks, m.group(0)), text)
    # Title Case and languages that capitalise every noun (German) say nothing about names.
    no_names = _looks_title_case(text) or _looks_foreign(text)
    for sentence in _SENTENCE_END.split(text):
        for index, raw in enumerate(_WORD.findall(sentence)):
            folded = _fold(raw)
            marks.add(_stem(folded))
            marks.add(folded)
            token = _word_token(raw)
            if folded.startswith(BOILERPLATE_PREFIXES):
                marks.add(_SUBJECT)
            if token is None or is_boilerplate(token):
                continue
            marks.add(token)
            named = (index > 0 and not no_names and raw[0].isupper()) or _is_acronym(raw)
            weight = NAME_WEIGHT if named else WORD_WEIGHT
            features[token] = max(features.get(token, 0), weight)
            if named and token not in names and token not in _ACTION_OF:
                names.append(token)
    return features, tuple(names), marks


def _add_run_forms(features: dict[str, int], marks: set[str], run: str) -> str:
    """The lexicon's concepts, stages and action words found inside a CJK or Devanagari run."""
    if any(form in run for form in SUBJECT_FORMS.split()):
        marks.add(_SUBJECT)
    for form, concept in _RUN_FORMS:
        if form in run:
            marks.add(form)
            if concept:
                marks.add(concept)
                features[concept] = max(features.get(concept, 0), WORD_WEIGHT)
    return " "


def is_boilerplate(token: str) -> bool:
    return token in _BOILERPLATE_TOKENS or token.startswith(BOILERPLATE_PREFIXES)


def _classes(marks: set[str], table: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(sorted({table[mark] for mark in marks if mark in table}))


def _add_amount(features: dict[str, int], match: re.Match[str]) -> str:
    token = _amount_token(match)
    if token and token.endswith("%") and _MARKET_MOVE.search(match.string, 0, match.start()):
        token = "#n" + token[1:]  # "shares jump 20%": the market's reaction, as loose as a count
    if token and token not in _BOILERPLATE_AMOUNT_TOKENS:
        number = _number(match.group(1))
        # A bare small number ("Gemini 3", "11th") tells less than "$1.1 billion" or "14,000".
        features[token] = NAME_WEIGHT if token.startswith("#n") and number < 100 else AMOUNT_WEIGHT
    return " " if token else match.group(0)


def _amount_token(match: re.Match[str]) -> str | None:
    number, unit = _number(match.group(1)), (match.group(2) or "").lower()
    if not unit and number.is_integer() and 1900 <= number <= 2100:
        return None  # a year: an ordinary word ("in 2026"), not an identifying amount
    if unit in ("%", "percent", "per cent"):
        return f"#{number:g}%"
    if not unit and match.group(0).lstrip()[:1] not in _CURRENCY:
        return f"#n{_two_figures(number)}"  # a count ("55 employees", "14,000 jobs"), not money
    return f"#{_two_figures(number * _SCALE.get(unit, 1.0))}"


def _number(text: str) -> float:
    """ "1,200" and "1.200" are thousands; "6,2" (German, French, ...) and "6.2" are decimals."""
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", text):
        return float(text.replace(",", ""))
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", text):
        return float(text.replace(".", ""))
    return float(text.replace(",", "."))


def _two_figures(value: float) -> str:
    """Two significant figures, so "$57.01 billion" and "$57 billion" are one amount."""
    return f"{float(f'{value:.2g}'):.6g}" if value else "0"


def _looks_title_case(text: str) -> bool:
    """Headline Case Capitalises Every Word, which says nothing about names."""
    words = [
        w for w in _WORD.findall(text)
        if w.lower() not in _STOP and w[0].isalpha() and not is_boilerplate(_stem(_fold(w)))
    ]  # fmt: skip
    return len(words) >= 2 and sum(w[0].isupper() for w in words) / len(words) > 0.6


def _looks_foreign(text: str) -> bool:
    """More German, French, Spanish or Portuguese function words than English ones."""
    words = [w.casefold() for w in _WORD.findall(text)]
    foreign = sum(1 for w in words if w in _FOREIGN_STOP)
    return foreign > sum(1 for w in words if w in _ENGLISH_STOP)


def _is_acronym(raw: str) -> bool:
    return len(raw) >= 2 and raw.isupper() and raw.isalpha()


# Folding, stemming and token look-ups are pure and news repeats its words: caching them per word
# (a few MB at most) makes features about twice as cheap.
@functools.lru_cache(maxsize=32768)
def _word_token(raw: str) -> str | None:
    word = _fold(raw)
    if not word or word in _STOP or (len(word) < 2 and not word.isdigit()):
        return None
    return _CONCEPT_OF.get(word) or _CONCEPT_OF.get(_stem(word)) or _stem(word)


@functools.lru_cache(maxsize=32768)
def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.replace("-", "").replace(".", "")


@functools.lru_cache(maxsize=32768)
def _stem(word: str) -> str:
    """Crude suffix stripping: only consistency between two reports matters, not linguistics."""
    if len(word) > 5 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def _token_table(table: Mapping[str, str]) -> dict[str, str]:
    """word -> class, for each word's folded, stemmed and concept forms."""
    out: dict[str, str] = {}
    for name, words in table.items():
        for word in words.split():
            folded = _fold(word)
            out[word] = out[folded] = out[_stem(folded)] = name
            out[_CONCEPT_OF.get(folded) or folded] = name
    return out


def _concept_table() -> dict[str, str]:
    out: dict[str, str] = {}
    for concept, forms in CONCEPTS.items():
        for form in forms.split():
            folded = _fold(form)
            out.setdefault(form, concept)
            out.setdefault(folded, concept)
            out.setdefault(_stem(folded), concept)
    return out


def _run_forms() -> tuple[tuple[str, str], ...]:
    """(form, concept or "") for every lexicon form written in a run script, longest first."""
    forms: dict[str, str] = {}
    for concept, words in CONCEPTS.items():
        forms.update((w, concept) for w in words.split() if _RUN_SCRIPTS.fullmatch(w))
    for table in (ACTIONS, STAGES):
        for words in table.values():
            forms.update((w, forms.get(w, "")) for w in words.split() if _RUN_SCRIPTS.fullmatch(w))
    return tuple(sorted(forms.items(), key=lambda fc: -len(fc[0])))


_CONCEPT_OF = _concept_table()
_BOILERPLATE_TOKENS = frozenset(t for w in BOILERPLATE.split() for t in (_fold(w), _stem(_fold(w))))
_BOILERPLATE_AMOUNT_TOKENS = frozenset(
    t for m in (_AMOUNT.search(a) for a in BOILERPLATE_AMOUNTS) if m for t in [_amount_token(m)] if t
)
_ACTION_OF = _token_table(ACTIONS)
_STAGE_OF = _token_table(STAGES)
_RUN_FORMS = _run_forms()
_SUBJECT = "<subject>"  # a mark (never a token) for "names the story's subject"


def similarity(a: Features, b: Features, ignore: Collection[str] = ()) -> float:
    """Weighted Jaccard (sum of min weights over sum of max weights), `ignore`d tokens left out."""
    keys = (a.keys() | b.keys()) - set(ignore)
    if not keys:
        return 0.0
    low = sum(min(a.get(k, 0), b.get(k, 0)) for k in keys)
    high = sum(max(a.get(k, 0), b.get(k, 0)) for k in keys)
    return low / high


def amounts_conflict(a: StoryFeatures, b: StoryFeatures) -> bool:
    """The amounts say these are different events.

    Money is compared with money and percentages with percentages (counts such as "55 employees"
    are too loosely reported to tell events apart). Both reports give amounts of a kind and share
    none ("$4bn" vs "$8bn"), or one headline leads with an amount of a kind the other report gives
    but never this one ("raises $8bn at $50bn" vs "in talks at $50bn").
    """
    for kind in ("money", "percent"):
        amounts_a, amounts_b = _amounts(a.combined, kind), _amounts(b.combined, kind)
        if not (amounts_a and amounts_b):
            continue
        if not amounts_a & amounts_b:
            return True
        if _amounts(a.headline, kind) - amounts_b or _amounts(b.headline, kind) - amounts_a:
            return True
    return False


def _amounts(features: Features, kind: str) -> set[str]:
    return {token for token in features if token.startswith("#") and _amount_kind(token) == kind}


def _amount_kind(token: str) -> str:
    return "count" if token.startswith("#n") else "percent" if token.endswith("%") else "money"


def _weight(features: Features, common: Collection[str]) -> int:
    return sum(w for t, w in features.items() if t not in common)


def is_groupable(features: StoryFeatures, common: Collection[str] = ()) -> bool:
    return features.version in COMPARABLE_VERSIONS and _weight(features.combined, common) >= MIN_WEIGHT


def index_keys(features: StoryFeatures) -> tuple[str, ...]:
    """The tokens a store indexes a report under: its event tokens (a candidate shares one)."""
    return tuple(sorted(features.combined)) if is_groupable(features) else ()


@dataclass(frozen=True)
class Verdict:
    """Whether two reports are one event, and why: what `group --explain` shows."""

    same: bool
    reason: str
    score: float = 0.0  # weighted Jaccard of headline + lead event tokens
    headline_score: float = 0.0
    shared: tuple[str, ...] = field(default=())
    embedding_score: float | None = None  # cosine of the sentence embeddings, when both reports have one


def judge(a: StoryFeatures, b: StoryFeatures, common: Collection[str] = ()) -> Verdict:
    """The verification step: a candidate story takes a report only when this says `same`.

    Vetoes first (another stage, other amounts, each headline naming someone the other report never
    mentions); then the evidence: the whole text clearly alike, or alike with alike headlines, or
    the same action on the same names or amounts (anchors) with some overall likeness."""
    shared = tuple(sorted(t for t in a.combined.keys() & b.combined.keys() if t not in common))
    # A token that one report shows as a name or amount is one on the other side too (German
    # capitalises every noun, a headline may be Title Case, a sentence starts with a capital).
    weights = {t: max(a.combined[t], b.combined[t]) for t in shared}
    if sum(weights.values()) < MIN_SHARED:  # most candidates stop here: keep it cheap
        return Verdict(False, f"too little shared ({sum(weights.values())} < {MIN_SHARED})", shared=shared)
    if not (is_groupable(a, common) and is_groupable(b, common)):
        return Verdict(False, "too little event text to group on")
    if a.about_subject != b.about_subject:
        return Verdict(False, "only one of them names the story's subject")
    if a.stages and b.stages and not set(a.stages) & set(b.stages):
        return Verdict(False, f"different stages: {', '.join(a.stages)} / {', '.join(b.stages)}")
    if a.actions and b.actions and not set(a.actions) & set(b.actions):
        return Verdict(False, f"different actions: {', '.join(a.actions)} / {', '.join(b.actions)}")
    if amounts_conflict(a, b):
        return Verdict(False, "the amounts differ")
    missing_a = [n for n in a.names if n not in b.combined and n not in common]
    missing_b = [n for n in b.names if n not in a.combined and n not in common]
    if missing_a and missing_b:
        return Verdict(False, f"different names: {', '.join(missing_a)} / {', '.join(missing_b)}")
    score = similarity(a.combined, b.combined, common)
    headline_score = similarity(a.headline, b.headline, common)
    anchors = sum(
        w for t, w in weights.items() if w > WORD_WEIGHT and not t.startswith("#n")
    )  # counts are loose
    overlap = sum(weights.values()) / max(1, min(_weight(a.combined, common), _weight(b.combined, common)))
    same_action = bool(set(a.actions) & set(b.actions))
    cosine = embedding_cosine(a, b)
    verdict = Verdict(False, "", score, headline_score, shared, cosine)
    if score >= CLEAR_THRESHOLD:
        return _with(verdict, True, "clearly alike")
    if score >= SAME_EVENT_THRESHOLD and headline_score >= HEADLINE_THRESHOLD:
        return _with(verdict, True, "alike, headlines too")
    if anchors >= MIN_ANCHORS and overlap >= ANCHORED_OVERLAP:
        return _with(verdict, True, f"the same names or amounts ({anchors})")
    if headline_score >= SAME_HEADLINE and _weight(a.headline, common) >= MIN_SHARED:
        return _with(verdict, True, "the same headline")
    if same_action and anchors >= NAME_WEIGHT and overlap >= ACTION_OVERLAP:
        return _with(
            verdict,
            True,
            f"the same action ({', '.join(sorted(set(a.actions) & set(b.actions)))}) on a shared name",
        )
    if cosine is not None and cosine >= EMBED_THRESHOLD:
        return _with(verdict, True, f"the texts mean the same ({cosine:.2f})")
    return _with(verdict, False, "not alike enough")


def _with(verdict: Verdict, same: bool, reason: str) -> Verdict:
    return replace(verdict, same=same, reason=reason)


def embedding_cosine(a: StoryFeatures, b: StoryFeatures) -> float | None:
    """The cosine of two reports' sentence embeddings, or None unless one model made both."""
    if not (a.embedding and b.embedding) or a.embedding_model != b.embedding_model:
        return None
    if len(a.embedding) != len(b.embedding):
        return None
    layout = f"<{len(a.embedding) // 2}e"  # float16
    return math.fsum(
        x * y
        for x, y in zip(struct.unpack(layout, a.embedding), struct.unpack(layout, b.embedding), strict=True)
    )


def is_same_story(a: StoryFeatures, b: StoryFeatures, common: Collection[str] = ()) -> bool:
    return judge(a, b, common).same


Sketch = tuple["StoryFeatures", tuple[str, ...]]  # an item's features and index keys


@dataclass(frozen=True)
class TextEmbedder:
    """A sentence encoder: `encode` maps a text to its embedding (float16 bytes, norm 1); `name`
    tells embeddings of different models (or texts) apart."""

    name: str
    encode: Callable[[str], bytes]


def embedding_text(title: str, summary: str = "", source: str = "") -> str:
    """What a report's sentence embedding is made of: its headline and lead as `story_text` gives
    them, without the story's boilerplate (appositives, the company, its founders, descriptors).

    Measured on the development set: with the boilerplate kept, reports of *different* events about
    the company score as alike as rewrites of one event (cosine up to 0.88)."""
    headline, lead = story_text(title, summary, source)
    text = f"{headline}. {lead}" if lead else headline
    for appositive in _APPOSITIVES:
        text = appositive.sub(" ", text)
    text = _WORD.sub(lambda m: "" if is_boilerplate(_stem(_fold(m.group(0)))) else m.group(0), text)
    for form in _RUN_BOILERPLATE:
        text = text.replace(form, "")
    text = _ORPHAN_POSSESSIVE.sub("", text)  # "Bezos's plans" -> "'s plans" -> "plans"
    return " ".join(text.split())


_RUN_BOILERPLATE = tuple(w for w in BOILERPLATE.split() if not w.isascii())
_ORPHAN_POSSESSIVE = re.compile(r"(?:^|(?<=\s))['’]s\b")


def story_sketch(
    title: str, summary: str = "", source: str = "", embedder: TextEmbedder | None = None
) -> Sketch:
    """What the story index needs of one item: its features and its index keys (pure given the
    embedder; computed in the parser workers so the event loop does not spend its time on it)."""
    features = story_features(title, summary, source)
    keys = index_keys(features)
    if embedder is not None and keys:
        embedding = embedder.encode(embedding_text(title, summary, source))
        features = replace(features, embedding=embedding, embedding_model=embedder.name)
    return features, keys
