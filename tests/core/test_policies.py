"""Pure decisions: fetch scheduling, freshness and backlog, routing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config import BacklogPolicy, RouteConfig
from bot.core.feed_policy import decide_after_failure, next_fetch_after_success
from bot.core.freshness import alertable_items
from bot.core.model import Item, RuleMatch
from bot.core.routing import plan_deliveries

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def test_backoff_never_exceeds_a_day_even_when_retry_after_asks_for_a_week():
    decision = decide_after_failure(
        now=0,
        interval=300,
        status=503,
        previous_errors=3,
        retry_after=7 * 86400,
        max_backoff=6 * 3600,
        kind="http",
        message="HTTP 503",
    )
    assert decision.next_fetch_at == 86400


def test_max_age_cannot_silence_a_feed_beyond_the_cap():
    next_fetch_at = next_fetch_after_success(now=0, interval=300, max_age=86400, max_cache_age=3600)
    assert next_fetch_at == 3600


def test_short_max_age_does_not_make_us_poll_faster_than_the_interval():
    assert next_fetch_after_success(now=0, interval=300, max_age=10, max_cache_age=3600) == 300


def _item(n: int, hours_ago: float | None) -> Item:
    published = NOW - timedelta(hours=hours_ago) if hours_ago is not None else None
    return Item(id=str(n), feed_url="f", title=f"t{n}", published=published)


def test_first_fetch_posts_nothing_by_default():
    items = [_item(1, 1), _item(2, None)]
    assert alertable_items(items, first_fetch=True, now=NOW, max_age=72 * 3600, backlog=BacklogPolicy()) == []


def test_later_fetches_post_fresh_and_undated_items_but_not_old_ones():
    items = [_item(1, 1), _item(2, None), _item(3, 100)]
    chosen = alertable_items(items, first_fetch=False, now=NOW, max_age=72 * 3600, backlog=BacklogPolicy())
    assert [i.id for i in chosen] == ["1", "2"]


DISCORD_CHANNEL = "123456789012345678"


def test_routes_take_items_by_rule_and_merge_per_channel():
    routes = [
        RouteConfig(platform="slack", channel="C1", rules=["fund"]),
        RouteConfig(platform="slack", channel="C1", rules=["prometheus"]),
        RouteConfig(platform="discord", channel=DISCORD_CHANNEL, rules=["all"]),
        RouteConfig(platform="slack", channel="C2", rules=["bajaj"]),
    ]
    matches = [RuleMatch("prometheus", ("Prometheus",)), RuleMatch("fund", ("$100 billion",))]
    planned = plan_deliveries(matches, routes, lambda platform, _: platform in {"slack", "discord"})
    assert {(p.platform, p.channel) for p in planned} == {("slack", "C1"), ("discord", DISCORD_CHANNEL)}
    slack = next(p for p in planned if p.channel == "C1")
    assert set(slack.rules) == {"prometheus", "fund"}


def test_routes_for_unconnected_platforms_are_skipped():
    routes = [RouteConfig(platform="slack", channel="C1"), RouteConfig(platform="console", channel="out")]
    planned = plan_deliveries([RuleMatch("x")], routes, lambda platform, _: platform == "console")
    assert [p.platform for p in planned] == ["console"]


def test_no_match_means_no_delivery():
    assert plan_deliveries([], [RouteConfig(platform="console", channel="out")], lambda *_: True) == []
