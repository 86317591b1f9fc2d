"""Splitting a one-line rule query into tokens, each with its 0-based position.

Tokens: `(` `)`, a quoted phrase, a bare word, AND / OR / NOT (any case), NEAR or NEAR/n, a
field prefix (`title:` / `summary:` / `lead:` / `any:`) and a named word list (`@bezos`). Written as a hand scan over the characters, so a
hostile query costs linear time. Errors are `RuleError(query, position, expected)`.
Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import RuleError

FIELDS = ("title", "summary", "lead", "any")
OPERATORS = ("AND", "OR", "NOT")
MAX_NEAR = 100
DEFAULT_NEAR = 10
_SEPARATORS = set('()"')
LIST_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")  # `@name` refers to a list defined beside the rules


@dataclass(frozen=True)
class Token:
    kind: str  # "(" ")" "phrase" "word" "list" "AND" "OR" "NOT" "NEAR" "field" "end"
    text: str  # phrase contents, the word, the field name; for NEAR the distance as digits
    pos: int  # where the token starts in the query
    end: int  # one past its last character
    text_pos: int = 0  # where `text` starts (inside the quotes, after "field:")


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append(Token(c, c, i, i + 1))
            i += 1
        elif c == '"':
            close = query.find('"', i + 1)
            if close < 0:
                raise RuleError(query, i, 'a closing quote (") for the phrase that starts here')
            tokens.append(Token("phrase", query[i + 1 : close], i, close + 1, i + 1))
            i = close + 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in _SEPARATORS:
                j += 1
            tokens.extend(_bare(query, query[i:j], i))
            i = j
    tokens.append(Token("end", "", n, n))
    return tokens


def _bare(query: str, lexeme: str, pos: int) -> list[Token]:
    """A run of non-space, non-bracket, non-quote characters: operator, field prefix or word."""
    upper = lexeme.upper()
    end = pos + len(lexeme)
    if upper in OPERATORS:
        return [Token(upper, upper, pos, end)]
    if upper == "NEAR":
        return [Token("NEAR", str(DEFAULT_NEAR), pos, end)]
    if upper.startswith("NEAR/"):
        digits = lexeme[5:]
        if not digits.isascii() or not digits.isdigit() or not 1 <= int(digits) <= MAX_NEAR:
            raise RuleError(query, pos + 5, f"a whole number of words from 1 to {MAX_NEAR} after NEAR/")
        return [Token("NEAR", str(int(digits)), pos, end)]
    name, colon, rest = lexeme.partition(":")
    if colon and name.isascii() and name.isalpha():
        if name.lower() not in FIELDS:
            raise RuleError(query, pos, f"a field name ({', '.join(FIELDS)}) before ':'")
        field = Token("field", name.lower(), pos, pos + len(name) + 1)
        if not rest:
            return [field]  # `title:(...)` or `title:"..."`: the next token follows
        return [field, _word_or_list(query, rest, field.end, end)]
    return [_word_or_list(query, lexeme, pos, end)]


def _word_or_list(query: str, lexeme: str, pos: int, end: int) -> Token:
    if not lexeme.startswith("@"):
        return Token("word", lexeme, pos, end, pos)
    if not LIST_NAME.fullmatch(lexeme[1:]):
        raise RuleError(query, pos, "a list name after '@': a lower-case letter, then letters, digits or _")
    return Token("list", lexeme[1:], pos, end, pos + 1)
