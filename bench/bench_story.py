"""Cost per item of story grouping (find_story + add_to_story) as the index grows. Run by hand:

    python bench/bench_story.py [--sizes 1000,10000,100000] [--probe 500] [--spread-hours 40]

Fills a temporary SQLite database (the real schema, WAL, on disk) with synthetic news items, then
at each size times --probe new items through find_story + add_to_story, the calls the poll cycle
makes per matched item, one transaction per item as in the pipeline. The items' seen times are spread over
--spread-hours; the default, 40, keeps every story inside the 48 h window, the worst case.
Synthetic text: words drawn from a Zipf-like vocabulary, a shared "topic" (Bezos, Prometheus)
in a third of the items, amounts, and one in five items a reworded copy of an earlier one.
The target is a roughly constant cost per item from 1k to 100k stored items.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.model import Item
from bot.store.db import open_database, transaction
from bot.store.stories import add_to_story, find_story

TOPIC = ["Bezos", "Prometheus", "Project", "Bajaj"]
VERBS = ["buys", "hires", "raises", "launches", "sues", "cuts", "opens", "delays", "signs", "wins"]


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    syllables = ["ka", "ro", "mi", "ten", "dor", "vex", "lu", "sar", "pin", "qua", "zel", "bri", "ton", "mor"]
    words = {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(size * 2)}
    return sorted(words)[:size]


class Reports:
    """Synthetic headline + summary pairs; some are rewordings of earlier ones (near-duplicates)."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.words = vocabulary(self.rng)
        self.weights = [1 / (rank + 10) for rank in range(len(self.words))]  # Zipf-like
        self.recent: list[tuple[str, str]] = []

    def _words(self, n: int) -> list[str]:
        return self.rng.choices(self.words, self.weights, k=n)

    def next(self) -> tuple[str, str]:
        rng = self.rng
        if self.recent and rng.random() < 0.2:  # another outlet's copy: same facts, some words changed
            title, summary = rng.choice(self.recent[-500:])
            words = title.split()
            for _ in range(3):
                words[rng.randrange(len(words))] = self._words(1)[0]
            return " ".join(words), summary
        topic = TOPIC[: rng.randint(1, 4)] if rng.random() < 0.33 else []
        name = self._words(1)[0].capitalize()
        title = " ".join([*topic, rng.choice(VERBS), name, *self._words(5)])
        amount = f"${rng.randint(1, 999)}.{rng.randint(0, 9)} billion" if rng.random() < 0.5 else ""
        summary = (
            " ".join([name, *self._words(12), amount, *self._words(6)]) + ". " + " ".join(self._words(20))
        )
        self.recent.append((title, summary))
        return title, summary


def insert_item(db, item_id: str, title: str, summary: str, now: float) -> Item:  # type: ignore[no-untyped-def]
    item = Item(
        id=item_id, feed_url="https://feeds.example/rss", title=title, summary=summary, source="Bench"
    )
    db.execute(
        "INSERT INTO items (id, feed_url, title, summary, source, seen_at, last_seen_at) VALUES (?,?,?,?,?,?,?)",
        [item.id, item.feed_url, item.title, item.summary, item.source, now, now],
    )
    return item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--probe", type=int, default=500, help="timed items at each size")
    parser.add_argument("--spread-hours", type=float, default=40.0)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    reports = Reports()
    start = 1_800_000_000.0
    step = args.spread_hours * 3600 / max(sizes)

    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "bench.db")
        stored = 0
        print(f"{'stored':>8} {'mean ms':>8} {'p50 ms':>7} {'p95 ms':>7} {'grouped':>8}")
        for size in sizes:
            while stored < size:  # fill: index items as new stories or copies, 1,000 per transaction
                with transaction(db):
                    for _ in range(min(1000, size - stored)):
                        now = start + stored * step
                        item = insert_item(db, f"fill-{stored}", *reports.next(), now)
                        add_to_story(db, item, find_story(db, item, now) or item.id, now)
                        stored += 1
            times: list[float] = []
            grouped = 0
            for n in range(args.probe):
                now = start + stored * step
                title, summary = reports.next()
                began = time.perf_counter()
                with transaction(db):
                    item = insert_item(db, f"probe-{size}-{n}", title, summary, now)
                    story = find_story(db, item, now)
                    add_to_story(db, item, story or item.id, now)
                times.append(time.perf_counter() - began)
                grouped += story is not None
            stored += args.probe
            ms = sorted(t * 1000 for t in times)
            print(
                f"{size:>8} {statistics.mean(ms):>8.2f} {ms[len(ms) // 2]:>7.2f}"
                f" {ms[int(len(ms) * 0.95)]:>7.2f} {grouped / args.probe:>8.0%}"
            )
        db.conn.close()


if __name__ == "__main__":
    main()
