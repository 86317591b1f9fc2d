"""The long-running service: APScheduler drives the poll and dispatch jobs, and a feed whose alerts
were just queued wakes a dispatch round at once; platform listeners (Slack, Discord) run beside
them; SIGTERM and Ctrl-C stop everything cleanly.

Clean stop means: no new cycle starts, an in-flight send is allowed to finish (so its outbox row is
marked), and whatever is still queued stays in the database for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app import Bot, new_scheduler
from bot.config import Settings
from bot.deliver.dispatch import Dispatcher
from bot.errors import StoreError
from bot.ops.health import run_health_server
from bot.ops.notices import check_notices
from bot.store.db import checkpoint, checkpoint_off_loop
from bot.store.leases import SCHEDULER, Lease, hold_lease, release_lease

log = logging.getLogger(__name__)
STOP_GRACE_SECONDS = 10.0
CHECKPOINT_SECONDS = 10.0
NOTICE_CHECK_SECONDS = 600  # dead feeds and silent rules are judged in hours and days
WEBSUB_SECONDS = 60  # WebSub requests (new, renewals at 80% of a lease, retries) are sent within a minute
# The scheduler lease: renewed at every poll and dispatch run (every few seconds), so it lapses only
# when its holder has stopped; then a standby process takes over within this long.
LEASE_SECONDS = 60.0


def instance_name() -> str:
    """host/pid/nonce: readable in logs and `status`, and on one host the pid says whether it still runs."""
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"


def _stopped_on_this_host(holder: str) -> bool:
    host, _, rest = holder.partition("/")
    pid = rest.partition("/")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: a process of another user has that pid: it runs
        return False
    return False


class Service:
    def __init__(
        self,
        bot: Bot,
        listeners: list[Callable[[], Awaitable[None]]] | None = None,
        scheduler: AsyncIOScheduler | None = None,
    ) -> None:
        """`scheduler` is the composition root's (bot.app.open_bot); tests may leave it out."""
        self.bot = bot
        self.listeners = listeners or []
        self._scheduler = scheduler or new_scheduler(bot.config.file_config().settings)
        self._dispatch_lock = asyncio.Lock()
        self._dispatch_wanted = False
        self._dispatch_soon: asyncio.Task[None] | None = None
        self._stopping = False
        self.last_poll_at: float | None = None
        self.last_dispatch_at: float | None = None
        self.instance = instance_name()
        self.lease: Lease | None = (
            None  # the scheduler lease as last seen: ours, or the process we stand by for
        )
        self.dispatcher = Dispatcher(
            bot.db, bot.senders, clock=time.time, digest_after=bot.config.file_config().settings.digest_after
        )
        bot.pipeline.on_enqueued = self.wake_dispatch

    @property
    def leading(self) -> bool:
        return self.lease is not None and self.lease.holder == self.instance

    def take_lead(self) -> bool:
        """Whether this process runs the periodic jobs now: it takes or renews the scheduler lease,
        or stands by while another live process holds it (and says so in the log when that changes)."""
        was_leading, before = self.leading, self.lease
        now = time.time()
        try:
            lease = hold_lease(self.bot.db, SCHEDULER, self.instance, now=now, ttl=LEASE_SECONDS)
            if lease.holder != self.instance and _stopped_on_this_host(lease.holder):
                release_lease(self.bot.db, SCHEDULER, lease.holder)  # its process is gone: no wait for expiry
                lease = hold_lease(self.bot.db, SCHEDULER, self.instance, now=now, ttl=LEASE_SECONDS)
        except StoreError as error:
            log.warning("scheduler lease: %s; skipping this run", error)
            return False
        self.lease = lease
        if self.leading and not was_leading:
            previous = f" from {before.holder}" if before is not None else ""
            log.info("scheduling as %s%s", self.instance, previous)
        elif not self.leading and (was_leading or before is None or before.holder != lease.holder):
            log.warning(
                "another process (%s) is polling and sending; this one (%s) answers commands and stands by"
                " to take over if it stops", lease.holder, self.instance,
            )  # fmt: skip
        return self.leading

    def heartbeat(self) -> tuple[float | None, float | None]:
        """For /healthz: this process's last poll and dispatch while it leads; while it stands by, the
        leader's last renewal, so a load balancer keeps a healthy standby that answers commands."""
        if self.lease is not None and not self.leading and self.lease.expires_at > time.time():
            return self.lease.renewed_at, self.lease.renewed_at
        return self.last_poll_at, self.last_dispatch_at

    async def poll(self) -> None:
        # Cycles may overlap: one still waiting on a slow feed does not hold back the next tick, which
        # polls the other due feeds (the pipeline never fetches one feed twice at once).
        if not self.take_lead():
            return
        try:
            report = await self.bot.pipeline.run_cycle()
        except Exception:
            log.exception("poll cycle failed")  # the next tick tries again
            return
        self.last_poll_at = time.time()
        if report.feeds_due:
            log.info("poll: %s", report.summary())

    def wake_dispatch(self) -> None:
        """A feed's alerts were just queued: send them now, not at the next dispatch tick."""
        self._dispatch_wanted = True
        if self._dispatch_soon is None or self._dispatch_soon.done():
            self._dispatch_soon = asyncio.ensure_future(self._dispatch_while_wanted())

    async def _dispatch_while_wanted(self) -> None:
        while self._dispatch_wanted:  # alerts queued while a round was running get a round of their own
            self._dispatch_wanted = False
            await self.dispatch()

    async def dispatch(self) -> None:
        async with self._dispatch_lock:
            if self._stopping:
                return  # a round that was waiting for the lock does not start once stopping
            if not self.take_lead():
                return
            try:
                report = await self.dispatcher.run_once()
            except Exception:
                log.exception("dispatch failed")
                return
            self.last_dispatch_at = time.time()
            if report.sent or report.failed or report.retrying:
                log.info(
                    "dispatch: %d sent (%d in digests), %d retrying, %d failed",
                    report.sent, report.digested, report.retrying, report.failed,
                )  # fmt: skip

    async def check_notices(self) -> None:
        if not self.take_lead():
            return
        try:
            await check_notices(self.bot.db, self.bot.config.effective(), self.bot.senders, self.bot.clock)
        except Exception:
            log.exception("notice check failed")  # the next run tries again

    async def websub(self) -> None:
        if self.bot.websub is None or not self.take_lead():
            return
        try:
            await self.bot.websub.run_due()
        except Exception:
            log.exception("websub: subscription round failed")  # the next run tries again

    def health_listeners(self, settings: Settings) -> list[Callable[[], Awaitable[None]]]:
        """The /healthz and /metrics server, when `health.port` is set."""
        health = settings.health
        if not health.port:
            return []
        port = health.port
        return [
            lambda: run_health_server(
                self.bot.db,
                host=health.host,
                port=port,
                heartbeat=self.heartbeat,
                stall_after=health.stall_after,
                feeds=lambda: [feed.url for feed in self.bot.config.effective().feeds if feed.enabled],
            )
        ]

    async def checkpoint(self) -> None:
        try:
            await checkpoint(self.bot.env.db_path)
        except Exception:
            log.exception("WAL checkpoint failed")  # the WAL keeps growing until one succeeds

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT (or cancellation)."""
        settings = self.bot.config.file_config().settings
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)

        scheduler = self._scheduler
        now = datetime.now().astimezone()
        scheduler.add_job(
            self.poll,
            "interval",
            seconds=settings.tick,
            next_run_time=now,
            id="poll",
            max_instances=overlapping_cycles(settings),
        )
        scheduler.add_job(
            self.dispatch,
            "interval",
            seconds=settings.dispatch_interval,
            next_run_time=now + timedelta(seconds=1),
            id="dispatch",
        )
        scheduler.add_job(
            self.check_notices,
            "interval",
            seconds=NOTICE_CHECK_SECONDS,
            next_run_time=now + timedelta(seconds=60),
            id="notices",
        )
        if self.bot.websub is not None:
            scheduler.add_job(
                self.websub,
                "interval",
                seconds=WEBSUB_SECONDS,
                next_run_time=now + timedelta(seconds=5),
                id="websub",
            )
        checkpoint_off_loop(self.bot.db)
        scheduler.add_job(self.checkpoint, "interval", seconds=CHECKPOINT_SECONDS, id="checkpoint")
        await self.bot.parser.warm_up()
        scheduler.start()
        listeners = [*self.listeners, *self.health_listeners(settings)]
        tasks = [asyncio.ensure_future(listener()) for listener in listeners]
        log.info(
            "running: %d feeds, platforms %s; Ctrl-C to stop",
            len(self.bot.config.effective().feeds),
            ", ".join(sorted(self.bot.senders)),
        )
        try:
            await stop.wait()
        finally:
            log.info("stopping")
            self._stopping = True
            scheduler.shutdown(wait=False)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # let an in-flight send finish so its row is marked; queued rows stay for the next start
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_GRACE_SECONDS):
                    await self._dispatch_lock.acquire()
            if self.leading:  # a standby takes over at its next run, not at expiry
                with contextlib.suppress(StoreError):
                    release_lease(self.bot.db, SCHEDULER, self.instance)
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(signum)


def overlapping_cycles(settings: Settings) -> int:
    """How many poll cycles may run at once: a cycle lasts about as long as its slowest feed, at most
    `fetch.total_timeout` plus parsing, and the ticks during it poll the feeds not in flight."""
    return int(settings.fetch.total_timeout // settings.tick) + 2
