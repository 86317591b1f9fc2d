"""Event features of a report and the same-event verdict (bot.core.story, pure)."""

from __future__ import annotations

from bot.core.story import (
    AMOUNT_WEIGHT,
    NAME_WEIGHT,
    StoryFeatures,
    amounts_conflict,
    index_keys,
    is_same_story,
    judge,
    similarity,
    story_features,
    story_text,
)


def test_amounts_written_differently_are_one_token() -> None:
    spelled = story_features("Prometheus raises $8.5 billion").combined
    short = story_features("Prometheus raises $8.5bn").combined
    letter = story_features("Prometheus raises $8.5B").combined
    assert "#8.5e+09" in spelled and spelled.keys() == short.keys() == letter.keys()
    assert spelled["#8.5e+09"] == AMOUNT_WEIGHT


def test_amounts_match_to_two_significant_figures_and_years_are_words() -> None:
    a = story_features("Nvidia revenue hits $57.01 billion in 2025").combined
    b = story_features("Nvidia revenue hits $57 billion").combined
    assert "#5.7e+10" in a and "#5.7e+10" in b
    assert "2025" in a and "#2025" not in a


def test_outlet_suffix_and_reporting_words_are_not_features() -> None:
    features = story_features("Bezos's Prometheus buys General Agentics, Wired reports - Reuters").combined
    assert not {"reuter", "reuters", "wired", "report", "reports"} & features.keys()


def test_the_company_its_founders_and_their_descriptors_are_no_evidence() -> None:
    features = story_features(
        "Bezos-backed Project Prometheus, co-led by Vik Bajaj, opens Munich office",
        "The $6.2 billion AI startup, which the Amazon founder co-runs, will hire 200 engineers there.",
    ).combined
    assert (
        not {"bezo", "prometheu", "project", "vik", "bajaj", "amazon", "founder", "#6.2e+09"}
        & features.keys()
    )
    assert {"munich", "office", "#n200"} <= features.keys()


def test_appositives_are_cut_but_the_event_stays() -> None:
    headline, _ = story_text(
        "Project Prometheus, the AI startup co-led by Jeff Bezos, buys Kessler Werkzeug", ""
    )
    features = story_features(headline).headline
    assert "startup" not in features and {"acquire", "kessler", "werkzeug"} <= features.keys()


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


def test_identical_reports_are_the_same_story_and_json_round_trips() -> None:
    f = story_features("Bezos's Project Prometheus to buy aerospace parts maker", "For about $1.1 billion.")
    assert similarity(f.combined, f.combined) == 1.0
    assert StoryFeatures.from_json(f.to_json()) == f
    assert is_same_story(f, StoryFeatures.from_json(f.to_json()))
    assert set(index_keys(f)) == set(f.combined)


def test_a_headline_amount_the_other_report_never_mentions_means_another_event() -> None:
    talks = story_features("Prometheus in talks for funding at $50 billion valuation")
    closed = story_features("Prometheus raises $8 billion at $50 billion valuation")
    assert amounts_conflict(talks, closed)
    assert not amounts_conflict(closed, story_features("Prometheus gets $8bn at a $50bn valuation"))


def test_a_share_price_move_is_the_markets_reaction_not_the_events_amount() -> None:
    stake = story_features("Bezos's Prometheus buys 9.8% stake in Japanese machine tool maker Okabe Seiki")
    reaction = story_features("Okabe Seiki shares jump 20% as Bezos-backed AI firm takes 9.8% stake")
    assert "#n20%" in reaction.headline and "#9.8%" in reaction.headline
    assert not amounts_conflict(stake, reaction)
    # The stakes themselves still tell events apart.
    assert amounts_conflict(
        stake, story_features("Prometheus takes 15% stake in Okabe Seiki, shares jump 20%")
    )


def test_sealing_a_deal_is_agreeing_it_not_closing_it() -> None:
    assert story_features("Bezos-Backed Fund Seals €3.1 Billion Ferrante Deal").stages == ("agreed",)
    assert story_features("Bezos fund completes €3.1 billion Ferrante purchase").stages == ("done",)


def test_a_report_about_the_company_and_one_about_someone_else_are_different_events() -> None:
    ours = story_features("Bezos's Prometheus signs GE Aerospace deal to use AI in jet engine design")
    theirs = story_features("GE Aerospace, Microsoft partner on AI for jet engine design")
    verdict = judge(ours, theirs)
    assert not verdict.same and "subject" in verdict.reason


def test_a_rejection_is_a_later_stage_than_the_approach_it_mentions() -> None:
    weighs = story_features("Bezos's Prometheus weighs bid for chip equipment maker Onto Innovation")
    rejects = story_features("Onto Innovation rejects approach from Bezos's Project Prometheus")
    assert weighs.stages == ("talks",) and rejects.stages == ("declined",)
    assert not judge(weighs, rejects).same


def test_reports_in_other_languages_give_the_same_concepts_and_amounts() -> None:
    english = story_features("Project Prometheus buys German toolmaker Kessler for $1.2 billion")
    german = story_features(
        "Bezos-Start-up Project Prometheus übernimmt Werkzeugmaschinenhersteller Kessler für 1,2 Milliarden Dollar"
    )
    chinese = story_features("贝索斯的普罗米修斯计划以12亿美元收购德国机床制造商Kessler")
    for other in (german, chinese):
        assert {"acquire", "#1.2e+09", "kessler"} <= other.combined.keys() & english.combined.keys()
        assert other.about_subject
    assert judge(english, german).same and judge(english, chinese).same


def test_wire_prefixes_are_not_part_of_the_headline() -> None:
    assert (
        story_text("UPDATE 2-Prometheus buys Kessler - Reuters", "", "Reuters")[0]
        == "Prometheus buys Kessler"
    )


def test_different_events_in_the_same_boilerplate_are_kept_apart() -> None:
    office = story_features(
        "Bezos's Project Prometheus, co-led by Vik Bajaj, opens Munich office to court German automakers"
    )
    stake = story_features(
        "Bezos's Project Prometheus, co-led by Vik Bajaj, buys stake in Japanese machine tool company"
    )
    assert not judge(office, stake).same


def test_different_actions_on_one_counterparty_are_different_events() -> None:
    partner = story_features("Project Prometheus partners with Halvorsen Defense on drone airframes")
    buys = story_features("Project Prometheus buys Halvorsen Defense drone unit")
    verdict = judge(partner, buys)
    assert not verdict.same and verdict.reason.startswith("different actions")


def test_a_follow_up_at_another_stage_is_another_event() -> None:
    talks = story_features("Project Prometheus in talks to buy German toolmaker Kessler Werkzeug")
    done = story_features("Project Prometheus completes purchase of German toolmaker Kessler Werkzeug")
    verdict = judge(talks, done)
    assert not verdict.same and verdict.reason.startswith("different stages")


def test_the_same_action_on_another_counterparty_is_another_event() -> None:
    a = story_features(
        "Project Prometheus buys Ohio machine shop Kessler Tooling", "The deal closes this quarter."
    )
    b = story_features(
        "Project Prometheus buys Ohio machine shop Brandt Precision", "The deal closes this quarter."
    )
    verdict = judge(a, b)
    assert not verdict.same and verdict.reason.startswith("different names")


def test_two_outlets_wording_one_event_differently_are_one_event() -> None:
    a = story_features(
        "Bezos's Project Prometheus to buy aerospace parts maker",
        "The AI venture agreed to acquire Precision Aerostructures, a supplier of wing and fuselage components"
        " to Boeing and Airbus, for about $1.1 billion.",
    )
    b = story_features(
        "Jeff Bezos AI venture agrees deal for aircraft component supplier - Reuters",
        "Project Prometheus, co-led by Vik Bajaj, will pay about $1.1 billion for Precision Aerostructures,"
        " the companies said.",
        "Reuters",
    )
    assert judge(a, b).same


def test_words_frequent_across_stored_items_are_no_evidence() -> None:
    a = story_features("Prometheus unveils industrial machine model for factory automation")
    b = story_features("Prometheus buys industrial machine maker to speed factory automation")
    common = {"industrial", "machine", "factory", "automation"}
    assert not judge(a, b, common).same


def test_too_little_text_is_never_grouped() -> None:
    short = story_features("Markets wrap")
    assert not is_same_story(short, short)


def test_one_headline_re_run_with_another_summary_is_one_event() -> None:
    # A Google News copy ("- CNBC") often carries the aggregator's own snippet instead of the lead.
    first = story_features(
        "Jeff Bezos says AI's biggest payoff will come in factories, not chatbots",
        "Speaking at a conference on Tuesday, Bezos argued that industrial uses would matter most.",
    )
    copy = story_features(
        "Jeff Bezos says AI's biggest payoff will come in factories, not chatbots - CNBC",
        "Watch the full interview with the Amazon founder: rockets, retail, philanthropy, Washington and his ranch in Texas.",
        "CNBC",
    )
    verdict = judge(first, copy)
    assert verdict.same and verdict.reason == "the same headline", verdict
    # ... but a re-run headline at another stage is still another event.
    agreed = story_features("Bezos fund agrees to buy Lakeshore Stamping for $1.1 billion")
    closed = story_features("Bezos fund completes deal to buy Lakeshore Stamping for $1.1 billion")
    assert not judge(agreed, closed).same
