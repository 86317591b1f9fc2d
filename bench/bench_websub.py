"""WebSub push latency, measured on the wall clock (run by hand).

    python bench/bench_websub.py [--pushes 50]

A local fake hub (tests/fakes/websub_hub.py) and feed server on 127.0.0.1; the real bot (build_bot,
the Service's dispatch wake-up, the parser worker processes, a SQLite file, the console adapter)
with its WebSub callback server. The bot polls the feed once (discovering the hub), subscribes, and
the hub verifies; then the hub pushes `pushes` signed bodies, one new matching item each, one after
another. For each push: the time from the hub starting its POST to the callback until the console
adapter wrote the alert (parse in a worker, dedup, match, store, queue, dispatch, render). Target:
p95 under 5 s. The hub's own delay between a publisher's ping and its push is not in it.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import PUBLIC_MAX_BODY, Environment, build_bot
from bot.deliver.adapters.console import ConsoleAlertSender
from bot.net.inbound import start_public_server
from bot.service import Service
from tests.conftest import ConfigDir
from tests.fakes.feed_server import FeedServer, rss
from tests.fakes.websub_hub import FakeHub


class TimedStream(io.StringIO):
    """The console adapter's stream: notes when each marker first appears in what it writes."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[str, float] = {}
        self.wanted: dict[str, asyncio.Event] = {}

    def write(self, text: str) -> int:
        now = time.perf_counter()
        for marker, event in self.wanted.items():
            if marker in text and marker not in self.seen:
                self.seen[marker] = now
                event.set()
        return super().write(text)


def item(n: int) -> dict[str, str]:
    return {
        "title": f"Bezos's Project Prometheus story number {n} (bench)",
        "link": f"https://news.example.com/bench/story-{n}",
        "guid": f"bench-{n}",
        "description": f"Details of story {n} about Vik Bajaj.",
        "pubDate": format_datetime(datetime.now(UTC)),
    }


async def main(pushes: int) -> None:
    feeds, hub = await FeedServer().start(), await FakeHub().start()
    with tempfile.TemporaryDirectory(prefix="bench-websub-") as scratch:
        topic = feeds.url("/feed.xml")
        feeds.serve("/feed.xml", rss([item(0)], links={"hub": hub.url, "self": topic}))
        config = ConfigDir(Path(scratch) / "config").write(
            feeds=[{"url": topic, "name": "Bench"}],
            settings={"websub": {"public_url": "http://127.0.0.1:9"}},
        )
        stream = TimedStream()
        bot = build_bot(
            Environment(config_dir=config.path, db_path=Path(scratch) / "bot.db"),
            console=ConsoleAlertSender(stream),
        )
        assert bot.websub is not None
        Service(bot)  # wires the pipeline's "alerts queued" to an immediate dispatch round, as in production
        runner, port = await start_public_server(
            [bot.websub.add_routes], "127.0.0.1", 0, max_body=PUBLIC_MAX_BODY
        )
        bot.websub.public_url = f"http://127.0.0.1:{port}"
        try:
            await bot.parser.warm_up()
            await bot.pipeline.run_cycle()  # backlog, and the hub is discovered
            await bot.websub.run_due()
            await hub.wait_verifications(1)
            latencies, answered = [], []
            for n in range(1, pushes + 1):
                marker = f"story number {n} (bench)"
                stream.wanted[marker] = asyncio.Event()
                started = time.perf_counter()
                assert await hub.publish(topic, rss([item(n)])) == [202]
                answered.append(time.perf_counter() - started)
                async with asyncio.timeout(30):
                    await stream.wanted[marker].wait()
                latencies.append(stream.seen[marker] - started)
        finally:
            await runner.cleanup()
            await bot.close()
            await hub.stop()
            await feeds.stop()

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    print(f"{pushes} pushes, one new matching item each, push start -> console alert written:")
    for name, values in (("alert", latencies), ("hub's POST answered (202)", answered)):
        print(
            f"  {name}: p50 {statistics.median(values) * 1000:.0f} ms, p95 {pct(values, 0.95) * 1000:.0f} ms,"
            f" max {max(values) * 1000:.0f} ms"
        )
    print(f"target p95 <= 5 s: {'met' if pct(latencies, 0.95) <= 5 else 'NOT met'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=50)
    asyncio.run(main(parser.parse_args().pushes))
