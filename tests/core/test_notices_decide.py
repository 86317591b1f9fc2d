"""The pure notice decisions: when a feed counts as down, a rule as silent, and when each is over."""

from __future__ import annotations

from bot.core.notices import (
    ChannelRefusals,
    FeedHealth,
    NoticePolicy,
    NoticeState,
    RuleActivity,
    decide_notices,
    format_span,
)

NOW = 1_800_000_000.0
HOUR, DAY = 3600.0, 86400.0
POLICY = NoticePolicy(feed_down_after=DAY, rule_silent_after=7 * DAY)
FEED = "https://feeds.example.com/ai.xml"


def feed(**fields: object) -> FeedHealth:
    return FeedHealth(url=FEED, name="TechCrunch AI", **fields)  # type: ignore[arg-type]


def decide(feeds=(), rules=(), states=(), *, polling_since=NOW - 30 * DAY, now=NOW, channels=()):  # type: ignore[no-untyped-def]
    return decide_notices(
        feeds=feeds,
        rules=rules,
        polling_since=polling_since,
        states={state.key: state for state in states},
        now=now,
        policy=POLICY,
        channels=channels,
    )


def raised(key: str, at: float) -> NoticeState:
    return NoticeState(key=key, state="raised", changed_at=at, message="...")


def test_feed_failing_just_under_a_day_is_not_reported_and_at_a_day_it_is():
    failing = feed(error_count=5, last_success_at=NOW - DAY + 60, last_error="HTTP 503 Service Unavailable")
    assert decide([failing]) == []
    (change,) = decide([failing], now=NOW + 60)
    assert (change.key, change.state) == (f"feed-down:{FEED}", "raised")
    assert change.text == (
        "Feed 'TechCrunch AI' has failed for 24 hours: HTTP 503 Service Unavailable (5 failed polls in a row)"
    )


def test_a_single_failed_poll_after_a_long_stop_is_not_a_dead_feed():
    assert decide([feed(error_count=1, last_success_at=NOW - 3 * DAY, last_error="timeout")]) == []


def test_a_feed_that_never_worked_is_watched_silently_then_reported_a_day_later():
    never = feed(error_count=3, last_error="DNS lookup failed")
    (watch,) = decide([never])
    assert (watch.state, watch.text) == ("watching", None)
    watching = NoticeState(key=watch.key, state="watching", changed_at=NOW)
    assert decide([never], states=[watching], now=NOW + DAY - 1) == []
    (change,) = decide([never], states=[watching], now=NOW + DAY)
    assert (
        change.state == "raised"
        and change.text
        and "has failed for 24 hours: DNS lookup failed" in change.text
    )


def test_a_watched_feed_that_starts_working_is_cleared_without_a_message():
    watching = NoticeState(key=f"feed-down:{FEED}", state="watching", changed_at=NOW - HOUR)
    (change,) = decide([feed(last_success_at=NOW)], states=[watching])
    assert (change.state, change.text) == ("cleared", None)


def test_a_stopped_feed_is_reported_at_once():
    (change,) = decide([feed(error_count=1, disabled_reason="410 Gone", last_success_at=NOW - HOUR)])
    assert change.state == "raised" and change.text and "is stopped (410 Gone)" in change.text


def test_a_resumed_feed_is_back_only_after_a_successful_fetch():
    down = raised(f"feed-down:{FEED}", NOW - 5 * HOUR)
    resumed = feed(error_count=0, last_success_at=NOW - 2 * DAY)  # reset by an admin, not fetched yet
    assert decide([resumed], states=[down]) == []
    (change,) = decide([feed(last_success_at=NOW - 60)], states=[down])
    assert change.state == "cleared"
    assert change.text == "Feed 'TechCrunch AI' is back (reported down 5 hours ago)"


def test_a_raised_feed_still_failing_says_nothing_more():
    down = raised(f"feed-down:{FEED}", NOW - 3 * DAY)
    assert decide([feed(error_count=40, last_success_at=NOW - 4 * DAY)], states=[down]) == []


def test_a_raised_notice_for_a_feed_or_rule_no_longer_configured_is_cleared_silently():
    states = [raised(f"feed-down:{FEED}", NOW - DAY), raised("rule-silent:old", NOW - DAY)]
    changes = decide([], [], states)
    assert sorted((c.key, c.state, c.text) for c in changes) == [
        (f"feed-down:{FEED}", "cleared", None),
        ("rule-silent:old", "cleared", None),
    ]


def test_feed_error_text_is_one_short_line():
    noisy = feed(error_count=9, last_success_at=NOW - 2 * DAY, last_error="line one\n\n" + "x" * 1000)
    (change,) = decide([noisy])
    assert change.text is not None and "\n" not in change.text
    assert "line one xxx" in change.text and len(change.text) < 320


def test_no_rule_is_reported_before_a_week_of_polling():
    never = RuleActivity(name="bajaj")
    assert decide(rules=[never], polling_since=NOW - 7 * DAY + 60) == []
    assert decide(rules=[never], polling_since=None) == []
    (change,) = decide(rules=[never], polling_since=NOW - 7 * DAY)
    assert change.text == "Rule 'bajaj' has matched nothing in 7 days, ever since it was set up"


def test_rule_silence_counts_from_its_last_match():
    assert decide(rules=[RuleActivity(name="fund", last_match_at=NOW - 6 * DAY)]) == []
    (change,) = decide(rules=[RuleActivity(name="fund", last_match_at=NOW - 8 * DAY - HOUR)])
    assert change.text == "Rule 'fund' has matched nothing in 8 days"


def test_a_rule_edited_in_chat_starts_its_silence_again():
    edited = RuleActivity(name="fund", last_match_at=NOW - 20 * DAY, since=NOW - 3 * DAY)
    assert decide(rules=[edited]) == []
    silent = raised("rule-silent:fund", NOW - 5 * DAY)
    (change,) = decide(rules=[edited], states=[silent])
    assert (change.state, change.text) == ("cleared", None)  # a new rule: the old notice is moot


def test_a_silent_rule_that_matches_again_is_cleared_with_a_message():
    silent = raised("rule-silent:fund", NOW - 2 * DAY)
    assert decide(rules=[RuleActivity(name="fund", last_match_at=NOW - 9 * DAY)], states=[silent]) == []
    (change,) = decide(rules=[RuleActivity(name="fund", last_match_at=NOW - HOUR)], states=[silent])
    assert change.text == "Rule 'fund' is matching again (reported silent 2 days ago)"


def test_format_span_reads_naturally():
    assert [format_span(s) for s in (30, 60, 5 * 60, HOUR, 26 * HOUR, 2 * DAY, 8 * DAY + 5 * HOUR)] == [
        "0 minutes",
        "1 minute",
        "5 minutes",
        "1 hour",
        "26 hours",
        "2 days",
        "8 days",
    ]


GONE = "channel-refused:slack:C0GONE"


def refusals(**fields: object) -> ChannelRefusals:
    defaults: dict[str, object] = {
        "last_refused_at": NOW - 60,
        "last_error": "channel_not_found: Slack refused: channel_not_found: channel not found",
    }
    return ChannelRefusals(platform="slack", channel="C0GONE", **{**defaults, **fields})  # type: ignore[arg-type]


def test_a_channel_refusing_alerts_is_reported_at_once_and_only_once():
    (change,) = decide(channels=[refusals()])
    assert (change.key, change.state) == (GONE, "raised")
    assert change.text == (
        "Slack channel C0GONE refuses alerts, so they are not retried: "
        "channel_not_found: Slack refused: channel_not_found: channel not found"
    )
    assert decide(channels=[refusals(last_refused_at=NOW)], states=[raised(GONE, NOW - 60)]) == []


def test_a_refusing_channel_that_takes_an_alert_again_is_reported_back_once():
    back = refusals(last_sent_at=NOW - 10)
    (change,) = decide(channels=[back], states=[raised(GONE, NOW - 2 * HOUR)])
    assert (change.key, change.state) == (GONE, "cleared")
    assert change.text == "Slack channel C0GONE takes alerts again (reported refusing 2 hours ago)"
    assert decide(channels=[back]) == []  # delivered since its last refusal: nothing to say


def test_a_refusal_notice_whose_failures_aged_out_is_dropped_silently():
    (change,) = decide(channels=[], states=[raised(GONE, NOW - 8 * DAY)])
    assert (change.key, change.state, change.text) == (GONE, "cleared", None)
