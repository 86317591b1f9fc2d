"""The operator server over a real socket on 127.0.0.1 and a real SQLite file: /healthz follows the
service's heartbeat (with a start-up grace), /metrics reads the database on every scrape."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlite_utils import Database

from bot.ops.health import judge_health, run_health_server, start_health_server
from bot.ops.metrics import Snapshot, render_metrics
from bot.service import Service
from bot.store import open_database
from bot.store.leases import SCHEDULER, hold_lease, release_lease
from tests.conftest import TestClock

STALL = 900.0
T0 = 1_800_000_000.0


class Heartbeat:
    """Stands in for Service.last_poll_at / last_dispatch_at."""

    def __init__(self) -> None:
        self.last_poll: float | None = None
        self.last_dispatch: float | None = None

    def __call__(self) -> tuple[float | None, float | None]:
        return self.last_poll, self.last_dispatch


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_database(tmp_path / "bot.db")
    yield database
    database.conn.close()


@pytest.fixture
async def serve(db: Database) -> AsyncIterator[Callable[..., Any]]:
    runners = []

    async def start(heartbeat: Heartbeat, clock: TestClock, **options: Any) -> str:
        runner, port = await start_health_server(
            db, host="127.0.0.1", port=0, heartbeat=heartbeat, stall_after=STALL, clock=clock, **options
        )
        runners.append(runner)
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers["Content-Type"], await response.text()


async def test_healthz_is_ok_during_start_grace_then_fails_when_nothing_has_finished(serve):
    clock, beat = TestClock(T0), Heartbeat()
    base = await serve(beat, clock)
    status, content_type, body = await get(base + "/healthz")
    assert status == 200 and content_type.startswith("application/json")
    assert '"status": "ok"' in body

    clock.advance(STALL + 1)
    status, _, body = await get(base + "/healthz")
    assert status == 503
    assert "poll stalled" in body and "dispatch stalled" in body


async def test_healthz_fails_when_polling_stalls_and_names_only_the_stalled_job(serve):
    clock, beat = TestClock(T0), Heartbeat()
    base = await serve(beat, clock)
    clock.advance(2 * STALL)  # past the start grace, but both jobs are running
    beat.last_poll = beat.last_dispatch = clock.now - 5
    status, _, body = await get(base + "/healthz")
    assert status == 200
    assert '"last_poll_age_s": 5.0' in body

    clock.advance(STALL)  # dispatch keeps going, polling does not
    beat.last_dispatch = clock.now - 1
    status, _, body = await get(base + "/healthz")
    assert status == 503
    assert "poll stalled: last one finished 905 s ago" in body
    assert "dispatch stalled" not in body

    beat.last_poll = clock.now  # a poll completes again: healthy at once
    status, _, _ = await get(base + "/healthz")
    assert status == 200


def test_stall_exactly_at_the_limit_still_counts_as_alive():
    health = judge_health(
        now=T0, started_at=T0 - 5000, last_poll=T0 - STALL, last_dispatch=T0, stall_after=STALL
    )
    assert health.ok


def seed(db: Database, now: float) -> None:
    """Four feeds in four states, items, matches and deliveries across two platforms."""
    feeds = [
        ("https://ok.example/rss", 0, None, now - 60),
        ("https://down.example/rss", 3, None, now - 90000),
        ("https://gone.example/rss", 1, "410 Gone", now - 90000),
        ("https://new.example/rss", 0, None, None),
    ]
    for url, errors, disabled, success in feeds:
        db.execute(
            "INSERT INTO feeds (url, error_count, disabled_reason, last_success_at, first_success_at, items_seen)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [url, errors, disabled, success, success, 2 if success else 0],
        )
    for index in range(5):  # two seen today, three two days ago
        seen = now - 3600 if index < 2 else now - 2 * 86400
        db.execute(
            "INSERT INTO items (id, feed_url, title, seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?)",
            [f"item{index}", "https://ok.example/rss", f"Story {index}", seen, seen],
        )
    for item, rule in (("item0", "prometheus"), ("item1", "prometheus"), ("item1", "bajaj")):
        db.execute("INSERT INTO matches (item_id, rule, matched_at) VALUES (?, ?, ?)", [item, rule, now])
    deliveries = [
        ("item0", "slack", "C1", "sent", None),
        ("item1", "slack", "C1", "sent", None),
        ("item0", "discord", "D1", "sent", None),
        ("item2", "slack", "C1", "pending", None),
        ("item3", "slack", "C1", "pending", "HTTP 503"),
        ("item4", "discord", "D1", "failed", "channel_not_found: no such channel"),
    ]
    for item, platform, channel, status, error in deliveries:
        db.execute(
            "INSERT INTO deliveries (item_id, platform, channel, status, last_error, next_attempt_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [item, platform, channel, status, error, now, now],
        )
    db.execute("INSERT INTO notices (key, state, changed_at) VALUES ('feed-down:x', 'raised', ?)", [now])


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def test_metrics_report_counts_read_from_the_database(serve, db):
    clock, beat = TestClock(T0), Heartbeat()
    beat.last_poll, beat.last_dispatch = T0 - 30, T0 - 2
    seed(db, T0)
    base = await serve(beat, clock)
    status, content_type, text = await get(base + "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4")
    got = samples(text)
    assert got["newsbot_feeds", (("state", "healthy"),)] == 1
    assert got["newsbot_feeds", (("state", "failing"),)] == 1
    assert got["newsbot_feeds", (("state", "disabled"),)] == 1
    assert got["newsbot_feeds", (("state", "pending"),)] == 1
    assert got["newsbot_items_stored", ()] == 5
    assert got["newsbot_items_seen_24h", ()] == 2
    assert got["newsbot_items_seen_total", ()] == 6  # 2 from each feed that ever worked
    assert got["newsbot_matched_items_total", (("rule", "prometheus"),)] == 2
    assert got["newsbot_matched_items_total", (("rule", "bajaj"),)] == 1
    assert got["newsbot_alerts_sent_total", (("kind", "alert"), ("platform", "slack"))] == 2
    assert got["newsbot_alerts_sent_total", (("kind", "alert"), ("platform", "discord"))] == 1
    assert got["newsbot_queue_depth", (("platform", "slack"),)] == 2
    assert got["newsbot_send_errors", (("platform", "slack"), ("state", "retrying"))] == 1
    assert got["newsbot_send_errors", (("platform", "discord"), ("state", "failed"))] == 1
    assert got["newsbot_notices_raised", ()] == 1
    assert got["newsbot_last_poll_timestamp_seconds", ()] == T0 - 30
    assert got["newsbot_last_dispatch_timestamp_seconds", ()] == T0 - 2


async def test_metrics_follow_new_rows_on_the_next_scrape_and_omit_unknown_timestamps(serve, db):
    clock, beat = TestClock(T0), Heartbeat()
    seed(db, T0)
    base = await serve(beat, clock)
    before = samples((await get(base + "/metrics"))[2])
    db.execute("UPDATE deliveries SET status = 'sent', last_error = NULL WHERE status = 'pending'")
    db.execute("UPDATE feeds SET error_count = 0, last_success_at = ? WHERE url LIKE '%down%'", [T0])
    after = samples((await get(base + "/metrics"))[2])
    assert before["newsbot_alerts_sent_total", (("kind", "alert"), ("platform", "slack"))] == 2
    assert after["newsbot_alerts_sent_total", (("kind", "alert"), ("platform", "slack"))] == 4
    assert after["newsbot_queue_depth", (("platform", "slack"),)] == 0  # a zero, not a gap
    assert after["newsbot_send_errors", (("platform", "slack"), ("state", "retrying"))] == 0
    assert after["newsbot_feeds", (("state", "healthy"),)] == 2
    assert after["newsbot_feeds", (("state", "failing"),)] == 0
    assert not any(name.startswith("newsbot_last_poll") for name, _ in after)  # no poll yet: no sample


async def test_metrics_count_only_configured_feeds_when_given_them(serve, db):
    clock, beat = TestClock(T0), Heartbeat()
    seed(db, T0)
    configured = ["https://ok.example/rss", "https://down.example/rss", "https://added.example/rss"]
    base = await serve(beat, clock, feeds=lambda: configured)
    got = samples((await get(base + "/metrics"))[2])
    states = {labels[0][1]: value for (name, labels), value in got.items() if name == "newsbot_feeds"}
    # gone and new were removed from the config; added has no row yet (never polled)
    assert states == {"healthy": 1, "failing": 1, "disabled": 0, "pending": 1}


async def test_run_health_server_logs_a_port_in_use_and_returns_without_raising(db, caplog):
    clock, beat = TestClock(T0), Heartbeat()
    runner, port = await start_health_server(
        db, host="127.0.0.1", port=0, heartbeat=beat, stall_after=STALL, clock=clock
    )
    try:
        await run_health_server(db, host="127.0.0.1", port=port, heartbeat=beat, stall_after=STALL)
    finally:
        await runner.cleanup()
    assert "cannot listen" in caplog.text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_service_serves_healthz_on_the_configured_port_and_reports_its_first_poll(config_dir, make_bot):
    port = free_port()
    config_dir.write(settings={"health": {"port": port, "stall_after": "1m"}, "dispatch_interval": "1s"})
    service = Service(make_bot(config_dir))
    running = asyncio.ensure_future(service.run())
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                status, _, body = await get(f"http://127.0.0.1:{port}/healthz")
            except aiohttp.ClientConnectionError:
                status, body = 0, ""
            if (
                status == 200
                and '"last_poll_age_s": null' not in body
                and '"last_dispatch_age_s": null' not in body
            ):
                break
            assert time.monotonic() < deadline, f"no healthy answer with both jobs done: {status} {body}"
            await asyncio.sleep(0.1)
        _, _, metrics = await get(f"http://127.0.0.1:{port}/metrics")
        assert "newsbot_last_poll_timestamp_seconds" in samples_names(metrics)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    with pytest.raises(aiohttp.ClientConnectionError):  # stopped with the service
        await get(f"http://127.0.0.1:{port}/healthz")


def samples_names(text: str) -> set[str]:
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


async def test_a_standby_process_reports_the_leaders_heartbeat_and_runs_no_jobs(config_dir, make_bot):
    config_dir.write()
    bot = make_bot(config_dir)
    leader = hold_lease(bot.db, SCHEDULER, "other-host/4242/abc", now=time.time() - 5, ttl=60)
    service = Service(bot)
    await service.poll()
    await service.dispatch()
    assert not service.leading and service.last_poll_at is None and service.last_dispatch_at is None
    assert service.heartbeat() == (leader.renewed_at, leader.renewed_at)  # healthy while the leader renews
    assert lease_samples(bot) == {"other-host/4242/abc": leader.renewed_at}  # /metrics names the holder

    release_lease(bot.db, SCHEDULER, "other-host/4242/abc")  # the leader stopped cleanly
    await service.poll()
    assert service.leading and service.last_poll_at is not None
    assert service.heartbeat() == (service.last_poll_at, None)
    assert list(lease_samples(bot)) == [service.instance]


def lease_samples(bot) -> dict[str, float]:  # type: ignore[no-untyped-def]
    page = render_metrics(bot.db.conn, Snapshot(now=time.time())).decode()
    return {
        sample.labels["holder"]: sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name == "newsbot_scheduler_lease_renewed_timestamp_seconds"
    }
