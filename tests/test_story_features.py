"""Feature extraction and signatures for near-duplicate stories (bot.story, pure)."""

from __future__ import annotations

from bot.story import (
    AMOUNT_WEIGHT,
    NAME_WEIGHT,
    StoryFeatures,
    amounts_conflict,
    band_keys,
    is_same_story,
    minhash,
    similarity,
    story_features,
    story_text,
)


def test_amounts_written_differently_are_one_token() -> None:
    spelled = story_features("Prometheus raises $6.2 billion").combined
    short = story_features("Prometheus raises $6.2bn").combined
    letter = story_features("Prometheus raises $6.2B").combined
    assert "#6.2e+09" in spelled and spelled.keys() == short.keys() == letter.keys()
    assert spelled["#6.2e+09"] == AMOUNT_WEIGHT


def test_amounts_match_to_two_significant_figures_and_years_are_words() -> None:
    a = story_features("Nvidia revenue hits $57.01 billion in 2025").combined
    b = story_features("Nvidia revenue hits $57 billion").combined
    assert "#5.7e+10" in a and "#5.7e+10" in b
    assert "2025" in a and "#2025" not in a


def test_outlet_suffix_and_reporting_words_are_not_features() -> None:
    features = story_features("Bezos's Prometheus buys General Agentics, Wired reports - Reuters").combined
    assert not {"reuter", "reuters", "wired", "report", "reports"} & features.keys()
    assert "bezo" in features  # possessive removed before stemming


def test_lead_is_only_the_first_sentence() -> None:
    headline, lead = story_text(
        "Prometheus hires a physics lead - Reuters",
        "First sentence about Bajaj. Second about Kirillov.",
        "Reuters",
    )
    assert headline == "Prometheus hires a physics lead" and lead == "First sentence about Bajaj."


def test_mid_sentence_capitals_are_names_but_title_case_is_not_evidence() -> None:
    sentence = story_features("Project Prometheus hires former Tesla executive").headline
    title_case = story_features("Project Prometheus Hires Former Tesla Executive").headline
    assert sentence["tesla"] == NAME_WEIGHT
    assert title_case["tesla"] == 1


def test_synonyms_fold_together() -> None:
    a = story_features("Prometheus to buy aerospace parts maker").combined
    b = story_features("Prometheus acquires aircraft component supplier").combined
    assert {"acquire", "aero", "part", "maker"} <= a.keys() & b.keys()


def test_signatures_are_deterministic_and_bands_cover_the_signature() -> None:
    features = story_features("Bezos's Project Prometheus to buy aerospace parts maker").combined
    assert minhash(features) == minhash(dict(features))
    keys = band_keys(minhash(features))
    assert len(keys) == 48 and len(set(keys)) == 48


def test_identical_reports_are_the_same_story_and_json_round_trips() -> None:
    f = story_features("Bezos's Project Prometheus to buy aerospace parts maker", "For about $1.1 billion.")
    assert similarity(f.combined, f.combined) == 1.0
    assert is_same_story(f, StoryFeatures.from_json(f.to_json()))


def test_a_headline_amount_the_other_report_never_mentions_means_another_event() -> None:
    talks = story_features("Prometheus in talks for funding at $50 billion valuation")
    closed = story_features("Prometheus raises $8 billion at $50 billion valuation")
    assert amounts_conflict(talks, closed)
    assert not amounts_conflict(closed, story_features("Prometheus gets $8bn at a $50bn valuation"))


def test_too_little_text_is_never_grouped() -> None:
    short = story_features("Markets wrap")
    assert not is_same_story(short, short)
