"""The operator HTTP server: GET /healthz (are polling and dispatch alive?) and GET /metrics
(Prometheus text format, see bot.ops.metrics). Its own small aiohttp app on its own port, apart from
Slack's. It only reads: the service's heartbeat, and the database through bot.ops.metrics. Built on
bot.net.inbound: anything else anyone sends it gets a 4xx (405 for another method, 404 elsewhere).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from aiohttp import web
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlite_utils import Database

from bot.net.inbound import inbound_app, start_app
from bot.ops.metrics import Snapshot, database_file, render_metrics, render_metrics_from_file

log = logging.getLogger(__name__)

MAX_BODY = 4096  # GET only: no request here needs a body

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


def build_health_app(
    db: Database,
    *,
    heartbeat: Heartbeat,
    stall_after: float,
    clock: Callable[[], float] = time.time,
    feeds: FeedUrls | None = None,
) -> web.Application:
    started_at = clock()
    path = database_file(db)

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
            last_poll, last_dispatch = heartbeat()
            snapshot = Snapshot(
                now=clock(),
                last_poll=last_poll,
                last_dispatch=last_dispatch,
                feeds=frozenset(feeds()) if feeds is not None else None,
            )
            if path is None:  # in-memory: only the owning connection can see it
                body = render_metrics(db.conn, snapshot)
            else:
                body = await asyncio.to_thread(render_metrics_from_file, path, snapshot)
        except Exception:
            log.exception("metrics: could not read the database")
            return web.Response(status=500, text="metrics unavailable: see the bot's log\n")
        # the classic text format: every Prometheus version reads it
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})

    app = inbound_app(max_body=MAX_BODY)
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
    return await start_app(app, host, port)


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
