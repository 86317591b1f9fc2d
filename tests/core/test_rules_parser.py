"""The rule language's grammar: precedence, grouping, and errors that point at the problem."""

from __future__ import annotations

import random

import pytest

from bot.core.rules import RuleSet, RuleSpec, compile_query
from bot.errors import ConfigError, RuleError


def matches(query: str, title: str, summary: str = "") -> bool:
    return compile_query(query).matches(title, summary)


def error_of(query: str) -> RuleError:
    with pytest.raises(RuleError) as caught:
        compile_query(query)
    return caught.value


# --- precedence and grouping -------------------------------------------------------------------


def test_and_binds_tighter_than_or() -> None:
    query = "alpha OR beta AND gamma"  # alpha OR (beta AND gamma)
    assert matches(query, "alpha")
    assert matches(query, "beta gamma")
    assert not matches(query, "beta")


def test_parentheses_override_precedence() -> None:
    query = "(alpha OR beta) AND gamma"
    assert not matches(query, "alpha")
    assert matches(query, "beta gamma")


def test_not_applies_to_the_next_term_only() -> None:
    query = "NOT alpha AND beta"  # (NOT alpha) AND beta
    assert matches(query, "beta")
    assert not matches(query, "alpha beta")
    assert not matches(query, "gamma")


def test_adjacent_terms_are_joined_by_an_implicit_and() -> None:
    assert matches("bezos fund", "Bezos raises a fund")
    assert not matches("bezos fund", "Bezos raises money")
    assert compile_query("bezos fund").root.explain is not None


def test_near_binds_tighter_than_and() -> None:
    query = "bezos NEAR/2 fund AND singapore"  # (bezos NEAR/2 fund) AND singapore
    assert matches(query, "Bezos fund in Singapore")
    assert not matches(query, "Bezos in Singapore raises a new fund")


def test_operators_are_case_insensitive_and_quotes_make_them_words() -> None:
    assert matches("alpha or beta", "beta")
    assert not matches("alpha and beta", "beta")
    assert matches('"and"', "this and that")


def test_nested_groups_evaluate_inside_out() -> None:
    query = "((alpha OR beta) AND (gamma OR delta)) OR epsilon"
    assert matches(query, "beta delta")
    assert matches(query, "epsilon")
    assert not matches(query, "alpha beta")


# --- errors with positions ---------------------------------------------------------------------


def test_empty_query_is_refused_at_position_zero() -> None:
    for query in ("", "   "):
        error = error_of(query)
        assert error.position == 0
        assert "word" in error.expected


def test_unclosed_parenthesis_is_reported_at_the_end() -> None:
    error = error_of("(bezos OR bajaj")
    assert error.position == len("(bezos OR bajaj")
    assert "')'" in error.expected and "position 0" in error.expected


def test_unmatched_closing_parenthesis_is_reported_where_it_stands() -> None:
    error = error_of("bezos OR bajaj) AND fund")
    assert error.position == 14
    assert "no matching '('" in error.expected


def test_dangling_operator_is_reported_after_it() -> None:
    assert error_of("bezos AND").position == 9
    assert "after AND" in error_of("bezos AND").expected
    assert error_of("bezos OR OR bajaj").position == 9
    assert error_of("AND bezos").position == 0
    assert error_of("bezos NOT").position == 9


def test_empty_group_is_refused_at_the_closing_parenthesis() -> None:
    assert error_of("bezos AND ()").position == 11


def test_unterminated_quote_points_at_the_opening_quote() -> None:
    error = error_of('bezos AND "project prometheus')
    assert error.position == 10
    assert "closing quote" in error.expected


def test_empty_phrase_is_refused() -> None:
    assert error_of('bezos ""').position == 6


@pytest.mark.parametrize(
    ("query", "position"),
    [
        ("bezos NEAR/ fund", 11),
        ("bezos NEAR/x fund", 11),
        ("bezos NEAR/0 fund", 11),
        ("bezos NEAR/1000 fund", 11),
        ("bezos NEAR/-3 fund", 11),
    ],
)
def test_bad_near_distance_is_refused_at_the_number(query: str, position: int) -> None:
    error = error_of(query)
    assert error.position == position
    assert "1 to 100" in error.expected


def test_near_needs_words_or_phrases_on_both_sides() -> None:
    error = error_of("bezos NEAR/5 (fund AND singapore)")
    assert error.position == 13
    assert "NEAR" in error.expected
    assert error_of("bezos NEAR/5 NOT fund").position == 13
    assert error_of("bezos NEAR/5").position == 12


def test_unknown_field_is_refused_at_its_name() -> None:
    error = error_of("bezos AND body:fund")
    assert error.position == 10
    assert "title" in error.expected and "summary" in error.expected


def test_field_without_a_term_is_refused() -> None:
    assert error_of("title: AND bezos").position == 7
    assert error_of("title:").position == 6


def test_misplaced_wildcards_are_refused() -> None:
    assert error_of("*facture").position == 0
    assert error_of("manu*facture").position == 4
    assert error_of("bezos AND a*").position == 10  # one letter matches nearly everything


def test_error_message_shows_the_query_and_a_caret() -> None:
    message = str(error_of("bezos AND"))
    assert "at position 9" in message
    assert message.endswith("bezos AND\n         ^")


def test_ruleset_compile_names_the_rule_that_does_not_parse() -> None:
    with pytest.raises(RuleError) as caught:
        RuleSet.compile([RuleSpec("good", "bezos"), RuleSpec("broken", "(bezos")])
    assert caught.value.rule == "broken"
    assert "'broken'" in str(caught.value)
    assert caught.value.position == 6


def test_duplicate_rule_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="duplicate"):
        RuleSet.compile([RuleSpec("same", "bezos"), RuleSpec("same", "bajaj")])


# --- hostile queries ---------------------------------------------------------------------------


def test_deep_nesting_is_refused_instead_of_exhausting_the_stack() -> None:
    query = "(" * 2000 + "bezos" + ")" * 2000
    error = error_of(query)
    assert "nested" in error.expected
    error = error_of("NOT " * 2000 + "bezos")
    assert "nested" in error.expected


def test_nesting_within_the_limit_parses() -> None:
    assert matches("(" * 30 + "bezos" + ")" * 30, "Bezos")


def test_a_long_flat_query_parses_and_matches() -> None:
    words = [f"term{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(600)]
    query = " OR ".join(words)
    assert matches(query, f"nothing here but {words[-1]}")
    assert not matches(query, "nothing here")


def test_an_overlong_query_is_refused() -> None:
    error = error_of("bezos OR " * 2000)
    assert error.position == 10_000


def test_random_queries_either_compile_or_raise_rule_error() -> None:
    alphabet = [
        '"',
        "(",
        ")",
        "*",
        ":",
        "/",
        " ",
        "AND",
        "OR",
        "NOT",
        "NEAR",
        "NEAR/3",
        "title",
        "é",
        "a",
        "b1",
        "-",
    ]
    rng = random.Random(1234)
    for _ in range(3000):
        query = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        try:
            compiled = compile_query(query)
        except RuleError as error:
            assert 0 <= error.position <= len(query)
            continue
        compiled.matches("a b1 title é", "AND OR a")  # whatever compiles also evaluates
