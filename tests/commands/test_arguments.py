"""Command text parsing and FTS quoting: pure functions, literal inputs."""

from __future__ import annotations

import sqlite3

import pytest

from bot.commands.arguments import after_words, fts_query, parse_command, split_words, take_option


def test_subcommand_action_args_and_options_are_separated() -> None:
    cmd = parse_command("  Feeds ADD https://x.example/rss --interval 10m  Example   News ")
    assert (cmd.name, cmd.action) == ("feeds", "add")
    assert cmd.args == ("https://x.example/rss", "Example", "News")
    assert cmd.options == {"interval": "10m"}
    assert cmd.raw == "https://x.example/rss --interval 10m  Example   News"


def test_quotes_group_words_and_option_equals_form_works() -> None:
    cmd = parse_command('search "Vik Bajaj" “co-CEO role” --page=2')
    assert cmd.args == ("Vik Bajaj", "co-CEO role")
    assert cmd.options == {"page": "2"}


def test_apostrophe_inside_a_word_is_a_letter_not_a_quote() -> None:
    words, error = split_words("it's Bezos's fund")
    assert [w for w, _ in words] == ["it's", "Bezos's", "fund"]
    assert error is None


def test_unclosed_quote_is_reported_but_words_are_still_split() -> None:
    cmd = parse_command('search Bezos "Project Prometheus')
    assert cmd.args == ("Bezos", "Project Prometheus")
    assert cmd.quote_error is not None and "never closed" in cmd.quote_error


def test_empty_text_parses_to_empty_name() -> None:
    assert parse_command("   ").name == ""


def test_non_group_subcommands_have_no_action() -> None:
    cmd = parse_command("latest 5 prometheus")
    assert cmd.action == "" and cmd.args == ("5", "prometheus")


def test_take_option_keeps_the_text_before_it_verbatim() -> None:
    assert take_option('"Project Prometheus" OR Bajaj --text "Bezos backs it"', "text") == (
        '"Project Prometheus" OR Bajaj',
        "Bezos backs it",
    )
    assert take_option("no option here", "text") == ("no option here", None)


def test_after_words_drops_leading_words_only() -> None:
    assert after_words('fund  "manufacturing fund" AND Bezos', 1) == '"manufacturing fund" AND Bezos'
    assert after_words("one", 1) == ""


HOSTILE = [
    '"', "'", "AND", "OR", "NOT", "NEAR", "*", "c++", "python-dev", "it's", "(", ")", "a AND (b",
    'say "hi', "^start", "col:value", "NEAR(a b)", "-x", "a* b*", '""', "\\", "‘quote’", "🚀 launch",
]  # fmt: skip


@pytest.mark.parametrize("text", HOSTILE)
def test_fts_query_never_makes_sqlite_raise(text: str) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(title)")
    conn.execute("INSERT INTO t VALUES ('Bezos launches Project Prometheus AND more c++ python-dev news')")
    query = fts_query(split_words(text)[0] and [w for w, _ in split_words(text)[0]])
    if query is not None:
        conn.execute("SELECT rowid FROM t WHERE t MATCH ?", [query]).fetchall()


def test_fts_query_is_none_without_letters_or_digits() -> None:
    assert fts_query(["*", "(", '"']) is None
    assert fts_query([]) is None


def test_fts_query_requires_every_word() -> None:
    assert fts_query(["Vik Bajaj", "fund"]) == '"Vik Bajaj" "fund"'
    assert fts_query(['say "hi']) == '"say ""hi"'
