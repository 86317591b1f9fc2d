"""When to fetch a feed next, and whether it stays enabled (pure: takes `now`, returns decisions).

- Success (200 or 304): back to the feed's interval, or longer if the server's Cache-Control
  max-age asks for it (up to `max_cache_age`, so a cautious server cannot silence a news feed).
- Failure: exponential backoff from the interval, capped at `max_backoff` (never more than a
  day), so a feed that comes back is picked up again; Retry-After is honoured within that cap.
- 410 Gone: the feed is disabled until an admin resumes it.

What a fetch did to its feed is one value, `FeedFetched` or `FeedFailed`: the poll cycle decides
it here and `bot.store.feeds.record_fetch` applies it in one call (the way lemon24/reader's
FeedUpdateIntent separates deciding an update from storing it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

HARD_BACKOFF_CAP = 24 * 3600.0


@dataclass(frozen=True)
class FeedFetched:
    """A 200 or 304: the feed is healthy again; validators change only when given."""

    status: int | None
    next_fetch_at: float
    warning: str | None = None  # what the last parse of these bytes warned about (shown in `status`)
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None  # None for a 304 or the same bytes again
    new_items: int = 0


@dataclass(frozen=True)
class FeedFailed:
    """A fetch or parse that failed: the error is counted and the next fetch backs off."""

    status: int | None
    next_fetch_at: float | None  # None when disabled
    error_count: int
    kind: str  # "network", "timeout", "http", "parse", ...
    message: str
    disabled_reason: str | None = None


FetchOutcome = FeedFetched | FeedFailed


def next_fetch_after_success(
    *, now: float, interval: float, max_age: float | None, max_cache_age: float
) -> float:
    wait = interval
    if max_age is not None:
        wait = max(interval, min(max_age, max_cache_age))
    return now + wait


def decide_after_failure(
    *,
    now: float,
    interval: float,
    status: int | None,
    previous_errors: int,
    retry_after: float | None,
    max_backoff: float,
    kind: str,
    message: str,
) -> FeedFailed:
    errors = previous_errors + 1
    if status == 410:
        return FeedFailed(status, None, errors, kind, message, disabled_reason="410 Gone")
    cap = min(max_backoff, HARD_BACKOFF_CAP)
    backoff = min(interval * (2 ** min(errors - 1, 20)), cap)
    if retry_after is not None:
        backoff = min(max(backoff, retry_after), HARD_BACKOFF_CAP)
    return FeedFailed(status, now + backoff, errors, kind, message)


@dataclass(frozen=True)
class FeedActivity:
    """What the adaptive schedule knows of one feed: its configured interval, its host, and how many
    new items it published over how long a stretch of watching."""

    interval: float
    host: str
    new_items: int
    watched_for: float  # seconds of the look-back window the feed was being polled (at least 1)


def adaptive_intervals(
    feeds: Mapping[str, FeedActivity], *, min_interval: float, max_interval: float, host_gap: float
) -> dict[str, float]:
    """Each feed's poll interval, spending the requests per hour the fixed intervals would (as far as
    the clamps allow).

    An item waits for the next poll of its feed: uniformly up to the feed's interval T, so its mean
    squared wait is T**2 / 3. Summed over the items (a feed with rate r brings r of them per second),
    that is least, for a given number of requests, when T is proportional to r ** (-1/3): busy wire
    feeds are polled more often, quiet blogs less, and feeds alike stay alike. (The mean wait alone
    would give r ** (-1/2), which shortens the median more but lengthens the tail; the squared wait
    weighs the long waits the team notices.) A feed's rate counts one item more than it showed, so
    a feed that has said nothing yet is quiet, not silent. Each interval stays within [min_interval,
    max_interval] and within 4x of the feed's own interval either way (an interval set below
    min_interval on purpose is kept). No host is asked more often than it is today, or once per
    `host_gap` if that is more: where the square-root law would, that host's feeds slow down together.
    """
    if not feeds:
        return {}
    weight = {url: ((f.new_items + 1) / max(f.watched_for, 1.0)) ** (1 / 3) for url, f in feeds.items()}
    bounds = {}
    for url, activity in feeds.items():
        low = max(min(min_interval, activity.interval), activity.interval / 4)
        bounds[url] = (low, max(low, min(max_interval, activity.interval * 4)))

    def intervals_at(scale: float) -> dict[str, float]:
        return {url: min(max(feeds[url].interval * scale / weight[url], bounds[url][0]), bounds[url][1])
                for url in feeds}  # fmt: skip

    # The scale at which the clamped intervals ask as often as the fixed ones: found by bisection,
    # since the clamps make it no simple formula (requests per hour fall as the scale grows).
    budget = sum(1 / activity.interval for activity in feeds.values())
    low_scale, high_scale = 1e-9, 1e9
    for _ in range(80):  # each halves the log-range: 80 leave it far below a millisecond
        scale = math.sqrt(low_scale * high_scale)
        if sum(1 / seconds for seconds in intervals_at(scale).values()) > budget:
            low_scale = scale
        else:
            high_scale = scale
    intervals = intervals_at(high_scale)
    by_host: dict[str, list[str]] = {}
    for url, activity in feeds.items():
        by_host.setdefault(activity.host, []).append(url)
    for urls in by_host.values():
        allowed = max(sum(1 / feeds[url].interval for url in urls), 1 / host_gap)
        asked = sum(1 / intervals[url] for url in urls)
        if asked > allowed:
            for url in urls:
                intervals[url] *= asked / allowed
    return {url: round(interval, 3) for url, interval in intervals.items()}  # 300.0, not 300.00000000000006
