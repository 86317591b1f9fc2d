"""Pull key figures out of story text: money amounts, people with their roles, and dates.

Pure: text in, KeyFigure values out; no I/O, no clock. `/news facts` runs it over recent matched
stories to show "what the coverage says" next to the curated facts. It is deliberately
conservative (regular expressions over common news phrasing), preferring to miss a figure over
inventing one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

FigureKind = Literal["amount", "person", "date"]


@dataclass(frozen=True)
class KeyFigure:
    kind: FigureKind
    text: str  # as shown, normalised: "$6.2 billion", "Vik Bajaj, co-CEO", "November 17, 2025"
    key: str  # equal for the same figure written differently ("$6.2B" and "$6.2 billion")


_SCALE = {
    "trillion": "trillion", "tn": "trillion", "t": "trillion",
    "billion": "billion", "bn": "billion", "b": "billion",
    "million": "million", "mn": "million", "m": "million", "mln": "million",
}  # fmt: skip
_CURRENCY = {"$": "$", "us$": "$", "€": "€", "£": "£"}
_AMOUNT = re.compile(
    r"(?<![\w$€£])(?P<cur>US\$|\$|€|£)\s?(?P<num>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
    r"(?:\s?(?P<scale>trillion|billion|million|bn|mln|mn|tn|[bmt])\b)?",
    re.IGNORECASE,
)
_WORD_AMOUNT = re.compile(
    r"\b(?P<num>\d+(?:\.\d+)?)\s(?P<scale>trillion|billion|million)\s(?P<cur>dollars|euros|pounds)\b",
    re.IGNORECASE,
)
_WORD_CURRENCY = {"dollars": "$", "euros": "€", "pounds": "£"}

_ROLE = (
    r"(?:co-?CEO|CEO|co-?founder|founder|chief executive(?: officer)?|chief (?:technology|financial|"
    r"operating|scientific) officer|CTO|CFO|COO|executive chairman|chairman|chairwoman|chair|"
    r"president|managing partner|co-chief executive)"
)
# Two capitalised words (and an optional initial), not three: headlines are Title Case.
_NAME = r"(?P<name>[A-Z][a-z]+(?:[-'’][A-Z][a-z]+)?(?:\s[A-Z]\.)?\s[A-Z][a-z]+(?:[-'’][A-Z][a-z]+)?)"
_NAME_THEN_ROLE = re.compile(
    _NAME + r",\s(?:(?:a|an|the|its)\s)?(?P<role>(?:former\s)?(?:[A-Z][\w&]+\s)?(?i:" + _ROLE + r"))\b"
)
_ROLE_THEN_NAME = re.compile(
    r"(?P<role>(?:[Ff]ormer\s)?(?:(?!The\b|A\b|An\b|Its\b|His\b|Her\b)[A-Z][\w&]+\s)?(?i:"
    + _ROLE
    + r"))\s"
    + _NAME
)
_NOT_NAMES = frozenset({"Project Prometheus", "Blue Origin", "Wall Street", "New York", "The New"})

_MONTHS = {
    "jan": "January", "feb": "February", "mar": "March", "apr": "April", "may": "May", "jun": "June",
    "jul": "July", "aug": "August", "sep": "September", "sept": "September", "oct": "October",
    "nov": "November", "dec": "December",
}  # fmt: skip
_MONTH = (
    r"(?P<month>Jan(?:uary|\.)?|Feb(?:ruary|\.)?|Mar(?:ch|\.)?|Apr(?:il|\.)?|May|June?|July?|"
    r"Aug(?:ust|\.)?|Sept?(?:ember|\.)?|Oct(?:ober|\.)?|Nov(?:ember|\.)?|Dec(?:ember|\.)?)"
)
_DATE_MDY = re.compile(
    r"\b" + _MONTH + r"\s(?P<day>\d{1,2})(?:st|nd|rd|th)?(?:,?\s(?P<year>(?:19|20)\d\d))?\b"
)
_DATE_DMY = re.compile(r"\b(?P<day>\d{1,2})\s" + _MONTH + r"(?:\s(?P<year>(?:19|20)\d\d))?\b")
_DATE_MY = re.compile(r"\b" + _MONTH + r"\s(?P<year>(?:19|20)\d\d)\b")
_MONTH_NUMBER = {name: index for index, name in enumerate(dict.fromkeys(_MONTHS.values()), start=1)}


def extract_key_figures(text: str) -> list[KeyFigure]:
    """Every amount, person-with-role and date in `text`, in order of appearance, without repeats."""
    found: list[tuple[int, KeyFigure]] = []
    found += _amounts(text)
    found += _people(text)
    found += _dates(text)
    seen: set[str] = set()
    result: list[KeyFigure] = []
    for _, figure in sorted(found, key=lambda pair: pair[0]):
        if figure.key not in seen:
            seen.add(figure.key)
            result.append(figure)
    return result


def _amounts(text: str) -> list[tuple[int, KeyFigure]]:
    found: list[tuple[int, KeyFigure]] = []
    for match in _AMOUNT.finditer(text):
        number, scale = match["num"], match["scale"]
        if scale is None and "," not in number:
            continue  # "$5" is a price, not a key figure
        currency = _CURRENCY[match["cur"].lower()]
        found.append((match.start(), _amount(currency, number, scale)))
    for match in _WORD_AMOUNT.finditer(text):
        currency = _WORD_CURRENCY[match["cur"].lower()]
        found.append((match.start(), _amount(currency, match["num"], match["scale"])))
    return found


def _amount(currency: str, number: str, scale: str | None) -> KeyFigure:
    shown = f"{currency}{number}" + (f" {_SCALE[scale.lower()]}" if scale else "")
    value = float(number.replace(",", "")) * {"trillion": 1e12, "billion": 1e9, "million": 1e6}.get(
        _SCALE[scale.lower()] if scale else "", 1.0
    )
    return KeyFigure("amount", shown, f"amount:{currency}{value:.0f}")


def _people(text: str) -> list[tuple[int, KeyFigure]]:
    found: list[tuple[int, KeyFigure]] = []
    for pattern in (_NAME_THEN_ROLE, _ROLE_THEN_NAME):
        for match in pattern.finditer(text):
            name = match["name"]
            if name in _NOT_NAMES or any(word in _MONTHS_FULL for word in name.split()):
                continue
            role = " ".join(match["role"].split())
            found.append(
                (match.start(), KeyFigure("person", f"{name}, {role}", f"person:{name}|{role.lower()}"))
            )
    return found


_MONTHS_FULL = frozenset(_MONTHS.values())


def _dates(text: str) -> list[tuple[int, KeyFigure]]:
    found: list[tuple[int, KeyFigure]] = []
    covered: list[range] = []
    for pattern in (_DATE_MDY, _DATE_DMY, _DATE_MY):
        for match in pattern.finditer(text):
            if any(match.start() in span for span in covered):
                continue  # "November 17, 2025" is not also "November 2025"
            groups = match.groupdict()
            month = _MONTHS[_month_key(match["month"])]
            day, year = groups.get("day"), groups.get("year")
            if day is not None and not 1 <= int(day) <= 31:
                continue
            if day and year:
                shown = f"{month} {int(day)}, {year}"
            elif day:
                shown = f"{month} {int(day)}"
            else:
                shown = f"{month} {year}"
            key = f"date:{year or '?'}-{_MONTH_NUMBER[month]:02d}-{int(day) if day else 0:02d}"
            covered.append(range(match.start(), match.end()))
            found.append((match.start(), KeyFigure("date", shown, key)))
    return found


def _month_key(word: str) -> str:
    word = word.rstrip(".").lower()
    return "sept" if word.startswith("sept") and len(word) == 4 else word[:3]
