"""The operator HTTP server: GET /healthz (is polling and dispatch alive?) and GET /metrics
(Prometheus text format). Its own small aiohttp app on its own port, apart from Slack's.

Metrics are read from SQLite on each scrape rather than counted in memory, so they stay right
across restarts and whichever process wrote the rows. This module only reads the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from sqlite_utils import Database

log = logging.getLogger(__name__)

Heartbeat = Callable[[], tuple[float | None, float | None]]  # (last poll, last dispatch), epoch seconds
FeedUrls = Callable[[], Collection[str]]


@dataclass(frozen=True)
class Health:
    ok: bool
    body: dict[str, object]


def judge_health(
    *, now: float, started_at: float, last_poll: float | None, last_dispatch: float | None, stall_after: float
) -> Health:
    """Healthy when the last poll and the last dispatch both finished within `stall_after`.
    Before the first of each, the process start counts, so a fresh start has `stall_after` of grace."""
    problems = []
    for job, last in (("poll", last_poll), ("dispatch", last_dispatch)):
        if last is None and now - started_at > stall_after:
            problems.append(f"{job} stalled: none finished in {now - started_at:.0f} s since start")
        elif last is not None and now - last > stall_after:
            problems.append(f"{job} stalled: last one finished {now - last:.0f} s ago")
    body: dict[str, object] = {
        "status": "stalled" if problems else "ok",
        "last_poll_age_s": None if last_poll is None else round(now - last_poll, 1),
        "last_dispatch_age_s": None if last_dispatch is None else round(now - last_dispatch, 1),
        "stall_after_s": stall_after,
    }
    if problems:
        body["problems"] = problems
    return Health(ok=not problems, body=body)


class DatabaseCollector:
    """Reads the current numbers from SQLite on every scrape (on the event loop's thread, which
    owns the connection; each query is an indexed count or a small GROUP BY)."""

    def __init__(
        self, db: Database, *, heartbeat: Heartbeat, clock: Callable[[], float], feeds: FeedUrls | None
    ) -> None:
        self._db = db
        self._heartbeat = heartbeat
        self._clock = clock
        self._feeds = feeds

    def collect(self) -> Iterator[Metric]:
        db = self._db
        yield self._feed_states()
        items = GaugeMetricFamily("newsbot_items_stored", "Items in the database.")
        items.add_metric([], _one(db, "SELECT count(*) FROM items"))
        yield items
        recent = GaugeMetricFamily("newsbot_items_seen_24h", "Items first seen in the last 24 hours.")
        recent.add_metric(
            [], _one(db, "SELECT count(*) FROM items WHERE seen_at >= ?", self._clock() - 86400)
        )
        yield recent
        seen = CounterMetricFamily("newsbot_items_seen", "New items found in feeds, per feed row, summed.")
        seen.add_metric([], _one(db, "SELECT coalesce(sum(items_seen), 0) FROM feeds"))
        yield seen
        matched = CounterMetricFamily("newsbot_matched_items", "Items matched, by rule.", labels=["rule"])
        for rule, count in db.execute("SELECT rule, count(*) FROM matches GROUP BY rule ORDER BY rule"):
            matched.add_metric([rule], count)
        yield matched
        yield from self._deliveries()
        notices = GaugeMetricFamily("newsbot_notices_raised", "Operator notices currently raised.")
        notices.add_metric([], _one(db, "SELECT count(*) FROM notices WHERE state = 'raised'"))
        yield notices
        last_poll, last_dispatch = self._heartbeat()
        for name, value in (("poll", last_poll), ("dispatch", last_dispatch)):
            stamp = GaugeMetricFamily(
                f"newsbot_last_{name}_timestamp_seconds", f"When the last {name} finished (Unix time)."
            )
            if value is not None:  # no sample yet rather than a misleading 0
                stamp.add_metric([], value)
            yield stamp

    def _feed_states(self) -> Metric:
        feeds = GaugeMetricFamily(
            "newsbot_feeds",
            "Feeds by state: healthy (last fetch worked), failing, disabled (stopped until resumed), "
            "pending (never fetched successfully nor failed yet).",
            labels=["state"],
        )
        counts = dict.fromkeys(("healthy", "failing", "disabled", "pending"), 0)
        wanted = set(self._feeds()) if self._feeds is not None else None
        rows = self._db.execute("SELECT url, error_count, disabled_reason, last_success_at FROM feeds")
        for url, error_count, disabled_reason, last_success_at in rows:
            if wanted is not None and url not in wanted:
                continue  # a row left by a feed removed from the config
            if disabled_reason is not None:
                counts["disabled"] += 1
            elif error_count:
                counts["failing"] += 1
            elif last_success_at is not None:
                counts["healthy"] += 1
            else:
                counts["pending"] += 1
        if wanted is not None:  # configured feeds without a row have not been polled yet
            counts["pending"] += len(wanted) - sum(counts.values())
        for state, count in counts.items():
            feeds.add_metric([state], count)
        return feeds

    def _deliveries(self) -> Iterator[Metric]:
        sent = CounterMetricFamily(
            "newsbot_alerts_sent", "Messages posted, by platform and kind.", labels=["platform", "kind"]
        )
        queued = GaugeMetricFamily(
            "newsbot_queue_depth", "Deliveries waiting or being sent, by platform.", labels=["platform"]
        )
        errors = GaugeMetricFamily(
            "newsbot_send_errors",
            "Deliveries that failed for good (failed) or are waiting to retry after an error (retrying).",
            labels=["platform", "state"],
        )
        rows = self._db.execute(
            "SELECT platform, kind, status, last_error IS NOT NULL, count(*) FROM deliveries"
            " GROUP BY platform, kind, status, last_error IS NOT NULL"
        )
        sent_by: dict[tuple[str, str], int] = {}
        queued_by: dict[str, int] = {}
        errors_by: dict[tuple[str, str], int] = {}
        for platform, kind, status, has_error, count in rows:
            queued_by.setdefault(
                platform, 0
            )  # every platform ever used gets its zeros: gaps read as "no data"
            errors_by.setdefault((platform, "retrying"), 0)
            errors_by.setdefault((platform, "failed"), 0)
            if status == "sent":
                sent_by[platform, kind] = sent_by.get((platform, kind), 0) + count
            elif status in ("pending", "sending"):
                queued_by[platform] = queued_by.get(platform, 0) + count
                if has_error:
                    errors_by[platform, "retrying"] = errors_by.get((platform, "retrying"), 0) + count
            elif status == "failed":
                errors_by[platform, "failed"] = errors_by.get((platform, "failed"), 0) + count
        for (platform, kind), count in sorted(sent_by.items()):
            sent.add_metric([platform, kind], count)
        for platform, count in sorted(queued_by.items()):
            queued.add_metric([platform], count)
        for (platform, state), count in sorted(errors_by.items()):
            errors.add_metric([platform, state], count)
        return iter((sent, queued, errors))


def _one(db: Database, sql: str, *params: object) -> float:
    return float(db.execute(sql, list(params)).fetchone()[0])


def build_health_app(
    db: Database,
    *,
    heartbeat: Heartbeat,
    stall_after: float,
    clock: Callable[[], float] = time.time,
    feeds: FeedUrls | None = None,
) -> web.Application:
    started_at = clock()
    registry = CollectorRegistry(auto_describe=False)  # dedicated: no process-wide default metrics
    registry.register(DatabaseCollector(db, heartbeat=heartbeat, clock=clock, feeds=feeds))

    async def healthz(request: web.Request) -> web.Response:
        last_poll, last_dispatch = heartbeat()
        health = judge_health(
            now=clock(),
            started_at=started_at,
            last_poll=last_poll,
            last_dispatch=last_dispatch,
            stall_after=stall_after,
        )
        return web.Response(
            status=200 if health.ok else 503,
            text=json.dumps(health.body),
            content_type="application/json",
        )

    async def metrics(request: web.Request) -> web.Response:
        try:
            body = generate_latest(registry)
        except Exception:
            log.exception("metrics: could not read the database")
            return web.Response(status=500, text="metrics unavailable: see the bot's log\n")
        # the classic text format: every Prometheus version reads it
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


async def start_health_server(
    db: Database,
    *,
    host: str,
    port: int,
    heartbeat: Heartbeat,
    stall_after: float,
    clock: Callable[[], float] = time.time,
    feeds: FeedUrls | None = None,
) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner (call `cleanup()` to stop) and the bound port (port 0: any)."""
    app = build_health_app(db, heartbeat=heartbeat, stall_after=stall_after, clock=clock, feeds=feeds)
    runner = web.AppRunner(app, access_log=None)  # probes every few seconds would drown the log
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    addresses = runner.addresses  # the bound (host, port, ...): port 0 picks a free one
    return runner, int(addresses[0][1]) if addresses else port


async def run_health_server(
    db: Database,
    *,
    host: str,
    port: int,
    heartbeat: Heartbeat,
    stall_after: float,
    clock: Callable[[], float] = time.time,
    feeds: FeedUrls | None = None,
) -> None:
    """Serve /healthz and /metrics until cancelled. A port already in use is logged, not fatal:
    alerts matter more than probes."""
    try:
        runner, bound = await start_health_server(
            db, host=host, port=port, heartbeat=heartbeat, stall_after=stall_after, clock=clock, feeds=feeds
        )
    except OSError as error:
        log.error("health server cannot listen on %s:%d: %s", host, port, error)
        return
    log.info("health: http://%s:%d/healthz and /metrics", host, bound)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
