"""Alert latency: from an item appearing in a feed to its alert being posted. Run by hand:

    python bench/bench_latency.py [--feeds 40] [--warmup-days 1] [--days 1] [--seed 7]

Each feed publishes at random moments (a Poisson process; the feeds' rates spread log-uniformly
from 0.5 to 150 items a day, as a mix of quiet blogs and busy wires does). The real poll cycle
(fetch over HTTP from a local server with ETags and 304s, parse in the worker processes, match,
store, group, queue) and a dispatch round to the console run every `tick` on a simulated clock the
bench advances, so a simulated day takes a minute or two. The same publishing schedule is run
twice: fixed intervals (`schedule: {adaptive: false}`) and the adaptive schedule. After a warm-up
(so the adaptive schedule has rates to go on), it prints per mode the requests per hour, and the
p50 / p95 / max time from publication to the item being stored (every item) and to its alert
being posted (items the default rules match), against the target p95 <= interval / 2 + 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import math
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import yaml
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.feed_farm import STORY_HEADLINES, WORDS
from bot.app import Environment, build_bot
from bot.deliver.adapters.console import ConsoleAlertSender
from bot.deliver.dispatch import dispatch_due

DAY = 86400.0
FEED_LENGTH = 20  # items a feed carries: the newest 20 published so far


@dataclass
class Published:
    guid: str
    at: float
    title: str
    relevant: bool


@dataclass
class SimFeeds:
    """Every feed's publishing schedule, and the simulated now the server answers for."""

    schedule: dict[int, list[Published]]
    now: float = 0.0
    requests: int = 0
    counting: bool = False

    def visible(self, index: int) -> list[Published]:
        items = [p for p in self.schedule[index] if p.at <= self.now]
        return items[-FEED_LENGTH:][::-1]


@dataclass
class Result:
    mode: str
    requests_per_hour: float
    stored: list[float] = field(default_factory=list)
    posted: list[float] = field(default_factory=list)


def make_schedule(feeds: int, start: float, seconds: float, seed: int) -> dict[int, list[Published]]:
    rng = random.Random(seed)
    schedule: dict[int, list[Published]] = {}
    for index in range(feeds):
        per_day = math.exp(rng.uniform(math.log(0.5), math.log(150)))
        at, items = start, []
        while True:
            at += rng.expovariate(per_day / DAY)
            if at >= start + seconds:
                break
            serial = len(items)
            relevant = rng.random() < 0.2
            if relevant:  # a distinct event each time, so grouping does not fold them into one
                who = " ".join(rng.choice(WORDS).capitalize() for _ in range(2))
                title = f"{rng.choice(STORY_HEADLINES)}: {who} {serial} {index}"
            else:
                title = " ".join(rng.choice(WORDS) for _ in range(8)).capitalize()
            items.append(Published(f"feed{index}-item{serial}", at, title, relevant))
        schedule[index] = items
    return schedule


def feed_body(index: int, items: list[Published]) -> bytes:
    parts = [f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {index}</title>']
    for item in items:
        parts.append(
            f"<item><title>{escape(item.title)}</title><link>https://feed{index}.example/{item.guid}</link>"
            f"<guid>{item.guid}</guid><description>{escape(item.title)}.</description>"
            f"<pubDate>{format_datetime(datetime.fromtimestamp(item.at, tz=UTC))}</pubDate></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


async def serve(sim: SimFeeds) -> tuple[web.AppRunner, int]:
    async def handle(request: web.Request) -> web.Response:
        index = int(request.match_info["index"])
        items = sim.visible(index)
        etag = '"' + hashlib.sha1("|".join(i.guid for i in items).encode()).hexdigest() + '"'
        if sim.counting:
            sim.requests += 1
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=feed_body(index, items), content_type="application/rss+xml", headers={"ETag": etag}
        )

    app = web.Application()
    app.router.add_get("/feed/{index}.xml", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port


async def run_mode(
    adaptive: bool, args: argparse.Namespace, schedule: dict[int, list[Published]], start: float
) -> Result:
    sim = SimFeeds(schedule, now=start)
    runner, port = await serve(sim)
    mode = "adaptive" if adaptive else "fixed"
    try:
        with tempfile.TemporaryDirectory() as scratch:
            config = Path(scratch) / "config"
            config.mkdir()
            rules = yaml.safe_load((ROOT / "config" / "rules.yaml").read_text(encoding="utf-8"))
            files = {
                "rules.yaml": rules,
                "feeds.yaml": {"feeds": [{"url": f"http://127.0.0.1:{port}/feed/{i}.xml"} for i in range(args.feeds)]},
                "routes.yaml": {"routes": [{"platform": "console", "channel": "bench", "rules": ["all"]}]},
                "settings.yaml": {
                    "poll_interval": f"{args.interval}s", "tick": f"{args.tick}s",
                    "schedule": {"adaptive": adaptive}, "health": {"port": None},
                    "fetch": {"allow_private": True, "concurrency": 16},
                },
            }  # fmt: skip
            for name, content in files.items():
                (config / name).write_text(yaml.safe_dump(content), encoding="utf-8")
            bot = build_bot(
                Environment(config_dir=config, db_path=Path(scratch) / "bench.db"),
                console=ConsoleAlertSender(io.StringIO()),
            )
            bot.clock = lambda: sim.now
            measure_from = start + args.warmup_days * DAY
            end = measure_from + args.days * DAY
            try:
                while sim.now < end:
                    sim.counting = sim.now >= measure_from
                    await bot.pipeline.run_cycle()
                    await dispatch_due(bot.db, bot.senders, clock=bot.clock)
                    sim.now += args.tick
                # feedparser resolves a guid against the feed's URL: compare the last path segment
                stored = {
                    guid.rsplit("/", 1)[-1]: at
                    for guid, at in bot.db.execute("SELECT guid, seen_at FROM items")
                }
                posted = {
                    guid.rsplit("/", 1)[-1]: at
                    for guid, at in bot.db.execute(
                        "SELECT i.guid, MIN(d.sent_at) FROM deliveries d JOIN items i ON i.id = d.item_id"
                        " WHERE d.status = 'sent' GROUP BY i.guid"
                    )
                }
            finally:
                await bot.close()
    finally:
        await runner.cleanup()
    result = Result(mode, sim.requests / (args.days * 24))
    for items in schedule.values():
        for item in items:
            # Items published in the last interval of the run may not have been seen yet: left out.
            if not measure_from <= item.at < end - 4 * args.interval:
                continue
            if item.guid in stored:
                result.stored.append(stored[item.guid] - item.at)
            if item.relevant and item.guid in posted:
                result.posted.append(posted[item.guid] - item.at)
    return result


def best_possible_p95(rates: list[float], interval: float, cap: float) -> float:
    """The least p95 wait any schedule could give these feeds at the fixed schedule's requests per
    hour, before the tick: give the whole budget to the busiest feeds, polling them every L seconds
    and the rest every `cap`, and find the least L with at most 5% of items waiting longer."""
    budget, total = len(rates) / interval, sum(rates)
    for wait in range(1, int(cap)):
        spare, late = budget - len(rates) / cap, 0.0
        for rate in sorted(rates, reverse=True):
            cost = 1 / wait - 1 / cap
            if spare >= cost:
                spare -= cost
                continue
            period = 1 / (1 / cap + spare) if spare > 0 else cap
            spare = 0.0
            late += rate * max(0.0, 1 - wait / period)
        if late <= 0.05 * total:
            return float(wait)
    return cap


def quantiles(values: list[float]) -> str:
    if len(values) < 2:
        return "n/a"
    cuts = statistics.quantiles(values, n=100)
    return f"{cuts[49]:6.0f} s {cuts[94]:6.0f} s {max(values):6.0f} s"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=40)
    parser.add_argument("--warmup-days", type=float, default=1.0)
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--interval", type=int, default=300, help="poll_interval, seconds")
    parser.add_argument("--tick", type=int, default=10, help="scheduler tick, seconds (the default setting)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    start = time.time() - (args.warmup_days + args.days) * DAY  # dates the freshness check accepts
    schedule = make_schedule(args.feeds, start, (args.warmup_days + args.days) * DAY, args.seed)
    total = sum(len(items) for items in schedule.values())
    print(
        f"{args.feeds} feeds, {total} items over {args.warmup_days + args.days:g} simulated days"
        f" (measured: the last {args.days:g}), poll_interval {args.interval} s, tick {args.tick} s"
    )
    target = args.interval / 2 + 2
    print(
        f"{'mode':9} {'requests/h':>10}  {'stored p50':>10} {'p95':>8} {'max':>8}   {'posted p50':>10} {'p95':>8} {'max':>8}"
    )
    for adaptive in (False, True):
        began = time.perf_counter()
        result = await run_mode(adaptive, args, schedule, start)
        print(
            f"{result.mode:9} {result.requests_per_hour:10.0f}  {quantiles(result.stored)}   {quantiles(result.posted)}"
            f"   ({len(result.stored)} stored, {len(result.posted)} posted; {time.perf_counter() - began:.0f} s wall)"
        )
    rates = [len(items) for items in schedule.values()]
    cap = 600.0  # the default max_interval
    print(f"target: p95 <= interval / 2 + 2 s = {target:.0f} s at the same requests per hour")
    print(f"least p95 any schedule could give these feeds at these requests per hour, with a {cap:.0f} s cap and"
          f" before the tick: {best_possible_p95(rates, args.interval, cap):.0f} s")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
