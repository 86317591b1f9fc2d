"""Time `latest` and `search` through CommandCore over 100,000 stored items (run by hand).

    python bench/bench_commands.py [--items 100000] [--calls 200]

Fills a temporary SQLite file (the real schema, FTS triggers included) with realistic headlines
and summaries spread over 90 days, about 15% of them matched by one or more rules, then times
`calls` requests of each kind end to end (parse, chat-edit overlay, query, reply) and prints p50
and p95. The target is p95 under 100 ms, well inside the platforms' 3-second acknowledgement.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.commands import CommandCore
from bot.config import BotConfig, RuleConfig, load_config
from bot.core.model import CommandRequest
from bot.store import open_database, transaction

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
SUBJECTS = [
    "Jeff Bezos", "Project Prometheus", "Vik Bajaj", "OpenAI", "Nvidia", "Amazon", "Blue Origin", "Google",
    "Microsoft", "Tesla", "Anthropic", "Meta", "Apple", "TSMC", "Intel", "Boeing", "SpaceX", "Samsung",
]  # fmt: skip
VERBS = [
    "plans",
    "unveils",
    "raises",
    "buys",
    "hires",
    "cuts",
    "delays",
    "launches",
    "backs",
    "sues",
    "wins",
    "loses",
]
OBJECTS = [
    "AI model for factories", "$6.2 billion round", "$100 billion manufacturing fund", "chip plant", "robotics startup",
    "aerospace supplier", "data center deal", "new CEO", "layoffs", "rocket engine", "antitrust case",
    "engineering software", "battery maker", "cloud contract", "defense contract", "research lab",
]  # fmt: skip
FILLER = " ".join(
    [
        "The company said on Tuesday that it expects the deal to close next year, according to people familiar",
        "with the matter. Analysts said the move could reshape the industry. Shares rose in early trading.",
        "Executives declined to comment on the price. The announcement follows months of speculation.",
    ]
).split(" ")
SOURCES = [
    "Reuters",
    "Bloomberg",
    "The Verge",
    "TechCrunch",
    "The New York Times",
    "CNBC",
    "Wired",
    "GeekWire",
]
LATEST = [
    "latest",
    "latest 5 prometheus",
    "latest 10 page 3",
    "latest 5 bajaj page 2",
    "latest 3 fund --page 5",
]
SEARCH = [
    "search bezos", 'search "Project Prometheus"', "search chip plant", "search Vik Bajaj fund", "search the",
    "search AI", "search rocket engine delays", 'search "c++" AND (', "search manufacturing fund Bezos",
]  # fmt: skip


def fill(db_path: Path, count: int, now: float) -> None:
    rng = random.Random(7)
    db = open_database(db_path)
    items, matches = [], []
    for number in range(count):
        subject, verb, obj = rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS)
        title = f"{subject} {verb} {obj}"
        summary = " ".join(rng.choices(FILLER, k=rng.randint(25, 60)))
        seen = now - rng.uniform(0, 90 * 86400)
        published = seen - rng.uniform(0, 6 * 3600) if rng.random() < 0.9 else None
        item_id = f"bench-{number}"
        items.append((item_id, "https://feed.example/rss", f"https://news.example/{number}", f"https://news.example/{number}",
                      f"{title.lower()} {number}", title, summary, rng.choice(SOURCES), published, seen, seen))  # fmt: skip
        rules = []
        if subject in ("Jeff Bezos", "Project Prometheus", "Vik Bajaj") and rng.random() < 0.8:
            rules.append("prometheus")
        if subject == "Vik Bajaj":
            rules.append("bajaj")
        if "fund" in obj and rng.random() < 0.5:
            rules.append("fund")
        matches += [(item_id, rule, "[]", seen + 1) for rule in rules]
    with transaction(db):
        db.conn.executemany(
            "INSERT INTO items (id, feed_url, link, canonical_link, story_key, title, summary, source, published_at,"
            " seen_at, last_seen_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            items,
        )
        db.conn.executemany(
            "INSERT INTO matches (item_id, rule, terms, matched_at) VALUES (?,?,?,?)", matches
        )
    db.execute("ANALYZE")
    matched = db.execute("SELECT count(DISTINCT item_id) FROM matches").fetchone()[0]
    print(f"filled {count:,} items, {len(matches):,} matches on {matched:,} items")
    db.conn.close()


async def no_feed_checks(url: str) -> str | None:
    return "feed checks are not part of this benchmark"


async def time_calls(core: CommandCore, texts: list[str], calls: int) -> list[float]:
    timings = []
    for index in range(calls):
        request = CommandRequest(platform="slack", user_id="U1", text=texts[index % len(texts)])
        started = time.perf_counter()
        reply = await core.handle(request)
        timings.append((time.perf_counter() - started) * 1000)
        assert reply.title != "Something went wrong", reply
    return timings


def report(name: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(
        f"{name:<28} p50 {statistics.median(ordered):6.1f} ms   p95 {p95:6.1f} ms   max {ordered[-1]:6.1f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    now = time.time()
    rules = (
        RuleConfig(name="prometheus", query='"Project Prometheus" OR (Prometheus AND (Bezos OR Bajaj))'),
        RuleConfig(name="bajaj", query='"Vik Bajaj"'),
        RuleConfig(name="fund", query="fund AND Bezos"),
    )
    config = BotConfig(rules=rules)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        started = time.perf_counter()
        fill(path, args.items, now)
        print(f"fill took {time.perf_counter() - started:.1f} s")
        db = open_database(path)
        core = CommandCore(
            db=db, config_provider=lambda: config, validate_feed=no_feed_checks, clock=lambda: now
        )
        report("latest (mixed forms)", await time_calls(core, LATEST, args.calls))
        report("search (mixed queries)", await time_calls(core, SEARCH, args.calls))
        for text in (*LATEST, *SEARCH, "facts", "status"):
            report(f"  {text[:26]}", await time_calls(core, [text], 20))
        config_dir = CONFIG_DIR
        timings = []
        for _ in range(20):
            started = time.perf_counter()
            load_config(config_dir)
            timings.append((time.perf_counter() - started) * 1000)
        report("(load_config of config/)", timings)


if __name__ == "__main__":
    asyncio.run(main())
