"""Named word lists in the rule language: `@name` is the list's query, parsed where it stands."""

from __future__ import annotations

import pytest

from bot.core.rules import RuleSet, RuleSpec, compile_query, format_explanation
from bot.core.rules.parser import MAX_EXPANDED_TOKENS
from bot.errors import RuleError

LISTS = {
    "bezos": 'Bezos OR "Amazon founder" OR ベゾス',
    "fund_words": "fund OR vehicle OR pool",
    "bezos_fund": "@bezos NEAR/4 @fund_words",
    "loop": "loop OR @loop",
    "ring_a": "a OR @ring_b",
    "ring_b": "b OR @ring_a",
}
ITEMS = [
    ("Bezos fund buys a toolmaker", ""),
    ("Markets", "The Amazon founder is raising a vehicle for factories."),
    ("Amazon founder speaks", "He talked about rockets, then a fund."),
    ("ベゾス氏のファンド", ""),
    ("Fund news", "Nothing about him at all."),
]


@pytest.mark.parametrize(
    ("with_lists", "written_out"),
    [
        ("@bezos AND @fund_words", '(Bezos OR "Amazon founder" OR ベゾス) AND (fund OR vehicle OR pool)'),
        ("lead:@bezos", 'lead:(Bezos OR "Amazon founder" OR ベゾス)'),
        (
            "title:@bezos NOT summary:@fund_words",
            'title:(Bezos OR "Amazon founder" OR ベゾス) NOT summary:(fund OR vehicle OR pool)',
        ),
        ("@bezos_fund", '(Bezos OR "Amazon founder" OR ベゾス) NEAR/4 (fund OR vehicle OR pool)'),
        (
            "@bezos NEAR/4 @fund_words",
            '(Bezos OR "Amazon founder" OR ベゾス) NEAR/4 (fund OR vehicle OR pool)',
        ),
    ],
)
def test_a_list_means_its_query_written_out_in_brackets(with_lists: str, written_out: str) -> None:
    listed, plain = compile_query(with_lists, LISTS), compile_query(written_out)
    verdicts = [(listed.matches(*item), plain.matches(*item)) for item in ITEMS]
    assert all(a == b for a, b in verdicts), verdicts
    assert any(a for a, _ in verdicts) and not all(a for a, _ in verdicts)  # the items tell them apart


def test_a_rule_set_evaluates_a_shared_list_once_and_reports_its_terms() -> None:
    ruleset = RuleSet.compile(
        [RuleSpec("one", "lead:@bezos AND @fund_words"), RuleSpec("two", "lead:@bezos AND factories")], LISTS
    )
    matches = ruleset.match("Markets", "The Amazon founder is raising a vehicle for factories.")
    assert [(m.rule, m.terms) for m in matches] == [
        ("one", ("Amazon founder", "vehicle")),
        ("two", ("Amazon founder", "factories")),
    ]
    explanation = format_explanation(ruleset.explain("Bezos fund", ""))
    assert "@bezos" in explanation and "@fund_words" in explanation


@pytest.mark.parametrize(
    ("query", "position", "expected"),
    [
        ("Bezos AND @nope", 10, "a list defined beside the rules"),
        ("@loop", 0, "does not use itself"),
        ("@ring_a", 0, "does not use itself"),
        ("Bezos OR @Bad", 9, "a list name after '@'"),
        ("title:@", 6, "a list name after '@'"),
    ],
)
def test_a_bad_list_reference_is_a_clear_error_at_its_position(
    query: str, position: int, expected: str
) -> None:
    with pytest.raises(RuleError) as caught:
        compile_query(query, LISTS)
    assert caught.value.position == position and expected in caught.value.expected, caught.value


def test_without_lists_a_reference_is_an_unknown_list() -> None:
    with pytest.raises(RuleError, match="none are defined"):
        compile_query("@bezos")


def test_lists_that_multiply_each_other_are_capped() -> None:
    # Each level uses the one below ten times: 10**6 words written out, from a few short lists.
    lists = {"l0": "w", **{f"l{i}": " OR ".join([f"@l{i - 1}"] * 10) for i in range(1, 7)}}
    with pytest.raises(RuleError, match=f"at most {MAX_EXPANDED_TOKENS:,}"):
        compile_query("@l6", lists)
