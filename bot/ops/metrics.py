"""Prometheus metrics read from SQLite at scrape time (prometheus_client, text exposition format).

Counting from the database rather than in memory keeps the numbers right across restarts. A
scrape runs on a worker thread with its own read-only connection (WAL lets it read while the bot
writes), so a slow count never holds up the event loop. Anything that only the loop's thread may
touch (the service's heartbeat, the config) is read first into a Snapshot. Reads only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from sqlite_utils import Database

from bot.store.cycles import last_cycle


@dataclass(frozen=True)
class Snapshot:
    """What a scrape needs besides the database, taken on the event loop's thread."""

    now: float
    last_poll: float | None = None
    last_dispatch: float | None = None
    feeds: frozenset[str] | None = None  # configured feed URLs; None: every row in `feeds`


def database_file(db: Database) -> Path | None:
    """The file behind `db`'s main schema (None for an in-memory database)."""
    for _, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main" and file:
            return Path(file)
    return None


def render_metrics_from_file(path: Path, snapshot: Snapshot) -> bytes:
    """The metrics page, read through a fresh read-only connection (safe on any thread)."""
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=5)
    try:
        return render_metrics(conn, snapshot)
    finally:
        conn.close()


def render_metrics(conn: sqlite3.Connection, snapshot: Snapshot) -> bytes:
    registry = CollectorRegistry(auto_describe=False)  # dedicated: no process-wide default metrics
    registry.register(DatabaseCollector(conn, snapshot))
    return generate_latest(registry)


class DatabaseCollector:
    """One scrape's metrics; each query is an indexed count or one pass over a small table."""

    def __init__(self, conn: sqlite3.Connection, snapshot: Snapshot) -> None:
        self._conn = conn
        self._snapshot = snapshot

    def _one(self, sql: str, *params: object) -> float:
        return float(self._conn.execute(sql, params).fetchone()[0])

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot
        yield self._feed_states()
        items = GaugeMetricFamily("newsbot_items_stored", "Items in the database.")
        items.add_metric([], self._one("SELECT count(*) FROM items"))
        yield items
        recent = GaugeMetricFamily("newsbot_items_seen_24h", "Items first seen in the last 24 hours.")
        recent.add_metric([], self._one("SELECT count(*) FROM items WHERE seen_at >= ?", snap.now - 86400))
        yield recent
        seen = CounterMetricFamily("newsbot_items_seen", "New items found in feeds, per feed row, summed.")
        seen.add_metric([], self._one("SELECT coalesce(sum(items_seen), 0) FROM feeds"))
        yield seen
        matched = CounterMetricFamily("newsbot_matched_items", "Items matched, by rule.", labels=["rule"])
        for rule, count in self._conn.execute(
            "SELECT rule, count(*) FROM matches GROUP BY rule ORDER BY rule"
        ):
            matched.add_metric([rule], count)
        yield matched
        yield from self._deliveries()
        yield from self._websub()
        yield self._scheduler()
        yield from self._last_cycle()
        notices = GaugeMetricFamily("newsbot_notices_raised", "Operator notices currently raised.")
        notices.add_metric([], self._one("SELECT count(*) FROM notices WHERE state = 'raised'"))
        yield notices
        for job, value in (("poll", snap.last_poll), ("dispatch", snap.last_dispatch)):
            stamp = GaugeMetricFamily(
                f"newsbot_last_{job}_timestamp_seconds", f"When the last {job} finished (Unix time)."
            )
            if value is not None:  # no sample yet rather than a misleading 0
                stamp.add_metric([], value)
            yield stamp

    def _feed_states(self) -> Metric:
        feeds = GaugeMetricFamily(
            "newsbot_feeds",
            "Feeds by state: healthy (last fetch worked), failing, disabled (stopped until resumed), "
            "pending (not fetched yet).",
            labels=["state"],
        )
        counts = dict.fromkeys(("healthy", "failing", "disabled", "pending"), 0)
        wanted = self._snapshot.feeds
        rows = self._conn.execute("SELECT url, error_count, disabled_reason, last_success_at FROM feeds")
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

    def _scheduler(self) -> Metric:
        """Which process polls and sends (the scheduler lease), and how fresh its renewal is: with
        several processes on one database, every one's /metrics names the same holder."""
        lease = GaugeMetricFamily(
            "newsbot_scheduler_lease_renewed_timestamp_seconds",
            "When the process holding the scheduler lease last renewed it (Unix time), by holder"
            " (host/pid/nonce); no sample when no live process holds it.",
            labels=["holder"],
        )
        row = self._conn.execute(
            "SELECT holder, renewed_at FROM leases WHERE name = 'scheduler' AND expires_at > ?",
            (self._snapshot.now,),
        ).fetchone()
        if row is not None:
            lease.add_metric([row[0]], row[1])
        return lease

    def _websub(self) -> Iterator[Metric]:
        """WebSub subscriptions by state, and the pushes they took and refused (bad signatures)."""
        states = GaugeMetricFamily(
            "newsbot_websub_subscriptions", "WebSub subscriptions by state.", labels=["state"]
        )
        pushes = CounterMetricFamily(
            "newsbot_websub_pushes", "Signed WebSub pushes taken, over the current subscriptions."
        )
        bad = CounterMetricFamily(
            "newsbot_websub_bad_signatures",
            "WebSub pushes ignored for a missing or wrong X-Hub-Signature, over the current subscriptions.",
        )
        counts = dict.fromkeys(("requested", "verified", "stale", "expired", "failed"), 0)
        pushed = refused = 0
        rows = self._conn.execute(
            "SELECT state, count(*), sum(pushes), sum(bad_signatures) FROM websub_subscriptions GROUP BY state"
        )
        for state, count, state_pushes, state_bad in rows:
            counts[state] = counts.get(state, 0) + count
            pushed += state_pushes or 0
            refused += state_bad or 0
        for state, count in counts.items():
            states.add_metric([state], count)
        pushes.add_metric([], pushed)
        bad.add_metric([], refused)
        return iter((states, pushes, bad))

    def _last_cycle(self) -> Iterator[Metric]:
        """The newest stored poll cycle's report: the same value `status` and the log line show."""
        cycle = last_cycle(self._conn)
        feeds = GaugeMetricFamily(
            "newsbot_last_cycle_feeds", "Feeds in the last poll cycle, by outcome.", labels=["outcome"]
        )
        items = GaugeMetricFamily(
            "newsbot_last_cycle_items",
            "Items in the last poll cycle: new, matched, alerts queued.",
            labels=["kind"],
        )
        duration = GaugeMetricFamily(
            "newsbot_last_cycle_duration_seconds", "How long the last poll cycle took."
        )
        if cycle is not None:  # no samples before the first cycle rather than misleading zeros
            for outcome, count in (
                ("polled", cycle.feeds_due), ("fetched", cycle.fetched),
                ("unchanged", cycle.not_modified + cycle.unchanged_body), ("failed", cycle.failed),
                ("skipped", sum(cycle.skipped.values())),
            ):  # fmt: skip
                feeds.add_metric([outcome], count)
            for kind, count in (
                ("new", cycle.new_items),
                ("matched", cycle.matched_items),
                ("queued", cycle.enqueued),
            ):
                items.add_metric([kind], count)
            duration.add_metric([], (cycle.finished_at or cycle.started_at) - cycle.started_at)
        return iter((feeds, items, duration))

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
        rows = self._conn.execute(
            "SELECT platform, kind, status, last_error IS NOT NULL, count(*) FROM deliveries"
            " GROUP BY platform, kind, status, last_error IS NOT NULL"
        )
        sent_by: dict[tuple[str, str], int] = {}
        queued_by: dict[str, int] = {}
        errors_by: dict[tuple[str, str], int] = {}
        for platform, kind, status, has_error, count in rows:
            queued_by.setdefault(
                platform, 0
            )  # every platform ever used gets its zeros: a gap reads as "no data"
            errors_by.setdefault((platform, "retrying"), 0)
            errors_by.setdefault((platform, "failed"), 0)
            if status == "sent":
                sent_by[platform, kind] = sent_by.get((platform, kind), 0) + count
            elif status in ("pending", "sending"):
                queued_by[platform] += count
                if has_error:
                    errors_by[platform, "retrying"] += count
            elif status == "failed":
                errors_by[platform, "failed"] += count
        for (platform, kind), count in sorted(sent_by.items()):
            sent.add_metric([platform, kind], count)
        for platform, count in sorted(queued_by.items()):
            queued.add_metric([platform], count)
        for (platform, state), count in sorted(errors_by.items()):
            errors.add_metric([platform, state], count)
        return iter((sent, queued, errors))
