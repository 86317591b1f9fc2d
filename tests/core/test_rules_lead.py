"""The `lead:` field: the title and the summary's first sentence (capped at 20 words)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.rules import Doc, RuleSet, RuleSpec, compile_query, format_explanation
from bot.core.rules.text import LEAD_WORDS, first_sentence_end
from bot.core.rules.text import lead_words as summary_lead_words
from bot.errors import RuleError


def matches(query: str, title: str, summary: str = "") -> bool:
    return compile_query(query).matches(title, summary)


def lead_words(title: str, summary: str) -> list[str | None]:
    doc = Doc.of(title, summary)
    return [t for pos, t in enumerate(doc.tokens) if doc.in_field(pos, "lead")]


PASSING_MENTION = (
    "Factory orders rose 3% in October as automakers restocked. Analysts expect more. "
    "Separately, Jeff Bezos's Project Prometheus was also mentioned."
)


def test_lead_matches_in_the_title() -> None:
    assert matches("lead:Bezos", "Bezos raises a fund", PASSING_MENTION)


def test_lead_matches_in_the_summarys_first_sentence() -> None:
    assert matches("lead:Bezos", "AI news", "Jeff Bezos's new AI company hires. It builds factories.")
    assert matches('lead:"Project Prometheus"', "AI news", "Project Prometheus hires. More later.")
    assert matches("lead:(fund OR Prometheus)", "AI news", "Bezos's Prometheus hires. More later.")


def test_lead_misses_a_passing_mention_later_in_the_summary() -> None:
    assert not matches("lead:Bezos", "Factory orders rise", PASSING_MENTION)
    assert not matches('lead:"Project Prometheus"', "Factory orders rise", PASSING_MENTION)
    assert matches("Bezos", "Factory orders rise", PASSING_MENTION)  # any field still finds it
    assert matches("summary:Bezos", "Factory orders rise", PASSING_MENTION)


def test_abbreviations_initials_and_numbers_do_not_end_the_first_sentence() -> None:
    summary = (
        "Mr. Bezos told U.S. officials at 9 a.m. that the $6.2 bn. venture, No. 1, buys factories. Then more."
    )
    assert matches("lead:factories", "News", summary)
    assert not matches("lead:more", "News", summary)
    assert matches("lead:Bezos", "News", "Amazon.com Inc. founder Jeff Bezos spoke. Nothing else.")
    assert matches("lead:Bezos", "News", "Prof. J. Bezos spoke. Nothing else.")


def test_sentence_ends_with_quotes_questions_and_other_scripts() -> None:
    assert first_sentence_end('He said "we will." Then', 100) == len('He said "we will."')
    assert first_sentence_end("Is it? Yes.", 100) == len("Is it?")
    assert first_sentence_end("“Why?” she asked. Then", 100) == len("“Why?” she asked.")
    assert first_sentence_end("Up 6.2 percent", 100) is None
    assert first_sentence_end("e.g. the fund", 100) is None
    assert not matches("lead:ファンド", "ニュース", "ベゾス氏が新会社を設立した。ファンドも計画。")
    assert matches("lead:ベゾス", "ニュース", "ベゾス氏が新会社を設立した。ファンドも計画。")
    assert not matches(
        "lead:ファンド", "ニュース", "ベゾス氏が発表！ファンドも"
    )  # no space after "！" in CJK
    assert not matches("lead:फंड", "समाचार", "जेफ बेजोस ने कंपनी शुरू की। फंड भी।")
    assert matches("lead:बेजोस", "समाचार", "जेफ बेजोस ने कंपनी शुरू की। फंड भी।")


def test_a_summary_without_a_sentence_break_has_a_capped_lead() -> None:
    words = [f"w{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(200)]
    summary = " ".join(words)
    lead = lead_words("Title", summary)
    assert lead == ["title", *words[:LEAD_WORDS]]
    assert matches(f"lead:{words[LEAD_WORDS - 1]}", "Title", summary)
    assert not matches(f"lead:{words[LEAD_WORDS]}", "Title", summary)


def test_the_cap_counts_cjk_characters_as_a_third_of_a_word() -> None:
    summary = "あ" * 500
    assert len(lead_words("", summary)) == 3 * LEAD_WORDS


def test_an_empty_summary_leaves_the_title_as_the_lead() -> None:
    assert lead_words("Bezos fund", "") == ["bezos", "fund"]
    assert matches("lead:fund", "Bezos fund", "")


def test_a_phrase_must_lie_wholly_inside_the_lead() -> None:
    summary = "Bezos spoke about the project. Prometheus came later."
    assert not matches('lead:"project Prometheus"', "News", summary)
    assert matches('"project Prometheus"', "News", summary)  # elsewhere a sentence end is no barrier


def test_near_inside_the_lead_measures_within_one_field() -> None:
    assert matches("lead:(Bezos NEAR/3 fund)", "News", "Bezos plans a fund. Later news.")
    assert not matches("lead:(Bezos NEAR/3 fund)", "News", "Bezos spoke. A fund came later.")
    # Title and summary are different fields for NEAR, lead or not.
    assert not matches("lead:Bezos NEAR/3 lead:fund", "News about Bezos", "fund news today.")
    assert matches("lead:Bezos AND lead:fund", "News about Bezos", "fund news today.")


def test_explain_shows_the_field_and_what_lay_outside_it() -> None:
    ruleset = RuleSet.compile([RuleSpec("lead", "lead:Bezos AND lead:(fund OR Prometheus)")])
    text = format_explanation(ruleset.explain("Factory orders rise", PASSING_MENTION))
    assert text.splitlines() == [
        "rule lead: no match",
        "  ✗ lead:Bezos AND lead:(fund OR Prometheus)",
        '    ✗ lead:Bezos  found outside the lead: "Bezos\'s"',
        "    ✗ lead:(fund OR Prometheus)",
        "      ✗ fund [lead]",
        "      ✗ Prometheus [lead]  found outside the lead: 'Prometheus'",
    ]
    explanation = ruleset.explain("Bezos fund", "")[0]
    assert explanation.matched
    assert explanation.root.children[0].field == "lead"


def test_the_field_name_is_case_insensitive_and_errors_list_lead() -> None:
    assert matches("LEAD:Bezos", "Bezos", "")
    with pytest.raises(RuleError) as caught:
        compile_query("bezos AND body:fund")
    assert "lead" in caught.value.expected
    with pytest.raises(RuleError) as caught:
        compile_query("lead: AND bezos")
    assert caught.value.position == 6


def test_hostile_runs_of_stops_and_quotes_stay_linear() -> None:
    # Each of these took quadratic time in a naive sentence-end regex (hours at this size).
    assert matches("lead:x", "t", "." * 200_000 + "x")
    assert matches("lead:x", "t", "!" + "'" * 200_000 + "x")
    assert not matches("lead:x", "t", "e.g. " * 40_000 + "x")  # past the cap


PIECES = ["Mr.", "Bezos", "said.", "U.S.", "e.g.", "the", "fund", "6.2", "bn.", '"we', 'will."', "Then", "?"]
PIECES += [
    "!",
    "...",
    "…",
    ")",
    "x.",
    "Inc.",
    "No.",
    '"Why?"',
    "she",
    "。",
    "ok",
    ".",
    "J.",
    "베이조스",
    "बेजोस।",
]


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=LEAD_WORDS + 10).map(" ".join))
def test_the_lead_of_a_short_summary_is_counted_without_word_spans(summary: str) -> None:
    # Doc counts the lead of a summary of at most LEAD_WORDS words and no CJK from its sentence
    # ends alone (and stops looking at the first stop when it is the last); same answer as spans.
    doc = Doc.of("Title", summary)
    spans = doc.spans[doc.boundary + 1 :]
    assert doc.lead_end == doc.boundary + 1 + summary_lead_words(doc.summary, spans)


def test_a_name_after_the_twentieth_summary_word_is_a_passing_mention() -> None:
    query = 'lead:"Project Prometheus"'
    late = (
        "The space company is cutting about 1,400 jobs to focus on its rockets and landers; the cuts"
        " come as Bezos devotes more attention to Project Prometheus."
    )
    early = "The company said Project Prometheus will open an office in London next year."
    assert not matches(query, "Blue Origin lays off 10% of its workforce", late)
    assert matches(query, "Bezos's AI start-up expands", early)
    assert matches(query, "Project Prometheus opens London office", late)  # the title is all lead
