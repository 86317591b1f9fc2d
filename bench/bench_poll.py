"""Benchmark one poll cycle over a farm of local feeds (run by hand; results go in docs/benchmarks.md).

    python bench/bench_poll.py [--feeds 500] [--items 50] [--gzip] [--summary-words 80-160]

Reports, for the first run (everything new), the second (all 304) and the third (every feed
changed by 5 new items on top, `--added`): wall time, CPU time of the bot process and of its parser
workers, peak RSS of each, the event loop's worst stall; and the time feedparser alone takes to parse
the first run's bytes serially, so the pipeline's overhead shows as a ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The parser workers are spawned processes, and a spawned process imports the script that started
# it (as __mp_main__) before it runs anything. The bot started as `python -m bot` is spared that
# (multiprocessing skips a package's __main__), so its workers load only the parser. Importing the
# heavy modules here only when this file is the program keeps the workers measured as they run.
if __name__ == "__main__":
    import feedparser

    from bench.feed_farm import make_feed
    from bench.pollkit import (
        bot_over,
        children_peak_rss_mb,
        cpu_seconds,
        feed_farm,
        own_peak_rss_mb,
        scratch_dir,
    )


class StallMeter:
    """Measures how late a 10 ms ticker wakes up: the loop's worst stall."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.perf_counter() - before - 0.01)

    def __enter__(self) -> StallMeter:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


class CommandProbe:
    """Answers `/news latest 5` through the real command core every 200 ms during the cycle and keeps
    the slowest answer: what a team member would wait while a large poll runs."""

    def __init__(self, bot: object) -> None:
        self.core = bot.commands  # type: ignore[attr-defined]
        self.worst = 0.0
        self.answered = 0
        self._task: asyncio.Task[None] | None = None

    async def _ask(self) -> None:
        from bot.core.model import CommandRequest

        while True:
            await asyncio.sleep(0.2)
            started = time.perf_counter()
            await self.core.handle(CommandRequest(platform="slack", user_id="U1", text="latest 5"))
            self.worst = max(self.worst, time.perf_counter() - started)
            self.answered += 1

    def __enter__(self) -> CommandProbe:
        self._task = asyncio.get_running_loop().create_task(self._ask())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def run(feeds: int, items: int, added: int, gzip: bool, summary_words: str) -> None:
    with feed_farm(feeds, items, gzip=gzip, summary_words=summary_words) as farm, scratch_dir() as scratch:
        async with bot_over(farm, scratch) as bench:
            bot = bench.bot
            started = time.perf_counter()
            await bot.parser.warm_up()
            print(f"parser workers started in {time.perf_counter() - started:.2f}s (once per process)")
            for label in (
                "first run (all new)",
                "second run (all 304)",
                f"third run (+{added} items per feed)",
            ):
                if label.startswith("third"):
                    farm.grow(added)
                cpu_before = cpu_seconds()
                started = time.perf_counter()
                with StallMeter() as meter, CommandProbe(bot) as probe:
                    report = await bot.pipeline.run_cycle()
                wall = time.perf_counter() - started
                cpu_after = cpu_seconds()
                print(
                    f"{label}: wall {wall:.2f}s, cpu main {cpu_after[0] - cpu_before[0]:.2f}s"
                    f" + workers {cpu_after[1] - cpu_before[1]:.2f}s,"
                    f" worst loop stall {meter.worst * 1000:.0f} ms, slowest of {probe.answered}"
                    f" `latest 5` commands answered during it {probe.worst * 1000:.0f} ms;"
                    f" {report.fetched} fetched, {report.not_modified} unchanged, {report.new_items} new items,"
                    f" {report.matched_items} matched, {report.failed} failed"
                )
                bench.advance()
            print(
                f"peak RSS: main process {own_peak_rss_mb():.0f} MB,"
                f" parser workers {children_peak_rss_mb():.0f} MB (sum of peaks)"
            )

    low, high = (int(n) for n in summary_words.split("-"))
    bodies = [make_feed(i, items, summary_words=(low, high)) for i in range(feeds)]
    total_bytes = sum(len(b) for b in bodies)
    started = time.perf_counter()
    for body in bodies:
        feedparser.parse(body)
    alone = time.perf_counter() - started
    print(f"feedparser alone, serially, same {total_bytes / 1e6:.1f} MB: {alone:.2f}s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--added", type=int, default=5, help="new items per feed in the third run")
    parser.add_argument("--gzip", action="store_true", help="the farm serves gzip")
    parser.add_argument("--summary-words", default="80-160", help="LO-HI (210-410: feeds of ~131 KB)")
    args = parser.parse_args()
    asyncio.run(run(args.feeds, args.items, args.added, args.gzip, args.summary_words))


if __name__ == "__main__":
    main()
