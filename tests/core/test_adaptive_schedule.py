"""The adaptive poll schedule (bot.core.feed_policy.adaptive_intervals): busy feeds polled more
often, quiet ones less, at about the requests per hour of the fixed intervals, and no host asked more
often than it is today."""

from __future__ import annotations

import pytest

from bot.core.feed_policy import FeedActivity, adaptive_intervals

WEEK = 7 * 86400.0
LIMITS = {"min_interval": 60.0, "max_interval": 1200.0, "host_gap": 10.0}


def activity(items: int, host: str = "a.example", interval: float = 300.0) -> FeedActivity:
    return FeedActivity(interval=interval, host=host, new_items=items, watched_for=WEEK)


def requests_per_hour(intervals: dict[str, float]) -> float:
    return sum(3600 / seconds for seconds in intervals.values())


def test_feeds_equally_busy_keep_their_own_interval() -> None:
    feeds = {f"f{i}": activity(20, host=f"h{i}") for i in range(5)}
    assert adaptive_intervals(feeds, **LIMITS) == {url: 300.0 for url in feeds}


def test_a_busy_feed_is_polled_more_often_and_a_quiet_one_less_at_the_same_requests_per_hour() -> None:
    feeds = {"wire": activity(511, host="wire.example"), "mid": activity(63, host="mid.example"),
             "blog": activity(7, host="blog.example")}  # fmt: skip
    intervals = adaptive_intervals(feeds, **LIMITS)
    assert intervals["wire"] < intervals["mid"] < intervals["blog"]
    # The cube-root law: eight times the items, half the interval (each feed's rate counts one more).
    assert intervals["blog"] / intervals["mid"] == pytest.approx(2, rel=0.01)
    assert intervals["mid"] / intervals["wire"] == pytest.approx(2, rel=0.01)
    assert requests_per_hour(intervals) == pytest.approx(3 * 12, rel=0.01)


def test_intervals_stay_within_the_limits_and_four_times_the_feeds_own() -> None:
    feeds = {"firehose": activity(100_000, host="x.example"), "silent": activity(0, host="y.example")}
    feeds |= {f"mid{i}": activity(50, host=f"z{i}.example") for i in range(20)}
    intervals = adaptive_intervals(feeds, **LIMITS)
    assert intervals["firehose"] == 75  # 300 / 4, above min_interval
    assert intervals["silent"] == 1200  # max_interval = 4 x 300
    fast = adaptive_intervals({"own": activity(0, interval=30.0, host="q.example")}, **LIMITS)
    assert fast["own"] == 30  # set below min_interval on purpose: kept


def test_no_host_is_asked_more_often_than_today_by_the_adaptive_schedule() -> None:
    # Two busy feeds on one host and quiet feeds elsewhere: the law would speed the host up.
    feeds = {"g1": activity(500, host="news.google.example"), "g2": activity(500, host="news.google.example")}
    feeds |= {f"q{i}": activity(0, host=f"q{i}.example", interval=30.0) for i in range(6)}
    intervals = adaptive_intervals(feeds, min_interval=60.0, max_interval=1200.0, host_gap=300.0)
    google = 3600 / intervals["g1"] + 3600 / intervals["g2"]
    assert google <= 2 * 12 + 1e-6  # today's two requests per 5 minutes
    # With a short host gap the same host may be asked up to once per host_gap.
    loose = adaptive_intervals(feeds, min_interval=60.0, max_interval=1200.0, host_gap=10.0)
    assert loose["g1"] < intervals["g1"]


def test_no_feeds_no_intervals() -> None:
    assert adaptive_intervals({}, **LIMITS) == {}
