"""When to fetch a feed next, and whether it stays enabled (pure: takes `now`, returns decisions).

- Success (200 or 304): back to the feed's interval, or longer if the server's Cache-Control
  max-age asks for it (up to `max_cache_age`, so a cautious server cannot silence a news feed).
- Failure: exponential backoff from the interval, capped at `max_backoff` (never more than a
  day), so a feed that comes back is picked up again; Retry-After is honoured within that cap.
- 410 Gone: the feed is disabled until an admin resumes it.
"""

from __future__ import annotations

from dataclasses import dataclass

HARD_BACKOFF_CAP = 24 * 3600.0


@dataclass(frozen=True)
class FetchDecision:
    next_fetch_at: float | None  # None when disabled
    error_count: int
    disabled_reason: str | None = None


def decide_after_success(
    *, now: float, interval: float, max_age: float | None, max_cache_age: float
) -> FetchDecision:
    wait = interval
    if max_age is not None:
        wait = max(interval, min(max_age, max_cache_age))
    return FetchDecision(next_fetch_at=now + wait, error_count=0)


def decide_after_failure(
    *,
    now: float,
    interval: float,
    status: int | None,
    previous_errors: int,
    retry_after: float | None,
    max_backoff: float,
) -> FetchDecision:
    if status == 410:
        return FetchDecision(next_fetch_at=None, error_count=previous_errors + 1, disabled_reason="410 Gone")
    errors = previous_errors + 1
    cap = min(max_backoff, HARD_BACKOFF_CAP)
    backoff = min(interval * (2 ** min(errors - 1, 20)), cap)
    if retry_after is not None:
        backoff = min(max(backoff, retry_after), HARD_BACKOFF_CAP)
    return FetchDecision(next_fetch_at=now + backoff, error_count=errors)
