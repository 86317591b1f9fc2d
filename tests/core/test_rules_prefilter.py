"""The shortcuts in bot.core.rules.nodes only skip work: a query's cues (words it cannot be true
without, tested before its tree), the word pre-checks (`all_of` / `one_of`, an OR's
children filed by word or by a wildcard's first letters), the per-item results shared between nodes
that read the same, and the flattening of nested ORs and ANDs. A rule matches the same items, with
the same terms, as with every child evaluated and nothing shared, and as `explain` (which evaluates
the tree as written) says."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import load_config
from bot.core.rules import RuleSet, RuleSpec, compile_query
from bot.core.rules.nodes import And, Near, Node, Not, Or
from bot.core.rules.ruleset import CompiledQuery
from bot.core.rules.text import Doc
from tests.paths import DATA, ROOT


def without_prechecks(node: Node) -> None:
    """Turn the pre-checks off in a compiled tree: every AND and OR child is evaluated again."""
    node.all_of, node.one_of = frozenset(), None
    # A key of its own: no result is shared with another node that reads the same.
    node.key = f"{id(node)}"
    for name in ("test_key", "spans_key", "collect_key"):
        if hasattr(node, name):
            setattr(node, name, f"{name}{id(node)}")
    if isinstance(node, And):
        node.all_of = node.plain_words  # what the original subset test checked
        node.one_of_each = ()
    if isinstance(node, Or):
        node.by_word, node.filed_words, node.unfiled = {}, frozenset(), list(node.others)
        node.by_head, node.filed_heads = {}, frozenset()
    children: list[Node] = []
    if isinstance(node, And | Or):
        children = node.flat
    elif isinstance(node, Near):
        children = [node.first, *(child for _, child in node.rest)]
    elif isinstance(node, Not):
        children = [node.child]
    for child in children:
        without_prechecks(child)


def both(query: str, lists: Mapping[str, str] | None = None) -> tuple[CompiledQuery, CompiledQuery]:
    plain = compile_query(query, lists)
    without_prechecks(plain.root)
    return compile_query(query, lists), replace(plain, cues=())


def verdicts(query: CompiledQuery, title: str, summary: str) -> tuple[bool, tuple[str, ...]]:
    doc = Doc.of(title, summary)
    matched = query.test(doc)
    return matched, query.terms(doc) if matched else ()


WORDS = ["alpha", "beta", "gamma", "delta", "alphabet", "ベゾス", "ファンド"]
TERMS = [*WORDS, "al*", "gam*", "alph*", '"alpha beta"', '"beta gam*"', '"ベゾス ファンド"', '"gamma"']


@st.composite
def queries(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 3 or draw(st.booleans()):
        term = draw(st.sampled_from(TERMS))
        field = draw(st.sampled_from(["", "", "title:", "summary:", "lead:"]))
        return f"{field}{term}"
    kind = draw(st.sampled_from(["AND", "OR", "NOT", "NEAR", "group"]))
    left, right = draw(queries(depth + 1)), draw(queries(depth + 1))
    if kind == "NOT":
        return f"({left} NOT {right})"
    if kind == "NEAR":
        near = draw(st.sampled_from(TERMS))
        group = " OR ".join(draw(st.lists(st.sampled_from(TERMS), min_size=1, max_size=3)))
        return f"({near} NEAR/{draw(st.integers(1, 4))} ({group}))"
    if kind == "group":
        return f"lead:({left} OR {right})"
    return f"({left} {kind} {right})"


texts = st.lists(st.sampled_from([*WORDS, "other", "words", ".", "。"]), max_size=12).map(" ".join)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(queries(), texts, texts)
def test_prechecks_change_no_verdict_and_no_terms(query: str, title: str, summary: str) -> None:
    fast, plain = both(query)
    assert verdicts(fast, title, summary) == verdicts(plain, title, summary)
    explained = RuleSet.compile([RuleSpec("r", query)]).explain(title, summary)[0]
    assert explained.matched == verdicts(fast, title, summary)[0]
    # Through RuleSet.match, which also tries the set's own cue first.
    matched = RuleSet.compile([RuleSpec("r", query)]).match(title, summary)
    assert (bool(matched), matched[0].terms if matched else ()) == verdicts(plain, title, summary)


@pytest.mark.slow
def test_the_shipped_rules_give_the_same_verdicts_and_terms_on_the_labelled_set() -> None:
    config = load_config(ROOT / "config")
    rules = [{"name": rule.name, "query": rule.query} for rule in config.rules]
    lines = (DATA / "labelled_items.jsonl").read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines if line.strip()]
    explained = RuleSet.compile([RuleSpec(rule["name"], rule["query"]) for rule in rules], config.rule_lists)
    for item in items:
        verdict = {e.rule: e.matched for e in explained.explain(item["title"], item["summary"])}
        matched = {m.rule for m in explained.match(item["title"], item["summary"])}
        assert matched == {rule for rule, hit in verdict.items() if hit}, item["id"]
    for rule in rules:
        fast, plain = both(rule["query"], config.rule_lists)
        for item in items:
            title, summary = item["title"], item["summary"]
            assert verdicts(fast, title, summary) == verdicts(plain, title, summary), (
                rule["name"],
                item["id"],
            )


def test_a_big_or_evaluates_only_the_children_whose_words_are_there() -> None:
    query = compile_query('lead:(alpha OR "beta gamma" OR delta*) OR title:epsilon')
    assert isinstance(query.root, Or)
    # The nested group is flattened into the outer OR, each child filed under a word it needs.
    assert query.root.filed_words == {"alpha", "gamma", "epsilon"}  # a phrase under its longest word
    assert query.root.filed_heads == {"delt"}  # a wildcard under its first four letters
    assert compile_query("(al* OR beta) AND gamma").root.flat[0].unfiled  # too short to file
    assert query.matches("x", "deltas here")
    assert query.matches("beta gamma", "")
    assert not query.matches("gamma beta", "")
    assert not query.matches("x", "y. epsilon")
    assert compile_query("(alpha OR beta) AND gamma").root.all_of == {"gamma"}
    assert compile_query('"alpha beta" NEAR/3 gamma').root.all_of == {"alpha", "beta", "gamma"}


def test_a_query_is_turned_down_by_its_cues_only_when_it_cannot_be_true() -> None:
    query = compile_query('(alpha OR "beta gamma" OR delta*) AND NOT epsilon AND zeta NEAR/2 eta')
    cues = {(tuple(sorted(cue.words)), tuple(sorted(cue.heads))) for cue in query.cues}
    # The OR: one cue from each child (a phrase's longest word, a wildcard's first four letters);
    # NEAR and AND: every operand's; NOT: nothing.
    assert cues == {(("alpha", "gamma"), ("delt",)), (("zeta",), ()), (("eta",), ())}
    assert query.matches("deltas zeta eta", "")
    assert not query.matches("deltas zeta", "eta")
    assert not compile_query("NOT alpha OR beta").cues  # NOT alpha needs no word
    assert not compile_query("al* OR beta").cues  # too short for a head


def test_a_rule_set_turns_an_item_down_at_once_only_when_no_rule_can_fire() -> None:
    rules = RuleSet.compile([RuleSpec("a", "alpha AND beta"), RuleSpec("b", '"gamma delta" OR epsil*')])
    assert rules.match("beta", "") == []
    assert [m.rule for m in rules.match("alpha beta", "gamma delta")] == ["a", "b"]
    assert [m.rule for m in rules.match("x", "epsilons")] == ["b"]
    # A rule that needs no word (NOT) can fire on any item: no shortcut for the set.
    with_not = RuleSet.compile([RuleSpec("a", "alpha"), RuleSpec("n", "NOT alpha")])
    assert [m.rule for m in with_not.match("nothing here", "")] == ["n"]
