"""The compiled form of a rule: a tree of nodes evaluated against a tokenised `Doc`.

Word-level nodes (`Word`, `Phrase`, `Near`, and `Or` of those) are *positional*: they yield
spans (first, last token position) so NEAR can measure distance. `And`, `Or` and `Not` answer
true/false. Every node also knows how to `collect` the spans that made it true (for
highlighting) and to `explain` itself. Matching is dictionary look-ups and comparisons on
tokens: nothing here can backtrack. Pure: no I/O.

Large rules stay cheap because most of a rule is never evaluated for a given item: each node
knows at compile time words it cannot be true without (`all_of`, `one_of`), so an AND is turned
down by one subset test and an OR evaluates only the children filed under words the item has
(wildcards under their first letters); nested ORs and ANDs are flattened into one; and results
are kept per item under a key that reads the same for the same expression in any rule, so a word
list that several rules share is looked for once. Before any of that, a rule's `cues` (word sets it
cannot be true without, one word of each) turn most items down with a few set tests. None of this
changes a verdict or the reported terms (tests/core/test_rules_prefilter.py); `explain` still
evaluates every sub-expression as written.
"""

from __future__ import annotations

import sys
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.core.rules.explain import ExplainNode
from bot.core.rules.text import HEAD, Doc

Span = tuple[int, int]
MAX_COLLECTED = 50  # highlight spans kept per node; a 200 KB summary may hold thousands


@dataclass(frozen=True)
class Part:
    """One word of a rule: exact, or a prefix when written with a trailing `*`."""

    text: str
    prefix: bool = False
    # A wildcard's first HEAD letters, which a word it matches must start with (None if shorter).
    head: str | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "head", self.text[:HEAD] if self.prefix and len(self.text) >= HEAD else None)

    def matches(self, token: str | None) -> bool:
        if token is None:
            return False
        return token.startswith(self.text) if self.prefix else token == self.text

    def present(self, doc: Doc) -> bool:
        """Whether the word occurs at all: a cheap test before any position work."""
        if not self.prefix:
            return self.text in doc.vocab
        head = self.head
        if head is not None and head not in doc.heads:
            return False  # no word of the item starts with the same letters: no search needed
        return bool(doc.words_with_prefix(self.text))

    def positions(self, doc: Doc) -> list[int]:
        if not self.prefix:
            return doc.index.get(self.text, [])
        found = [doc.index[word] for word in doc.words_with_prefix(self.text)]
        if len(found) <= 1:
            return found[0] if found else []
        return sorted(p for ps in found for p in ps)


class Node:
    """Base of the compiled tree. `source` is the node's slice of the rule's query."""

    positional = False
    source: str = ""
    # Words the node cannot be true without, known when the query is compiled, so that matching
    # can turn a node down with a set test on the item's words instead of evaluating it:
    # `all_of`, every one of them must be in the item; `one_of`, at least one (None: no such set).
    # Exact words only, in any field (a field only narrows where a word may stand); a wildcard
    # word and NOT need no particular word.
    all_of: frozenset[str] = frozenset()
    one_of: frozenset[str] | None = None
    # What the node is, as a string: the same words, fields and operators give the same key in any
    # rule (OR and AND children in any order), so per-item results are kept in `Doc.memo` under it
    # and an expression several rules share is evaluated once per item.
    key: str = ""
    # Whether another node reads the same (see `share_results`): only then is an AND's or OR's
    # result worth keeping in `Doc.memo`.
    shared: bool = False

    def test(self, doc: Doc) -> bool:
        raise NotImplementedError

    def spans(self, doc: Doc) -> list[Span]:
        raise TypeError(f"{type(self).__name__} has no word positions")

    def collect(self, doc: Doc, out: list[Span]) -> None:
        """Append the spans that make this (true) node true."""

    def explain(self, doc: Doc) -> ExplainNode:
        raise NotImplementedError

    def _leaf_explain(
        self, doc: Doc, kind: str, field: str, anywhere: Callable[[], list[Span]]
    ) -> ExplainNode:
        """A word or phrase: what it found in its field and, when that was nothing, elsewhere.

        "Found outside the lead: 'Bezos'" is what tells an admin the item only mentions it in passing.
        """
        found = self.spans(doc)
        outside = anywhere() if field != "any" and not found else []
        return ExplainNode(
            self.source,
            kind,
            bool(found),
            _surfaces(doc, found),
            field=field,
            outside=_surfaces(doc, outside),
        )


class Word(Node):
    positional = True

    def __init__(self, part: Part, field: str, source: str) -> None:
        self.part, self.field, self.source = part, field, source
        if not part.prefix:
            self.all_of = self.one_of = frozenset((part.text,))
        # The same word in the same field, in any rule, is looked up once per item.
        self.key = _interned(f"{field}:{part.text}{'*' if part.prefix else ''}")

    def spans(self, doc: Doc) -> list[Span]:
        found: list[Span] | None = doc.memo.get(self.key)
        if found is None:
            found = doc.memo[self.key] = self._spans(doc, self.field)
        return found

    def _spans(self, doc: Doc, field: str) -> list[Span]:
        if field == "any":
            return [(p, p) for p in self.part.positions(doc)]
        if not self.part.present(doc):
            return []  # a field test on an absent word needs no position index
        positions = self.part.positions(doc)
        if field == "lead" and positions and positions[-1] < doc.boundary:
            return [(p, p) for p in positions]  # all in the title: no sentence search needed
        low, high = doc.field_range(field)
        return [(p, p) for p in positions if low <= p < high]

    def test(self, doc: Doc) -> bool:
        if self.field == "any":
            return self.part.present(doc)  # the hot path: a set look-up, or a binary search for a prefix
        return bool(self.spans(doc))

    def collect(self, doc: Doc, out: list[Span]) -> None:
        out.extend(self.spans(doc)[:MAX_COLLECTED])

    def explain(self, doc: Doc) -> ExplainNode:
        return self._leaf_explain(doc, "word", self.field, lambda: self._spans(doc, "any"))


class Phrase(Node):
    positional = True

    def __init__(self, parts: tuple[Part, ...], field: str, source: str) -> None:
        self.parts, self.field, self.source = parts, field, source
        self.exact = frozenset(part.text for part in parts if not part.prefix)
        self.prefixes = [part for part in parts if part.prefix]
        # The words after the first, compared as one list slice when none is a wildcard.
        self.rest_words = None if self.prefixes else [part.text for part in parts[1:]]
        self.all_of = self.exact
        self.one_of = _needs_one(self.exact)
        # The same phrase in the same field, in any rule, is looked for once per item.
        self.key = _interned(
            f"{field}:" + " ".join(part.text + ("*" if part.prefix else "") for part in parts)
        )

    def spans(self, doc: Doc) -> list[Span]:
        if not self.exact <= doc.vocab:
            return []  # most phrases stop here, without building the position index
        if self.prefixes and not all(part.present(doc) for part in self.prefixes):
            return []
        found: list[Span] | None = doc.memo.get(self.key)
        if found is None:
            found = doc.memo[self.key] = self._find(doc, self.field)
        return found

    def _find(self, doc: Doc, field: str) -> list[Span]:
        tokens, last = doc.tokens, len(self.parts) - 1
        starts = self.parts[0].positions(doc)
        if not starts:
            return []
        # The whole phrase in the field (the lead can end inside a phrase); a phrase never runs
        # across the title/summary separator, so its first and last words share a field.
        low, high = (
            (0, doc.boundary)
            if field == "lead" and starts[-1] + last < doc.boundary
            else doc.field_range(field)
        )
        out: list[Span] = []
        rest = self.rest_words
        for p in starts:
            if p < low or p + last >= high:
                continue
            if rest is not None:
                if tokens[p + 1 : p + last + 1] == rest:
                    out.append((p, p + last))
            elif all(part.matches(tokens[p + i]) for i, part in enumerate(self.parts[1:], 1)):
                out.append((p, p + last))
        return out

    def test(self, doc: Doc) -> bool:
        return bool(self.spans(doc))

    def collect(self, doc: Doc, out: list[Span]) -> None:
        out.extend(self.spans(doc)[:MAX_COLLECTED])

    def explain(self, doc: Doc) -> ExplainNode:
        # Elsewhere: the phrase anywhere in the item (asked only when it was not in its field).
        return self._leaf_explain(doc, "phrase", self.field, lambda: self._find(doc, "any"))


class Near(Node):
    """`a NEAR/n b [NEAR/m c ...]`: each operand within n words of the chain so far, same field."""

    positional = True

    def __init__(self, first: Node, rest: list[tuple[int, Node]], source: str) -> None:
        self.first, self.rest, self.source = first, rest, source
        self.key = _interned("NEAR(" + first.key + "".join(f" /{n} {node.key}" for n, node in rest) + ")")
        operands = [first, *(node for _, node in rest)]
        self.all_of = frozenset().union(*(node.all_of for node in operands))
        self.one_of = _needs_one(self.all_of) or _fewest([node.one_of for node in operands])

    def _hits(self, doc: Doc) -> list[tuple[Span, tuple[Span, ...]]]:
        """Each chain that satisfies the distances: its overall span and the operand spans in it."""
        if not self.all_of <= doc.vocab:
            return []
        # Every operand must be there. The last ones are tested first: a rule puts the rarer,
        # more specific operand after the name it qualifies ("Bezos NEAR/6 fund"), and the name
        # in a field can cost the search for where the lead ends.
        for _, node in reversed(self.rest):
            if not node.test(doc):
                return []
        if not self.first.test(doc):
            return []
        found: list[tuple[Span, tuple[Span, ...]]] | None = doc.memo.get(self.key)
        if found is None:
            found = doc.memo[self.key] = self._find(doc)
        return found

    def _find(self, doc: Doc) -> list[tuple[Span, tuple[Span, ...]]]:
        hits: list[tuple[Span, tuple[Span, ...]]] = [(s, (s,)) for s in self.first.spans(doc)]
        for distance, node in self.rest:
            if not hits:
                break
            others = sorted(node.spans(doc))
            longest = max((b1 - b0 for b0, b1 in others), default=0)
            joined: dict[Span, tuple[Span, ...]] = {}
            for (a0, a1), parts in hits:
                # Only the nearest partner on each side: bounded work however often words repeat.
                for b0, b1 in _nearest(doc, others, longest, (a0, a1), distance):
                    joined.setdefault((min(a0, b0), max(a1, b1)), (*parts, (b0, b1)))
            hits = list(joined.items())
        return hits

    def spans(self, doc: Doc) -> list[Span]:
        return sorted({span for span, _ in self._hits(doc)})

    def test(self, doc: Doc) -> bool:
        return bool(self._hits(doc))

    def collect(self, doc: Doc, out: list[Span]) -> None:
        for _, parts in self._hits(doc)[:MAX_COLLECTED]:
            out.extend(parts)

    def explain(self, doc: Doc) -> ExplainNode:
        children = [self.first.explain(doc)] + [node.explain(doc) for _, node in self.rest]
        hits = self._hits(doc)
        terms = doc.surfaces(p for _, parts in hits[:MAX_COLLECTED] for p in parts)
        return ExplainNode(self.source, "near", bool(hits), terms, tuple(children))


class _Group(Node):
    """AND and OR: a group written identically in several rules collects its spans once per item."""

    shared = False
    collect_key = ""

    def collect(self, doc: Doc, out: list[Span]) -> None:
        if not self.shared:
            self._collect(doc, out)
            return
        found: list[Span] | None = doc.memo.get(self.collect_key)
        if found is None:
            found = doc.memo[self.collect_key] = []
            self._collect(doc, found)
        out.extend(found)

    def _collect(self, doc: Doc, out: list[Span]) -> None:
        raise NotImplementedError


class And(_Group):
    def __init__(self, children: list[Node], source: str) -> None:
        self.children, self.source = children, source
        # An AND of ANDs is one AND, as an OR of ORs is one OR.
        self.flat: list[Node] = [
            leaf for child in children for leaf in (child.flat if isinstance(child, And) else [child])
        ]
        # Plain words (any field, no wildcard) are required together in one subset test.
        plain = [c for c in self.flat if isinstance(c, Word) and c.field == "any" and not c.part.prefix]
        self.plain_words = frozenset(c.part.text for c in plain)
        self.others = [c for c in self.flat if c not in plain]
        # Every child's `all_of` words (the plain words among them) are tested in one subset test.
        self.all_of = frozenset().union(*(child.all_of for child in children))
        self.one_of = _needs_one(self.all_of) or _fewest([child.one_of for child in children])
        # Word lists the AND needs one word of each (an OR of words, a NEAR's operand): tested
        # before any child is evaluated, so `(names) AND (topics)` stops at the missing list.
        self.one_of_each = tuple(
            cue.words for cue in dict.fromkeys(cues(self)) if not cue.heads and len(cue.words) > 1
        )
        self.key = _interned("AND(" + ",".join(sorted(child.key for child in self.flat)) + ")")
        self.test_key, self.collect_key = _interned("?" + self.key), _interned("+" + self.key)

    def test(self, doc: Doc) -> bool:
        vocab = doc.vocab
        if not self.all_of <= vocab:
            return False
        for words in self.one_of_each:
            if words.isdisjoint(vocab):
                return False
        if not self.shared:
            return self._all(doc)
        found: bool | None = doc.memo.get(self.test_key)
        if found is None:
            found = doc.memo[self.test_key] = self._all(doc)
        return found

    def _all(self, doc: Doc) -> bool:
        for child in self.others:  # noqa: SIM110 - a plain loop: all() over a generator is slower here
            if not child.test(doc):
                return False
        return True

    def _collect(self, doc: Doc, out: list[Span]) -> None:
        _collect_plain(self.plain_words, doc, out)
        for child in self.others:
            child.collect(doc, out)

    def explain(self, doc: Doc) -> ExplainNode:
        children = tuple(child.explain(doc) for child in self.children)
        return ExplainNode(self.source, "and", all(c.matched for c in children), (), children)


class Or(_Group):
    def __init__(self, children: list[Node], source: str) -> None:
        self.children, self.source = children, source
        self.positional = all(child.positional for child in children)
        # An OR of ORs is one OR (`a OR (b OR c)` is `a OR b OR c`): matching works on the flat
        # list, so every word of the nested groups joins the set operations below.
        self.flat: list[Node] = [
            leaf for child in children for leaf in (child.flat if isinstance(child, Or) else [child])
        ]
        # Plain words (any field, no wildcard) are tested together in one set operation.
        plain = [c for c in self.flat if isinstance(c, Word) and c.field == "any" and not c.part.prefix]
        self.plain_words = frozenset(c.part.text for c in plain)
        self.others = [c for c in self.flat if c not in plain]
        self.all_of = frozenset.intersection(*(child.all_of for child in children))
        ones = [child.one_of for child in children]
        self.one_of = None if None in ones else frozenset().union(*(w for w in ones if w is not None))
        # The other children filed under one word each needs, so that one set intersection with
        # the item's words picks the few that can be true: a large OR of phrases and field words
        # costs what its words present in the item cost, not a call per child. A wildcard word is
        # filed under its first HEAD letters, matched against the items' words' first letters.
        # Children that need no particular word are always candidates.
        self.by_word: dict[str, list[Node]] = {}
        self.by_head: dict[str, list[Node]] = {}
        self.unfiled: list[Node] = []
        for child in self.others:
            needs_one = child.one_of if child.one_of is not None and len(child.one_of) == 1 else None
            word = _one_word(child.all_of) or _one_word(needs_one)
            head = child.part.head if isinstance(child, Word) else None
            if word is not None:
                self.by_word.setdefault(word, []).append(child)
            elif head is not None:
                self.by_head.setdefault(head, []).append(child)
            else:
                self.unfiled.append(child)
        self.filed_words = frozenset(self.by_word)
        self.filed_heads = frozenset(self.by_head)
        self.key = _interned("OR(" + ",".join(sorted(child.key for child in self.flat)) + ")")
        self.test_key = _interned("?" + self.key)
        self.spans_key, self.collect_key = _interned("@" + self.key), _interned("+" + self.key)

    def _candidates(self, doc: Doc) -> list[Node]:
        """The other children that can be true in this item, given its words."""
        vocab = doc.vocab
        found = [
            child
            for word in self.filed_words.intersection(vocab)
            for child in self.by_word[word]
            if child.all_of <= vocab
        ]
        if self.filed_heads:
            found += [
                child for head in self.filed_heads.intersection(doc.heads) for child in self.by_head[head]
            ]
        found += [
            child for child in self.unfiled if child.one_of is None or not child.one_of.isdisjoint(vocab)
        ]
        return found

    def test(self, doc: Doc) -> bool:
        vocab = doc.vocab
        if not self.plain_words.isdisjoint(vocab):
            return True
        if not self.shared:
            return self._any(doc, vocab)
        found: bool | None = doc.memo.get(self.test_key)
        if found is None:
            found = doc.memo[self.test_key] = self._any(doc, vocab)
        return found

    def _any(self, doc: Doc, vocab: set[str | None]) -> bool:
        """`_candidates` as loops that stop at the first true child (the hot path of matching)."""
        for word in self.filed_words.intersection(vocab):
            for child in self.by_word[word]:
                if child.all_of <= vocab and child.test(doc):
                    return True
        if self.filed_heads:
            for head in self.filed_heads.intersection(doc.heads):
                for child in self.by_head[head]:
                    if child.test(doc):
                        return True
        for child in self.unfiled:
            if (child.one_of is None or not child.one_of.isdisjoint(vocab)) and child.test(doc):
                return True
        return False

    def spans(self, doc: Doc) -> list[Span]:
        if not self.shared:
            return self._spans(doc)
        found: list[Span] | None = doc.memo.get(self.spans_key)
        if found is None:
            found = doc.memo[self.spans_key] = self._spans(doc)
        return found

    def _spans(self, doc: Doc) -> list[Span]:
        spans = {(p, p) for word in self.plain_words.intersection(doc.vocab) for p in doc.index[word]}
        spans.update(s for child in self._candidates(doc) for s in child.spans(doc))
        return sorted(spans)

    def _collect(self, doc: Doc, out: list[Span]) -> None:
        _collect_plain(self.plain_words, doc, out)
        for child in self._candidates(doc):
            # A positional child collects only what it found, so it needs no separate test.
            if child.positional or child.test(doc):
                child.collect(doc, out)

    def explain(self, doc: Doc) -> ExplainNode:
        children = tuple(child.explain(doc) for child in self.children)
        return ExplainNode(self.source, "or", any(c.matched for c in children), (), children)


class Not(Node):
    def __init__(self, child: Node, source: str) -> None:
        self.child, self.source = child, source
        self.key = _interned("NOT(" + child.key + ")")

    def test(self, doc: Doc) -> bool:
        return not self.child.test(doc)

    def explain(self, doc: Doc) -> ExplainNode:
        inner = self.child.explain(doc)
        return ExplainNode(self.source, "not", not inner.matched, (), (inner,))


def share_results(roots: Iterable[Node]) -> None:
    """Mark the ANDs and ORs that read the same as another one somewhere in these trees (the same
    word list in two rules, an amount written twice in one), so that they keep their per-item
    results for each other; a result nobody else asks for is not worth the look-up."""
    nodes: list[Node] = []
    todo = list(roots)
    while todo:
        node = todo.pop()
        nodes.append(node)
        if isinstance(node, And | Or):
            todo.extend(node.others)
        elif isinstance(node, Near):
            todo.extend([node.first, *(child for _, child in node.rest)])
        elif isinstance(node, Not):
            todo.append(node.child)
    counts = Counter(node.key for node in nodes)
    for node in nodes:
        node.shared = counts[node.key] > 1


@dataclass(frozen=True)
class Cue:
    """Words (or wildcard heads) of which an item must hold at least one for a node to be true."""

    words: frozenset[str]
    heads: frozenset[str] = frozenset()

    def absent(self, doc: Doc) -> bool:
        if not self.words.isdisjoint(doc.vocab):
            return False
        return not self.heads or self.heads.isdisjoint(doc.heads)


def cues(node: Node) -> list[Cue]:
    """Cues that are all met in every item where `node` is true, for turning a whole rule down
    with a few set tests before any of it is evaluated (most items match no rule). Every word of a
    phrase and every operand of an AND or NEAR is needed, so their cues add up; an OR needs one
    cue of one of its children, so it gets a single cue, the union of each child's smallest one
    (a phrase's longest word).
    NOT, and a wildcard shorter than HEAD letters, need nothing that a set test can see."""
    if isinstance(node, Word | Phrase):
        parts = node.parts if isinstance(node, Phrase) else (node.part,)
        exact = sorted((p.text for p in parts if not p.prefix), key=len, reverse=True)  # rarest first
        return [Cue(frozenset((word,))) for word in exact] + [
            Cue(frozenset(), frozenset((p.head,))) for p in parts if p.head is not None
        ]
    if isinstance(node, Near):
        return [cue for child in (node.first, *(c for _, c in node.rest)) for cue in cues(child)]
    if isinstance(node, And):
        return [cue for child in node.children for cue in cues(child)]
    if isinstance(node, Or):
        smallest: list[Cue] = []
        for child in node.children:
            found = cues(child)
            if not found:
                return []  # a child that needs nothing visible: neither does the OR
            smallest.append(min(found, key=lambda cue: len(cue.words) + len(cue.heads)))
        return [
            Cue(
                frozenset().union(*(c.words for c in smallest)),
                frozenset().union(*(c.heads for c in smallest)),
            )
        ]
    return []


def _interned(key: str) -> str:
    """One string object per distinct key, so that a memo look-up compares by identity, not by
    the characters of a key that can run to thousands for a large OR group."""
    return sys.intern(key)


def _one_word(words: frozenset[str] | None) -> str | None:
    """One of `words` to file a node under: the longest (likely the rarest), the first of equals."""
    return max(sorted(words), key=len) if words else None


def _needs_one(all_of: frozenset[str]) -> frozenset[str] | None:
    """A `one_of` set from an `all_of` set: any one of the words a node needs all of will do."""
    word = _one_word(all_of)
    return None if word is None else frozenset((word,))


def _fewest(choices: list[frozenset[str] | None]) -> frozenset[str] | None:
    """The smallest known `one_of` set among a node's required parts."""
    known = [words for words in choices if words is not None]
    return min(known, key=len) if known else None


def _surfaces(doc: Doc, spans: list[Span]) -> tuple[str, ...]:
    """The distinct texts of `spans`, as written in the item."""
    return doc.surfaces(spans[:MAX_COLLECTED])


def _collect_plain(words: frozenset[str], doc: Doc, out: list[Span]) -> None:
    """Spans of the plain words (any field, no wildcard) of an AND or OR that occur in the item."""
    present = words & doc.vocab
    if present:
        index = doc.index
        for word in present:
            out.extend((p, p) for p in index[word][:MAX_COLLECTED])


def _nearest(doc: Doc, others: list[Span], longest: int, a: Span, distance: int) -> list[Span]:
    """The spans of `others` (sorted; none longer than `longest`) nearest to `a` on each side.

    After: the first span starting at or after a0 (its gap only grows with its start). Before: the
    span starting before a0 that ends latest, found by walking back while a longer span could
    still end later; operand spans are short, so that walk is a step or two.
    """
    a0, a1 = a
    found: list[Span] = []
    i = bisect_left(others, (a0, -1))
    if i < len(others) and doc.same_field(a0, others[i][0]) and others[i][0] - a1 <= distance:
        found.append(others[i])
    best: Span | None = None
    j = i - 1
    while j >= 0 and others[j][0] + longest >= max(a0 - distance, best[1] + 1 if best else 0):
        if not doc.same_field(a0, others[j][0]):
            break
        if best is None or others[j][1] > best[1]:
            best = others[j]
        j -= 1
    if best is not None and a0 - best[1] <= distance:
        found.append(best)
    return found
