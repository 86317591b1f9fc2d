"""Turn the text after `/news` into a ParsedCommand (pure: no I/O, no knowledge of permissions).

Splitting is shlex-like: whitespace separates words; "double", 'single' and “curly” quotes group
words when they open a word (so the apostrophe in it's is just a letter); `--name value` and
`--name=value` are options. An unclosed quote does not raise here: the words are still split
(the quote runs to the end) and `quote_error` says what is wrong, so commands that need exact
arguments can refuse clearly while `search` simply uses the words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

# Subcommands whose second word is an action: "rules add ...", "feeds list", "story split ...".
GROUPS = frozenset({"rules", "feeds", "facts", "story"})
_CLOSING = {'"': '"', "'": "'", "“": "”", "”": "”", "‘": "’", "’": "’", "«": "»"}


@dataclass(frozen=True)
class ParsedCommand:
    name: str  # subcommand, lower-cased; "" for empty input
    action: str = ""  # second word for GROUPS ("add", "list"); "" if absent
    args: tuple[str, ...] = ()  # remaining words with quotes removed and options taken out
    options: Mapping[str, str] = field(default_factory=dict)
    raw: str = ""  # the remaining text exactly as typed (after name and action)
    quote_error: str | None = None  # set when a quote was left open


def split_words(text: str) -> tuple[list[tuple[str, bool]], str | None]:
    """Words of `text` as (word, was_quoted), and an error message if a quote was left open."""
    words: list[tuple[str, bool]] = []
    i, n = 0, len(text)
    error: str | None = None
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] in _CLOSING:
            close = _CLOSING[text[i]]
            end = text.find(close, i + 1)
            if end < 0:
                error = f"the quote {text[i]} at position {i + 1} is never closed"
                words.append((text[i + 1 :], True))
                break
            words.append((text[i + 1 : end], True))
            i = end + 1
            continue
        start = i
        while i < n and not text[i].isspace():
            i += 1
        words.append((text[start:i], False))
    return words, error


def parse_command(text: str) -> ParsedCommand:
    """Split `text` into subcommand, action, arguments and options. Never raises."""
    parts = text.strip().split(None, 1)
    name = parts[0].lower() if parts else ""
    rest = parts[1].strip() if len(parts) > 1 else ""
    action = ""
    if name in GROUPS and rest:
        first = rest.split(None, 1)[0]
        if not first.startswith(("-", '"', "'")):
            action = first.lower()
            rest = rest[len(first) :].strip()
    words, error = split_words(rest)
    args: list[str] = []
    options: dict[str, str] = {}
    index = 0
    while index < len(words):
        word, quoted = words[index]
        index += 1
        if not quoted and word.startswith("--") and len(word) > 2:
            key, equals, value = word[2:].partition("=")
            if not equals and index < len(words):
                value = words[index][0]
                index += 1
            options[key.lower()] = value
        else:
            args.append(word)
    return ParsedCommand(name, action, tuple(args), options, rest, error)


def after_words(raw: str, count: int) -> str:
    """`raw` without its first `count` whitespace-separated words, as typed (for rule queries)."""
    rest = raw.strip()
    for _ in range(count):
        parts = rest.split(None, 1)
        rest = parts[1] if len(parts) > 1 else ""
    return rest.strip()


def take_option(raw: str, name: str) -> tuple[str, str | None]:
    """Split `--name value` (or `--name=value`, value optionally quoted) off the end part of `raw`.

    Returns (text before the option, value), or (raw, None) when the option is absent. Used where
    the rest of the text must stay exactly as typed (rule queries, fact text).
    """
    found = re.search(rf"(?:^|\s)--{re.escape(name)}(?:=|\s+|$)", raw, re.IGNORECASE)
    if not found:
        return raw.strip(), None
    before, value = raw[: found.start()].strip(), raw[found.end() :].strip()
    if len(value) >= 2 and value[0] in _CLOSING and value.endswith(_CLOSING[value[0]]):
        value = value[1:-1]
    return before, value


MAX_SEARCH_WORDS = 20


def fts_query(words: list[str] | tuple[str, ...]) -> str | None:
    """A safe FTS5 MATCH expression: every word (or quoted phrase) as a quoted string, all required.

    Quoting makes every character literal, so AND, OR, NEAR, *, ^, :, parentheses and stray quotes
    in user text are just text. Words with no letter or digit are dropped (they would be empty
    phrases); None when nothing is left to search for.
    """
    kept = [w for w in words if any(ch.isalnum() for ch in w)][:MAX_SEARCH_WORDS]
    if not kept:
        return None
    return " ".join('"' + w.replace('"', '""') + '"' for w in kept)
