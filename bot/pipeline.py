"""One poll cycle, top-down: fetch due feeds, parse, normalise, store, match, enqueue.

The deciding steps are pure functions from other modules (feed_policy, freshness, routing, the
rule matcher); this module sequences them and does the I/O. A failing feed becomes a recorded
error on that feed's row and the cycle carries on with the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlite_utils import Database

from bot.config import BotConfig, FeedConfig
from bot.feed_policy import decide_after_failure, decide_after_success
from bot.fetch import FetchResult, fetch_feed
from bot.freshness import alertable_items
from bot.parse import ParsedFeed
from bot.parse_pool import ParsePool
from bot.routing import plan_deliveries
from bot.rules import RuleSet
from bot.store import transaction
from bot.store.feeds import FeedState, ensure_feeds, feed_states, postpone, record_fetch
from bot.store.items import insert_new_items, record_matches
from bot.store.outbox import enqueue

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    started_at: float
    feeds_due: int = 0
    fetched: int = 0
    not_modified: int = 0
    unchanged_body: int = 0
    failed: int = 0
    new_items: int = 0
    matched_items: int = 0
    enqueued: int = 0
    offline: bool = False
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class Pipeline:
    db: Database
    http: httpx.AsyncClient
    parser: ParsePool
    load_config: Callable[[], BotConfig]  # the effective config: files plus chat edits
    compile_rules: Callable[[BotConfig], RuleSet]
    active_platforms: Collection[str]
    clock: Callable[[], float]

    async def run_cycle(self) -> CycleReport:
        now = self.clock()
        config = self.load_config()
        ruleset = self.compile_rules(config)
        report = CycleReport(started_at=now)

        feeds = [feed for feed in config.feeds if feed.enabled]
        ensure_feeds(self.db, [(feed.url, feed.name) for feed in feeds], now)
        states = feed_states(self.db, [feed.url for feed in feeds])
        due = [feed for feed in feeds if _is_due(states[feed.url], now)]
        report.feeds_due = len(due)
        if not due:
            return report

        fetched = await self._fetch_all(config, due, states)
        if _looks_offline(fetched):
            report.offline = True
            postpone(self.db, [f.url for f in due], now + config.settings.tick, "network unreachable")
            log.warning("all %d due feeds unreachable: treating it as our network being down", len(due))
            return report

        await asyncio.gather(
            *(
                self._process(config, ruleset, feed, states[feed.url], result, report)
                for feed, result in fetched
            )
        )
        return report

    async def _fetch_all(
        self, config: BotConfig, due: list[FeedConfig], states: dict[str, FeedState]
    ) -> list[tuple[FeedConfig, FetchResult]]:
        settings = config.settings.fetch
        gate = asyncio.Semaphore(settings.concurrency)

        async def one(feed: FeedConfig) -> tuple[FeedConfig, FetchResult]:
            state = states[feed.url]
            async with gate:
                result = await fetch_feed(
                    self.http, feed.url, etag=state.etag, last_modified=state.last_modified, settings=settings
                )
            return feed, result

        return await asyncio.gather(*(one(feed) for feed in due))

    async def _process(
        self,
        config: BotConfig,
        ruleset: RuleSet,
        feed: FeedConfig,
        state: FeedState,
        result: FetchResult,
        report: CycleReport,
    ) -> None:
        settings = config.settings
        interval = feed.interval or settings.poll_interval
        now = self.clock()
        if result.error_kind is not None:
            self._record_failure(
                feed,
                state,
                result.status,
                result.error_kind,
                result.error,
                result.retry_after,
                interval,
                settings.fetch.max_backoff,
                report,
            )
            return
        success = decide_after_success(
            now=now, interval=interval, max_age=result.max_age, max_cache_age=settings.fetch.max_cache_age
        )
        report.fetched += 1
        if result.not_modified or result.body is None:
            report.not_modified += 1
            record_fetch(
                self.db,
                feed.url,
                now=now,
                status=result.status,
                next_fetch_at=success.next_fetch_at,
                error_count=0,
                succeeded=True,
            )
            return
        body_hash = hashlib.sha256(result.body).hexdigest()
        if body_hash == state.body_hash:  # many servers ignore conditional requests
            report.unchanged_body += 1
            record_fetch(
                self.db,
                feed.url,
                now=now,
                status=result.status,
                next_fetch_at=success.next_fetch_at,
                error_count=0,
                succeeded=True,
                etag=result.etag,
                last_modified=result.last_modified,
            )
            return

        parsed = await self.parser.parse(
            result.body,
            url=feed.url,
            content_type=result.content_type,
            now=datetime.fromtimestamp(now, tz=UTC),
        )
        if not parsed.ok:
            self._record_failure(
                feed,
                state,
                result.status,
                parsed.error_kind or "parse",
                parsed.error,
                None,
                interval,
                settings.fetch.max_backoff,
                report,
            )
            return
        new_count = self._store_match_enqueue(config, ruleset, feed, state, parsed, report)
        record_fetch(
            self.db,
            feed.url,
            now=self.clock(),
            status=result.status,
            next_fetch_at=success.next_fetch_at,
            error_count=0,
            succeeded=True,
            error=parsed.warning,
            error_kind="warning" if parsed.warning else None,
            etag=result.etag,
            last_modified=result.last_modified,
            body_hash=body_hash,
            new_items=new_count,
        )

    def _store_match_enqueue(
        self,
        config: BotConfig,
        ruleset: RuleSet,
        feed: FeedConfig,
        state: FeedState,
        parsed: ParsedFeed,
        report: CycleReport,
    ) -> int:
        """Store new items, their matches and their outbox rows in one transaction (no await inside)."""
        now = self.clock()
        settings = config.settings
        with transaction(self.db):
            new_items = insert_new_items(self.db, parsed.items, now=now, backlog=state.is_new)
            alertable = {
                item.id
                for item in alertable_items(
                    new_items,
                    first_fetch=state.is_new,
                    now=datetime.fromtimestamp(now, tz=UTC),
                    max_age=settings.max_age,
                    backlog=settings.backlog,
                )
            }
            for item in new_items:
                matches = ruleset.match(item.title, item.summary)
                if not matches:
                    continue
                report.matched_items += 1
                record_matches(self.db, item.id, matches, now=now)
                if item.id in alertable:
                    planned = plan_deliveries(matches, config.routes, self.active_platforms)
                    report.enqueued += enqueue(self.db, item.id, planned, now=now)
        report.new_items += len(new_items)
        return len(new_items)

    def _record_failure(
        self,
        feed: FeedConfig,
        state: FeedState,
        status: int | None,
        kind: str,
        message: str | None,
        retry_after: float | None,
        interval: float,
        max_backoff: float,
        report: CycleReport,
    ) -> None:
        now = self.clock()
        decision = decide_after_failure(
            now=now,
            interval=interval,
            status=status,
            previous_errors=state.error_count,
            retry_after=retry_after,
            max_backoff=max_backoff,
        )
        record_fetch(
            self.db,
            feed.url,
            now=now,
            status=status,
            next_fetch_at=decision.next_fetch_at,
            error_count=decision.error_count,
            error_kind=kind,
            error=message,
            disabled_reason=decision.disabled_reason,
        )
        report.failed += 1
        report.errors[feed.url] = f"{kind}: {message}"
        log.warning("feed %s failed (%s): %s", feed.name or feed.url, kind, message)


def _is_due(state: FeedState, now: float) -> bool:
    return state.disabled_reason is None and (state.next_fetch_at is None or state.next_fetch_at <= now)


def _looks_offline(fetched: list[tuple[FeedConfig, FetchResult]]) -> bool:
    """Every due feed unreachable at once (and more than one of them): our network, not theirs."""
    return len(fetched) >= 2 and all(result.unreachable for _, result in fetched)
