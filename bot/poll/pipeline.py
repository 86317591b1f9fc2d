"""One poll cycle, top-down: for each due feed at once, fetch, parse + normalise + match, store, enqueue.

Feeds never wait on each other: each feed is parsed, stored and its alerts queued as soon as its own
fetch completes, and `on_enqueued` tells the service to send them now, so one slow server delays only
itself (and at most by `fetch.total_timeout`). The deciding steps are pure functions from other
modules (feed_policy, parse, freshness, routing); this module sequences them and does the I/O. A
failing feed becomes a recorded error on that feed's row and the cycle carries on with the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import yarl
from sqlite_utils import Database

from bot.config import BotConfig, FeedConfig
from bot.core.feed_policy import (
    FeedActivity,
    FeedFetched,
    adaptive_intervals,
    decide_after_failure,
    next_fetch_after_success,
)
from bot.core.freshness import alertable_items
from bot.core.model import CycleReport
from bot.core.routing import Reachable, plan_deliveries
from bot.core.websub import hub_went_quiet, pick_links
from bot.core.websub import poll_interval as push_poll_interval
from bot.net.url_safety import may_reach_private
from bot.poll.feed_parse import ParsedFeed
from bot.poll.fetch import FeedHttpClient, FetchResult, fetch_feed
from bot.poll.parse_pool import ParsePool
from bot.store import transaction
from bot.store.cycles import record_cycle
from bot.store.feeds import (
    FeedState,
    count_pushed_items,
    ensure_feeds,
    feed_states,
    new_item_counts,
    postpone,
    record_fetch,
)
from bot.store.items import insert_new_items, recent_item_ids, record_matches
from bot.store.outbox import enqueue
from bot.store.stories import enqueue_copy, group_item, prune_story_index
from bot.store.websub import current as current_subscription
from bot.store.websub import live_feeds, mark_stale, note_hub

log = logging.getLogger(__name__)

SCHEDULE_REFRESH = 600.0  # seconds between recounts of each feed's publishing rate
MIN_WATCH = 24 * 3600.0
OFFLINE_RETRY = 30.0  # our network down: every feed is tried again this soon (or at the next tick, if later)  # a feed watched for less than a day is judged as if watched for one


def configured_interval(config: BotConfig, feed: FeedConfig) -> float:
    """The feed's own interval from feeds.yaml, else `poll_interval`: the base of its schedule and
    of its backoff."""
    return feed.interval or config.settings.poll_interval


@dataclass(frozen=True)
class FeedFailure:
    kind: str
    message: str
    status: int | None = None
    retry_after: float | None = None


@dataclass
class Pipeline:
    db: Database
    http: FeedHttpClient  # every request passes its address guard
    parser: ParsePool
    load_config: Callable[[], BotConfig]  # the effective config: files plus chat edits
    reachable: Reachable
    clock: Callable[[], float]
    on_enqueued: Callable[[], None] = lambda: None  # a feed's alerts were just queued (committed)
    # One feed's store step at a time: each is a short synchronous transaction, and taking turns
    # lets the event loop run other work (slash commands, signals) between feeds.
    _store_turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Feeds being fetched or processed: a tick that comes while a slow feed is in flight polls the
    # other due feeds, never that one a second time.
    _in_flight: set[str] = field(default_factory=set)
    # The adaptive schedule's intervals, by feed url, and when they were worked out: publishing rates
    # change slowly, so they are counted again every SCHEDULE_REFRESH seconds, not every tick.
    _intervals: dict[str, float] = field(default_factory=dict)
    _intervals_at: float = float("-inf")
    # Feeds whose WebSub subscription is live (verified, lease running): polled at the safety interval.
    _pushed: set[str] = field(default_factory=set)

    async def run_cycle(self, *, only_due: bool = True) -> CycleReport:
        """One cycle over the enabled feeds whose next fetch has come (`only_due=False`: every enabled
        feed, as `poll --once` does; disabled and in-flight feeds are skipped either way). A cycle
        that polled something is stored, for `status` and /metrics."""
        report = CycleReport(started_at=self.clock())
        await self._poll(report, only_due)
        if report.feeds_due:
            report.finished_at = self.clock()
            record_cycle(self.db, report)
        return report

    async def _poll(self, report: CycleReport, only_due: bool) -> None:
        now = report.started_at
        config = self.load_config()
        feeds = [feed for feed in config.feeds if feed.enabled]
        ensure_feeds(self.db, [(feed.url, feed.name) for feed in feeds], now)
        states = feed_states(self.db, [feed.url for feed in feeds])
        self._pushed = live_feeds(self.db, now) if config.settings.websub.public_url else set()
        self._refresh_intervals(config, feeds, states, now)
        due = []
        for feed in feeds:
            reason = self._why_skipped(states[feed.url], feed.url, now, only_due)
            if reason:
                report.skipped[reason] = report.skipped.get(reason, 0) + 1
            else:
                due.append(feed)
        report.feeds_due = len(due)
        if not due:
            return

        with self._in_flight_while(due):
            unreachable = await self._poll_each(config, due, states, report)
            if _looks_offline(due, unreachable):
                report.offline = True
                retry = now + max(config.settings.tick, OFFLINE_RETRY)
                postpone(self.db, [f.url for f in due], retry, "network unreachable")
                log.warning("all %d due feeds unreachable: treating it as our network being down", len(due))
                return
            for feed, result in unreachable:
                self._record_failure(config, feed, states[feed.url], _fetch_failure(result), report)

    def _refresh_intervals(
        self, config: BotConfig, feeds: list[FeedConfig], states: dict[str, FeedState], now: float
    ) -> None:
        schedule = config.settings.schedule
        if not schedule.adaptive:
            self._intervals = {}
            return
        polled = {f.url for f in feeds} - self._pushed
        if now - self._intervals_at < SCHEDULE_REFRESH and set(self._intervals) == polled:
            return  # rates change slowly; a feed added, removed, pushed or no longer pushed counts at once
        counts = new_item_counts(self.db, since=now - schedule.window)
        activity = {}
        for feed in feeds:
            if feed.url not in polled:
                continue  # polled at the WebSub safety interval: no part of the polling budget
            first = states[feed.url].first_success_at
            watched = min(schedule.window, max(now - (first or now), MIN_WATCH))
            activity[feed.url] = FeedActivity(
                interval=configured_interval(config, feed),
                host=yarl.URL(feed.url).host or "",
                new_items=counts.get(feed.url, 0),
                watched_for=watched,
            )
        self._intervals = adaptive_intervals(
            activity, min_interval=schedule.min_interval, max_interval=schedule.max_interval,
            host_gap=schedule.host_gap,
        )  # fmt: skip
        self._intervals_at = now

    def interval_of(self, config: BotConfig, feed: FeedConfig) -> float:
        """The feed's poll interval now: the adaptive schedule's, else the configured one; while its
        WebSub subscription is live, the slower safety interval (pushes bring its items)."""
        normal = self._intervals.get(feed.url) or configured_interval(config, feed)
        safety = config.settings.websub.poll_interval
        return push_poll_interval(normal, safety, live=feed.url in self._pushed)

    def _why_skipped(self, state: FeedState, url: str, now: float, only_due: bool) -> str | None:
        if state.disabled_reason is not None:
            return "disabled"  # 410 Gone, or paused: until an admin resumes it
        if url in self._in_flight:
            return "still being fetched"
        if only_due and not _is_due(state, now):
            return "not due"
        return None

    @contextmanager
    def _in_flight_while(self, due: list[FeedConfig]) -> Iterator[None]:
        urls = {feed.url for feed in due}
        self._in_flight |= urls
        try:
            yield
        finally:
            self._in_flight -= urls

    async def _poll_each(
        self, config: BotConfig, due: list[FeedConfig], states: dict[str, FeedState], report: CycleReport
    ) -> list[tuple[FeedConfig, FetchResult]]:
        """Fetch every due feed; each one answered is processed as soon as its own fetch completes.

        Feeds that gave no HTTP answer are returned, not recorded: whether the fault is theirs or our
        network's is known only once every due feed has answered or timed out."""
        settings = config.settings.fetch
        gate = asyncio.Semaphore(settings.concurrency)
        unreachable: list[tuple[FeedConfig, FetchResult]] = []

        async def one(feed: FeedConfig) -> None:
            state = states[feed.url]
            async with gate:  # held for the fetch only: parsing and storing do not take a fetch slot
                result = await fetch_feed(
                    self.http, feed.url, allow_private=may_reach_private(config.settings, feed),
                    etag=state.etag, last_modified=state.last_modified, settings=settings,
                )  # fmt: skip
            if result.unreachable:
                unreachable.append((feed, result))  # in flight until recorded, at the cycle's end
                return
            try:
                await self._process(config, feed, state, result, report)
            finally:
                self._in_flight.discard(feed.url)  # recorded: a later tick may poll it while others run

        # Every feed finishes (each within its deadline) before a failure is raised, so no fetch or
        # store outlives the cycle that marked its feed in flight.
        outcomes = await asyncio.gather(*(one(feed) for feed in due), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return unreachable

    async def _process(
        self, config: BotConfig, feed: FeedConfig, state: FeedState, result: FetchResult, report: CycleReport
    ) -> None:
        """Parse, match and store one fetched feed, queue its alerts, and record its health."""
        if result.error_kind is not None:
            self._record_failure(config, feed, state, _fetch_failure(result), report)
            return
        now = self.clock()
        next_fetch_at = next_fetch_after_success(
            now=now,
            interval=self.interval_of(config, feed),
            max_age=result.max_age,
            max_cache_age=config.settings.fetch.max_cache_age,
        )
        report.fetched += 1
        body_hash = hashlib.sha256(result.body).hexdigest() if result.body is not None else None
        if result.not_modified or body_hash is None or body_hash == state.body_hash:
            # 304, or the same bytes from a server that ignores conditional requests: nothing to parse,
            # and what the last parse of these bytes warned about still holds
            if result.not_modified:
                report.not_modified += 1
            else:
                report.unchanged_body += 1
            unchanged = FeedFetched(
                result.status, next_fetch_at, warning=state.warning, etag=result.etag,
                last_modified=result.last_modified,
            )  # fmt: skip
            record_fetch(self.db, feed.url, unchanged, now=now)
            return

        parsed = await self._parse(config, feed, result.body or b"", result.content_type, now)
        if not parsed.ok:
            failure = FeedFailure(parsed.error_kind or "parse", parsed.error or "", result.status)
            self._record_failure(config, feed, state, failure, report)
            return
        if parsed.warning:
            log.warning("feed %s: %s", feed.name or feed.url, parsed.warning)
        # The items, their outbox rows and the feed's new validators commit together: a crash in between
        # cannot leave the body recorded as seen with its items unstored.
        async with self._store_turn:
            with transaction(self.db):
                new_count, queued = self._store_and_enqueue(config, state, parsed, report)
                if config.settings.websub.public_url and self._note_websub(
                    config, feed, result, parsed, new_count
                ):
                    # the hub went quiet: back to the normal schedule from this poll on
                    next_fetch_at = next_fetch_after_success(
                        now=now, interval=self.interval_of(config, feed), max_age=result.max_age,
                        max_cache_age=config.settings.fetch.max_cache_age,
                    )  # fmt: skip
                fetched = FeedFetched(
                    result.status, next_fetch_at, warning=parsed.warning, etag=result.etag,
                    last_modified=result.last_modified, body_hash=body_hash, new_items=new_count,
                )  # fmt: skip
                record_fetch(self.db, feed.url, fetched, now=self.clock())
        if queued:
            self.on_enqueued()  # committed: the dispatcher can send them now, not after the whole cycle

    async def process_pushed(self, feed_url: str, body: bytes, content_type: str | None) -> int | None:
        """Parse, match and store a body a WebSub hub pushed for `feed_url`, and queue its alerts: the
        same steps as a fetched body, minus the feed's fetch bookkeeping (validators, body hash, next
        fetch), since a push is not a fetch of the feed. Returns how many items were new (None: the
        feed is not configured, is disabled, or the body is not a feed).

        A poll of the same feed may be in flight: both parse on their own, and their store steps take
        turns under the store lock, each in one transaction whose dedup drops items the other stored,
        so an item pushed and polled at once is stored and alerted once."""
        config = self.load_config()
        feed = next((f for f in config.feeds if f.url == feed_url and f.enabled), None)
        state = feed_states(self.db, [feed_url]).get(feed_url) if feed is not None else None
        if feed is None or state is None or state.disabled_reason is not None:
            return None
        parsed = await self._parse(config, feed, body, content_type, self.clock())
        if not parsed.ok:
            log.warning(
                "websub: a push for feed %s is not a feed (%s)", feed.name or feed.url, parsed.error_kind
            )
            return None
        report = CycleReport(started_at=self.clock())  # counts only; a push is not a stored poll cycle
        async with self._store_turn:
            with transaction(self.db):
                new_count, queued = self._store_and_enqueue(config, state, parsed, report)
                count_pushed_items(self.db, feed_url, new_count)
        if queued:
            self.on_enqueued()
        log.info("websub: push for %s: %d new, %d queued", feed.name or feed.url, new_count, queued)
        return new_count

    async def _parse(
        self, config: BotConfig, feed: FeedConfig, body: bytes, content_type: str | None, now: float
    ) -> ParsedFeed:
        return await self.parser.parse(
            body,
            url=feed.url,
            content_type=content_type,
            now=datetime.fromtimestamp(now, tz=UTC),
            rules=tuple((rule.name, rule.query, rule.enabled) for rule in config.rules),
            lists=tuple(config.rule_lists.items()),
            known=recent_item_ids(self.db, feed.url),
            embed=config.settings.story_embeddings,
        )

    def _note_websub(
        self, config: BotConfig, feed: FeedConfig, result: FetchResult, parsed: ParsedFeed, new_count: int
    ) -> bool:
        """After a fetched body was parsed: record the hub it names (bot.poll.websub subscribes), and
        if this poll found items while a live subscription's hub has said nothing for a long time,
        take the hub to have gone quiet, so the feed is polled on its normal schedule again (True)."""
        hub, topic = pick_links(result.links, parsed.links)
        now = self.clock()
        note_hub(self.db, feed.url, hub, topic or feed.url, now)
        if new_count and feed.url in self._pushed:
            subscription = current_subscription(self.db, feed.url)
            quiet_after = config.settings.websub.quiet_after
            if subscription is not None and hub_went_quiet(
                last_heard=subscription.last_heard, now=now, quiet_after=quiet_after
            ):
                mark_stale(self.db, subscription.id)
                self._pushed.discard(feed.url)
                log.warning(
                    "websub: feed %s: a poll found %d new items and its hub has pushed nothing for %.0f s:"
                    " polling it normally again", feed.name or feed.url, new_count, quiet_after,
                )  # fmt: skip
                return True
        return False

    def _store_and_enqueue(
        self, config: BotConfig, state: FeedState, parsed: ParsedFeed, report: CycleReport
    ) -> tuple[int, int]:
        """Store new items, their matches and their outbox rows in one transaction (no await inside).

        Returns how many items were new and how many deliveries were queued."""
        now = self.clock()
        queued = 0
        settings = config.settings
        with transaction(self.db):
            new_items = insert_new_items(self.db, parsed.items, now=now, backlog=state.is_new)
            alertable = alertable_items(
                new_items,
                first_fetch=state.is_new,
                now=datetime.fromtimestamp(now, tz=UTC),
                max_age=settings.max_age,
                backlog=settings.backlog,
            )
            alertable_ids = {item.id for item in alertable}
            prune_story_index(self.db, now)
            for item in new_items:
                matches = parsed.matches.get(item.id, ())
                if not matches:
                    continue
                report.matched_items += 1
                record_matches(self.db, item.id, matches, now=now)
                # Another outlet's report of a recent story joins it: one alert per story, then updates.
                sketch = parsed.sketches.get(item.id)
                story_id = group_item(self.db, item, now, sketch)
                if item.id in alertable_ids:
                    planned = plan_deliveries(matches, config.routes, self.reachable)
                    if story_id is None:
                        queued += enqueue(self.db, item.id, planned, now=now)
                    else:
                        queued += enqueue_copy(self.db, item.id, story_id, planned, now=now)
        report.new_items += len(new_items)
        report.enqueued += queued
        return len(new_items), queued

    def _record_failure(
        self, config: BotConfig, feed: FeedConfig, state: FeedState, failure: FeedFailure, report: CycleReport
    ) -> None:
        now = self.clock()
        outcome = decide_after_failure(
            now=now,
            interval=configured_interval(config, feed),
            status=failure.status,
            previous_errors=state.error_count,
            retry_after=failure.retry_after,
            max_backoff=config.settings.fetch.max_backoff,
            kind=failure.kind,
            message=failure.message,
        )
        record_fetch(self.db, feed.url, outcome, now=now)
        report.failed += 1
        report.errors[feed.url] = f"{failure.kind}: {failure.message}"
        log.warning("feed %s failed (%s): %s", feed.name or feed.url, failure.kind, failure.message)


def _is_due(state: FeedState, now: float) -> bool:
    return state.next_fetch_at is None or state.next_fetch_at <= now


def _looks_offline(due: list[FeedConfig], unreachable: list[tuple[FeedConfig, FetchResult]]) -> bool:
    """Every due feed unreachable at once (and more than one of them): our network, not theirs."""
    return len(due) >= 2 and len(unreachable) == len(due)


def _fetch_failure(result: FetchResult) -> FeedFailure:
    return FeedFailure(result.error_kind or "network", result.error or "", result.status, result.retry_after)
