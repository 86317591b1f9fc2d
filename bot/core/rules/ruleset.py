"""Rules compiled once and matched against items: which rules fire and on which terms.

`RuleSet.compile` parses every rule up front (a bad rule is refused with a `RuleError` that names
it); `match` tokenises an item once and evaluates every enabled rule on the shared tokens;
`explain` says, per rule, which sub-expressions were true. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.model import RuleMatch
from bot.core.rules.explain import RuleExplanation
from bot.core.rules.nodes import Cue, Node, Span, cues, share_results
from bot.core.rules.parser import parse
from bot.core.rules.text import Doc
from bot.errors import ConfigError, RuleError


@dataclass(frozen=True)
class RuleSpec:
    """A rule as configured: the name alerts and routes use, and its query."""

    name: str
    query: str
    enabled: bool = True
    description: str = ""
    color: str | None = None


@dataclass(frozen=True)
class CompiledQuery:
    """One parsed query, ready to evaluate on a `Doc`."""

    query: str
    root: Node
    # Words the query cannot be true without (see `nodes.cues`): a few set tests turn most items
    # down before the tree is evaluated. Empty: no such shortcut.
    cues: tuple[Cue, ...] = ()

    def test(self, doc: Doc) -> bool:
        for cue in self.cues:
            if cue.absent(doc):
                return False
        return self.root.test(doc)

    def terms(self, doc: Doc) -> tuple[str, ...]:
        """The text that made the query true, as written in the item, in reading order."""
        spans: list[Span] = []
        self.root.collect(doc, spans)
        kept: list[Span] = []
        for start, end in sorted(set(spans), key=lambda span: (span[0], -span[1])):
            if not kept or end > kept[-1][1]:  # a span inside one already kept adds nothing
                kept.append((start, end))
        return doc.surfaces(kept)

    def matches(self, title: str, summary: str) -> bool:
        return self.test(Doc.of(title, summary))


def compile_query(query: str, lists: Mapping[str, str] | None = None) -> CompiledQuery:
    """Parse and validate one query (its `@name`s from `lists`); raises `RuleError` with the
    position and what was expected."""
    root = parse(query, lists)
    share_results([root])
    return CompiledQuery(query, root, tuple(dict.fromkeys(cues(root))))


class RuleSet:
    """Compiled rules in spec order. Build with `RuleSet.compile`."""

    def __init__(self, rules: list[tuple[RuleSpec, CompiledQuery]]) -> None:
        self._rules = rules
        self._enabled = [(spec.name, compiled) for spec, compiled in rules if spec.enabled]
        # One cue for the whole set: a word of each rule's smallest cue. An item with none of them
        # (most items of real feeds) fires no rule, which one set test tells (None: some rule
        # has no cue, or no rule is enabled).
        smallest = [
            min(q.cues, key=lambda c: len(c.words) + len(c.heads)) for _, q in self._enabled if q.cues
        ]
        self._cue: Cue | None = None
        if self._enabled and len(smallest) == len(self._enabled):
            self._cue = Cue(
                frozenset().union(*(c.words for c in smallest)),
                frozenset().union(*(c.heads for c in smallest)),
            )
        self.names: list[str] = [spec.name for spec, _ in rules]
        self.specs: list[RuleSpec] = [spec for spec, _ in rules]

    @classmethod
    def compile(cls, specs: Sequence[RuleSpec], lists: Mapping[str, str] | None = None) -> RuleSet:
        seen: set[str] = set()
        rules = []
        for spec in specs:
            if spec.name in seen:
                raise ConfigError([("", f"rule {spec.name!r}", "duplicate rule name")])
            seen.add(spec.name)
            try:
                rules.append((spec, compile_query(spec.query, lists)))
            except RuleError as error:
                raise RuleError(error.query, error.position, error.expected, rule=spec.name) from None
        share_results([compiled.root for _, compiled in rules])  # across rules, too
        return cls(rules)

    def match(self, title: str, summary: str) -> list[RuleMatch]:
        """The enabled rules that fire on the item, in spec order, with the terms that fired them."""
        doc = Doc.of(title, summary)
        if self._cue is not None and self._cue.absent(doc):
            return []
        return [RuleMatch(name, q.terms(doc)) for name, q in self._enabled if q.test(doc)]

    def explain(self, title: str, summary: str) -> list[RuleExplanation]:
        """Every rule (disabled ones too, marked so) evaluated in full on the item."""
        doc = Doc.of(title, summary)
        out = []
        for spec, compiled in self._rules:
            root = compiled.root.explain(doc)
            out.append(RuleExplanation(spec.name, spec.query, spec.enabled, root.matched, root))
        return out
