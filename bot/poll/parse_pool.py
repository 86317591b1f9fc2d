"""Run feed parsing off the event loop, in worker processes.

feedparser is pure Python and takes tens of milliseconds per feed; in a thread it would still hold
the GIL against the loop, and one core would do all the parsing. Worker processes keep the loop
responsive (slash commands, shutdown) and parse on every core. Workers are spawned, not forked,
because forking a process that runs an event loop and threads is unsafe.

Workers follow the work: the executor starts one only when a parse finds none free (up to one per
core, at most four), and all of them exit after `idle_after` seconds with nothing to parse (most
ticks fetch nothing, or get 304s), so an idle bot holds no parser memory; the next parse starts
them again (a few hundred ms, once).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

from bot.poll.feed_parse import ListKey, ParsedFeed, RuleKey, parse_in_worker

IDLE_AFTER = 120.0  # seconds without a parse after which the workers exit


class ParsePool:
    def __init__(self, workers: int | None = None, *, idle_after: float = IDLE_AFTER) -> None:
        self._workers = workers or max(1, min(4, os.cpu_count() or 1))
        self._executor: ProcessPoolExecutor | None = None
        self._idle_after = idle_after
        self._parsing = 0
        self._idle_timer: asyncio.TimerHandle | None = None

    @property
    def running(self) -> bool:
        """Whether worker processes are up (for tests and status)."""
        return self._executor is not None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_lower_priority,
            )
        return self._executor

    async def warm_up(self) -> None:
        """Start the workers now (spawning takes a few hundred ms) rather than in the first cycle."""
        loop = asyncio.get_running_loop()
        pool = self._pool()
        await asyncio.gather(*(loop.run_in_executor(pool, _ready) for _ in range(self._workers)))

    async def parse(
        self,
        body: bytes,
        *,
        url: str,
        content_type: str | None,
        now: datetime,
        rules: RuleKey,
        known: frozenset[str] = frozenset(),
        embed: bool = False,
        lists: ListKey = (),
    ) -> ParsedFeed:
        """Parse, normalise and match one feed in a worker process (items in `known` unmatched)."""
        loop = asyncio.get_running_loop()
        self._parsing += 1
        try:
            return await loop.run_in_executor(
                self._pool(),
                parse_in_worker,
                body,
                url,
                content_type,
                now.timestamp(),
                rules,
                known,
                embed,
                lists,
            )
        except BrokenProcessPool:
            # a worker died (out of memory on a hostile feed, killed): record it, start afresh
            self._executor = None
            return ParsedFeed(error_kind="parse", error="the parser process died on this feed")
        finally:
            self._parsing -= 1
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            self._idle_timer = loop.call_later(self._idle_after, self._close_if_idle)

    def _close_if_idle(self) -> None:
        self._idle_timer = None
        if self._parsing == 0:
            self.close()

    def close(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def _ready() -> bool:
    import bot.poll.feed_parse  # noqa: F401  (imports feedparser and the matcher in the worker)

    return True


def _lower_priority() -> None:
    """Workers yield the CPU to the event loop's process: on a small machine the parsers would
    otherwise take every core and delay slash commands and sends by hundreds of milliseconds."""
    with contextlib.suppress(OSError):
        os.nice(10)
