"""Parsing a rule query into the node tree of `bot.core.rules.nodes`.

Grammar, loosest binding first (adjacent terms are joined by an implicit AND):

    query   := or END
    or      := and (OR and)*
    and     := unary ([AND] unary)*
    unary   := NOT unary | near
    near    := primary (NEAR[/n] primary)*         operands: words, phrases, OR-groups of them
    primary := [field:] (word | "phrase" | @list | '(' or ')')

`@name` stands for a named list (`lists`, defined beside the rules: rules.yaml's `lists:`), parsed
in place as if it were written in brackets; a field prefix applies to it as to a group. Lists may
use other lists, never themselves. Errors raise `RuleError(query, position, expected)` at the
offending token (an error inside a list points at its `@name`). Nesting is capped, and so is the
number of tokens once lists are expanded, so a hostile query cannot exhaust the stack or memory.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.rules.lexer import Token, tokenize
from bot.core.rules.nodes import And, Near, Node, Not, Or, Part, Phrase, Word
from bot.core.rules.text import is_cjk_char, words_of
from bot.errors import RuleError

MAX_QUERY_LENGTH = 10_000
MAX_DEPTH = 40
MAX_EXPANDED_TOKENS = 100_000  # words and operators of a query with its lists written out
_TERM = "a word, a quoted phrase, a @list, '(' or NOT"


def parse(query: str, lists: Mapping[str, str] | None = None) -> Node:
    if len(query) > MAX_QUERY_LENGTH:
        raise RuleError(query, MAX_QUERY_LENGTH, f"a query of at most {MAX_QUERY_LENGTH} characters")
    if not query.strip():
        raise RuleError(query, 0, f"a query: {_TERM}")
    return _Parser(query, lists or {}).parse()


class _Parser:
    def __init__(
        self,
        query: str,
        lists: Mapping[str, str],
        *,
        expanding: frozenset[str] = frozenset(),
        depth: int = 0,
        field: str = "any",
        budget: list[int] | None = None,
    ) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.lists = lists
        self.expanding = expanding  # the lists being parsed around this one: a list may not use itself
        # Tokens left before the expansion cap, shared by the parsers of a query and its lists.
        self.budget = budget if budget is not None else [MAX_EXPANDED_TOKENS]
        self.budget[0] -= len(self.tokens)
        if self.budget[0] < 0:
            limit = f"at most {MAX_EXPANDED_TOKENS:,} words and operators with lists written out"
            raise RuleError(query, 0, limit)
        self.i = 0
        self.depth = depth
        self.fields = [field]  # the field in force: set by `title:( ... )` around a group

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _error(self, expected: str, token: Token | None = None) -> RuleError:
        return RuleError(self.query, (token or self.tok).pos, expected)

    def _source(self, start: int) -> str:
        return self.query[start : self.tokens[self.i - 1].end].strip()

    def parse(self) -> Node:
        node = self._or()
        if self.tok.kind == ")":
            raise self._error("the end of the query (this ')' has no matching '(')")
        if self.tok.kind != "end":
            raise self._error("AND, OR, NEAR or the end of the query")
        return node

    def _or(self) -> Node:
        start = self.tok.pos
        children = [self._and()]
        while self.tok.kind == "OR":
            self.i += 1
            children.append(self._and())
        return children[0] if len(children) == 1 else Or(children, self._source(start))

    def _and(self) -> Node:
        start = self.tok.pos
        children = [self._unary()]
        while self.tok.kind in ("AND", "NOT", "word", "phrase", "field", "("):
            if self.tok.kind == "AND":
                self.i += 1
            children.append(self._unary())
        return children[0] if len(children) == 1 else And(children, self._source(start))

    def _unary(self) -> Node:
        if self.tok.kind != "NOT":
            return self._near()
        start = self.tok.pos
        self.i += 1
        self._enter()
        child = self._unary()
        self.depth -= 1
        return Not(child, self._source(start))

    def _near(self) -> Node:
        start = self.tok.pos
        first = self._primary()
        operands = [(start, first)]
        rest: list[tuple[int, Node]] = []
        while self.tok.kind == "NEAR":
            distance = int(self.tok.text)
            self.i += 1
            operands.append((self.tok.pos, self._primary()))
            rest.append((distance, operands[-1][1]))
        if not rest:
            return first
        for pos, node in operands:
            if not node.positional:
                raise RuleError(self.query, pos, "a word, a phrase or an OR-group of them beside NEAR")
        return Near(first, rest, self._source(start))

    def _primary(self, field: str = "any") -> Node:
        tok = self.tok
        if tok.kind == "field":
            self.i += 1
            if self.tok.kind not in ("word", "phrase", "list", "("):
                raise self._error(f"a word, a quoted phrase, a @list or '(' right after {tok.text}:")
            node = self._primary(tok.text)
            node.source = self._source(tok.pos)  # show `title:...` in explanations
            return node
        if tok.kind in ("word", "phrase"):
            self.i += 1
            return self._term(tok, field)
        if tok.kind == "list":
            self.i += 1
            return self._list(tok, field)
        if tok.kind == "(":
            self.i += 1
            self._enter()
            self.fields.append(self.fields[-1] if field == "any" else field)
            node = self._or()
            self.fields.pop()
            self.depth -= 1
            if self.tok.kind != ")":
                raise self._error(f"')' to close the '(' at position {tok.pos}")
            self.i += 1
            node.source = self._source(tok.pos)  # explanations show the group as written
            return node
        previous = self.tokens[self.i - 1].kind if self.i else ""
        after = f" after {previous}" if previous in ("AND", "OR", "NOT", "NEAR") else ""
        raise self._error(_TERM + after)

    def _list(self, tok: Token, field: str) -> Node:
        """`@name`: the named list's query, parsed where it stands as if written in brackets."""
        name = tok.text
        if name not in self.lists:
            known = ", ".join(f"@{known}" for known in sorted(self.lists)[:20]) or "none are defined"
            raise self._error(f"a list defined beside the rules (lists: {known})", tok)
        if name in self.expanding:
            raise self._error(f"a list that does not use itself (@{name} is being expanded)", tok)
        self._enter()
        try:
            node = _Parser(
                self.lists[name],
                self.lists,
                expanding=self.expanding | {name},
                depth=self.depth,
                field=self.fields[-1] if field == "any" else field,
                budget=self.budget,
            ).parse()
        except RuleError as error:
            where = f"in it: {error.expected}, at position {error.position}"
            raise self._error(f"a valid @{name} ({where})", tok) from None
        self.depth -= 1
        node.source = f"@{name}"  # explanations name the list; a field prefix is added by the caller
        return node

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._error(f"at most {MAX_DEPTH} nested groups or NOTs")

    def _term(self, tok: Token, field: str) -> Node:
        if field == "any":  # inside `title:( ... )` the group's field applies
            field = self.fields[-1]
        parts = self._parts(tok)
        source = self.query[tok.pos : tok.end]
        if len(parts) == 1:
            return Word(parts[0], field, source)
        return Phrase(tuple(parts), field, source)

    def _parts(self, tok: Token) -> list[Part]:
        """The words of a bare word or phrase; a trailing `*` on a word makes it a prefix."""
        parts: list[Part] = []
        offset = tok.text_pos
        for chunk in tok.text.split():
            at = self.query.index(chunk, offset)
            offset = at + len(chunk)
            star = chunk.find("*")
            if star >= 0:
                if star != len(chunk) - 1 or not chunk[:-1] or not chunk[-2].isalnum():
                    raise RuleError(self.query, at + star, "'*' only at the end of a word, after a letter")
                words = words_of(chunk[:-1])
                if is_cjk_char(words[-1]):
                    # Han/kana/Hangul characters are words of one character and already match
                    # inside longer text ("ベゾス" in "ベゾス氏"): the `*` adds nothing.
                    parts += [Part(w) for w in words]
                    continue
                if len(words[-1]) < 2:
                    raise RuleError(self.query, at, "at least two letters before '*'")
                parts += [Part(w) for w in words[:-1]] + [Part(words[-1], prefix=True)]
            else:
                parts += [Part(w) for w in words_of(chunk)]
        if not parts:
            what = "words inside the quotes" if tok.kind == "phrase" else "a word with letters or digits"
            raise RuleError(self.query, tok.pos, what)
        return parts
