"""Run feed parsing off the event loop, in worker processes.

feedparser is pure Python and takes tens of milliseconds per feed; in a thread it would still hold
the GIL against the loop, and one core would do all the parsing. Worker processes keep the loop
responsive (slash commands, shutdown) and parse on every core. Workers are spawned, not forked,
because forking a process that runs an event loop and threads is unsafe.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

from bot.poll.feed_parse import ParsedFeed, RuleKey, parse_in_worker


class ParsePool:
    def __init__(self, workers: int | None = None) -> None:
        self._workers = workers or max(1, min(4, os.cpu_count() or 1))
        self._executor: ProcessPoolExecutor | None = None

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
        self, body: bytes, *, url: str, content_type: str | None, now: datetime, rules: RuleKey
    ) -> ParsedFeed:
        """Parse, normalise and match one feed in a worker process."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._pool(), parse_in_worker, body, url, content_type, now.timestamp(), rules
            )
        except BrokenProcessPool:
            # a worker died (out of memory on a hostile feed, killed): record it, start afresh
            self._executor = None
            return ParsedFeed(error_kind="parse", error="the parser process died on this feed")

    def close(self) -> None:
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
