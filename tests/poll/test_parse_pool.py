"""The parser worker processes follow the work: started by a parse, gone when idle."""

from __future__ import annotations

import asyncio
import multiprocessing
from datetime import UTC, datetime

from bot.poll.parse_pool import ParsePool
from tests.fakes.feed_server import rss

RULES = (("prometheus", '"Project Prometheus"', True),)


async def parse(pool: ParsePool, title: str):
    body = rss([{"title": title, "link": "https://news.example.com/1", "guid": "1"}]).encode()
    return await pool.parse(body, url="https://feeds.example.com/a.xml", content_type="application/rss+xml",
                            now=datetime.now(UTC), rules=RULES)  # fmt: skip


def worker_pids() -> set[int]:
    return {process.pid for process in multiprocessing.active_children() if process.pid is not None}


async def test_workers_exit_when_idle_and_start_again_for_the_next_feed() -> None:
    before = worker_pids()
    pool = ParsePool(workers=1, idle_after=0.5)
    try:
        parsed = await parse(pool, "Bezos's Project Prometheus buys a parts maker")
        assert parsed.ok and [m.rule for m in parsed.matches[parsed.items[0].id]] == ["prometheus"]
        workers = worker_pids() - before
        assert pool.running and workers

        for _ in range(150):  # the processes exit within a few seconds of idle_after; allow 15 s
            if not (worker_pids() & workers or pool.running):
                break
            await asyncio.sleep(0.1)
        assert not pool.running and not worker_pids() & workers  # idle: no parser process left

        parsed = await parse(pool, "Project Prometheus opens a Munich office")
        assert parsed.ok and pool.running
    finally:
        pool.close()


async def test_a_parse_in_progress_keeps_the_workers() -> None:
    pool = ParsePool(workers=1, idle_after=0.2)
    try:
        await parse(pool, "first")
        # Parses keep coming faster than idle_after: the workers stay up between them.
        for n in range(5):
            await asyncio.sleep(0.1)
            assert pool.running
            await parse(pool, f"story {n}")
    finally:
        pool.close()


async def test_a_worker_matches_with_the_rules_named_lists() -> None:
    pool = ParsePool(workers=1)
    body = rss(
        [{"title": "The Amazon founder buys a parts maker", "link": "https://n.example.com/1", "guid": "1"}]
    )
    try:
        parsed = await pool.parse(body.encode(), url="https://feeds.example.com/a.xml", content_type=None,
                                  now=datetime.now(UTC), rules=(("founder", "lead:@bezos", True),),
                                  lists=(("bezos", 'Bezos OR "Amazon founder"'),))  # fmt: skip
        assert parsed.ok and [m.rule for m in parsed.matches[parsed.items[0].id]] == ["founder"]
    finally:
        pool.close()
