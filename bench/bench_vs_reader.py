"""The bot's poll cycle against lemon24/reader, measured side by side in one run (run by hand;
results go in docs/benchmarks.md, "Against lemon24/reader"):

    python bench/bench_vs_reader.py [--feeds 500] [--items 50] [--reps 3] [--workers 16]

One feed farm (bench/feed_farm.py, its own process) serves `--feeds` feeds of `--items` news-like
items, about 131 KB each (`--summary-words 210-410`), over loopback with ETag, Last-Modified and
gzip. Each rep measures, each in a fresh process and with a fresh database:

* a1: feedparser.parse(body) with default options on every feed's bytes (fetched from the farm
  beforehand, uncompressed) in memory, serially: wall and CPU;
* the bot (main process + its parser workers) and reader (its one process, `--workers` fetch
  threads), in alternating order: a first cycle where every item is new, a second where every feed
  answers 304, and a third after every feed got 5 new items on top (`--added`): wall, CPU of all
  their processes, peak RSS of all their processes.

Ratios are taken per rep against that rep's a1; the table shows medians over the reps. The bot's
parser workers are started before the first cycle (once per service process: printed, not counted);
reader's make_reader() and add_feed() are not counted either.

reader is a benchmark-only dependency (requirements-bench.txt). Without it the reader column is
skipped with a message. Its options here: no plugins (`plugins=[]`; the default `ua_fallback` only
retries a 403 with another User-Agent), search off (`search_enabled=False`: its full-text index is
a separate `update_search()` call, not part of an update), `update_feeds_iter(scheduled=False)` so
every feed is updated each cycle, `workers` threads for retrieval (reader parses in the calling
thread), and its own defaults otherwise (its vendored feedparser with sanitize_html and
resolve_relative_uris on, feedparser's own defaults too; `--reader-installed-feedparser` makes
it parse with the installed feedparser instead, the one a1 and the bot use).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The bot's parser workers are spawned processes that import this script (as __mp_main__) before
# anything else: only the standard library is imported at module level, the rest inside functions,
# so the workers are measured as they run under `python -m bot`.

SUMMARY_WORDS = "210-410"  # about 131 KB per feed of 50 items
TARGETS = {
    "first_wall": 0.35,
    "first_cpu": 0.6,
    "grow_wall": 0.15,
    "unchanged_wall": 0.2,
    "peak_rss": 120.0,
}


def result(payload: dict[str, object]) -> None:
    print("RESULT " + json.dumps(payload), flush=True)


def fetch_bodies(port: int, feeds: int) -> list[bytes]:
    import urllib.request

    bodies = []
    for i in range(feeds):  # urllib asks for no gzip: these are the bytes the others parse
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/feed/{i}.xml", timeout=60) as response:
            bodies.append(response.read())
    return bodies


def run_a1(port: int, feeds: int) -> None:
    import feedparser

    bodies = fetch_bodies(port, feeds)
    cpu, started = time.process_time(), time.perf_counter()
    entries = sum(len(feedparser.parse(body).entries) for body in bodies)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    result({"wall": wall, "cpu": cpu, "bytes": sum(len(b) for b in bodies), "entries": entries})


def run_bot(port: int, feeds: int, added: int) -> None:
    import asyncio

    from bench.pollkit import Farm, bot_over, children_peak_rss_mb, cpu_seconds, own_peak_rss_mb, scratch_dir

    async def cycles() -> None:
        farm = Farm(port, pid=-1, feeds=feeds)
        with scratch_dir() as scratch:
            async with bot_over(farm, scratch) as bench:
                started = time.perf_counter()
                await bench.bot.parser.warm_up()
                out: dict[str, object] = {"warm_up": time.perf_counter() - started}
                for name in ("first", "unchanged", "grow"):
                    if name == "grow":
                        farm.grow(added)
                    before = cpu_seconds()
                    started = time.perf_counter()
                    report = await bench.bot.pipeline.run_cycle()
                    wall = time.perf_counter() - started
                    after = cpu_seconds()
                    out[name] = {
                        "wall": wall,
                        "cpu": sum(after) - sum(before),
                        "cpu_main": after[0] - before[0],
                        "new": report.new_items,
                        "not_modified": report.not_modified,
                        "failed": report.failed,
                    }
                    bench.advance()
                out["rss_main"] = own_peak_rss_mb()
                out["rss_workers"] = children_peak_rss_mb()
                out["peak_rss"] = out["rss_main"] + out["rss_workers"]  # type: ignore[operator]
                result(out)

    asyncio.run(cycles())


def run_reader(port: int, feeds: int, added: int, workers: int) -> None:
    import tempfile

    from reader import make_reader

    from bench.pollkit import Farm, cpu_seconds, own_peak_rss_mb

    farm = Farm(port, pid=-1, feeds=feeds)
    with tempfile.TemporaryDirectory() as scratch:
        reader = make_reader(str(Path(scratch) / "reader.sqlite"), plugins=[], search_enabled=False)
        for url in farm.urls():
            reader.add_feed(url)
        out: dict[str, object] = {}
        for name in ("first", "unchanged", "grow"):
            if name == "grow":
                farm.grow(added)
            before = cpu_seconds()
            started = time.perf_counter()
            new = not_modified = failed = 0
            for _, value in reader.update_feeds_iter(scheduled=False, workers=workers):
                if value is None:
                    not_modified += 1
                elif isinstance(value, Exception):
                    failed += 1
                else:
                    new += value.new
            wall = time.perf_counter() - started
            after = cpu_seconds()
            out[name] = {
                "wall": wall,
                "cpu": sum(after) - sum(before),
                "new": new,
                "not_modified": not_modified,
                "failed": failed,
            }
        out["entries_stored"] = reader.get_entry_counts().total
        reader.close()
        out["peak_rss"] = own_peak_rss_mb()
        result(out)


def measure(args: argparse.Namespace, what: str, port: int) -> dict[str, object]:
    command = [sys.executable, __file__, "--run", what, "--port", str(port), "--feeds", str(args.feeds)]
    command += ["--added", str(args.added), "--workers", str(args.workers)]
    env = dict(os.environ)
    if args.reader_installed_feedparser:
        env["READER_NO_VENDORED_FEEDPARSER"] = "1"
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True, env=env)
    line = next(line for line in reversed(done.stdout.splitlines()) if line.startswith("RESULT "))
    return dict(json.loads(line.removeprefix("RESULT ")))


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = "?"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            memory = f"{int(line.split()[1]) / 1024**2:.0f} GB"
    return f"nproc {os.cpu_count()}, {model}, {memory} RAM, Python {sys.version.split()[0]}"


def load() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def orchestrate(args: argparse.Namespace) -> None:
    from importlib.metadata import version

    from bench.pollkit import feed_farm

    print(f"machine: {machine()}")
    print(f"load average at start (1/5/15 min): {load()}", flush=True)
    have_reader = importlib.util.find_spec("reader") is not None
    if have_reader:
        vendored = "the installed one" if args.reader_installed_feedparser else "its vendored copy"
        print(
            f"reader {version('reader')} (parsing with {vendored} of feedparser),"
            f" feedparser {version('feedparser')} (a1 and the bot)"
        )
    else:
        print(
            "reader is not installed: the reader column is skipped."
            " Install it with `pip install -r requirements-bench.txt` (benchmark-only dependency)."
        )
    contenders = ["bot", "reader"] if have_reader else ["bot"]
    reps: list[dict[str, dict[str, object]]] = []
    with feed_farm(args.feeds, args.items, gzip=True, summary_words=SUMMARY_WORDS) as farm:
        for rep in range(args.reps):
            farm.grow(0)
            runs = {"a1": measure(args, "a1", farm.port)}
            a1 = runs["a1"]
            if rep == 0:
                print(
                    f"farm: {args.feeds} feeds x {args.items} items, {a1['bytes'] / 1e6:.1f} MB"
                    f" ({a1['bytes'] / args.feeds / 1000:.0f} KB a feed), gzip, ETag + Last-Modified;"
                    f" {a1['entries']} entries"
                )
            order = contenders if rep % 2 == 0 else contenders[::-1]
            for who in order:
                farm.grow(0)
                runs[who] = measure(args, who, farm.port)
            reps.append(runs)
            print_rep(rep + 1, runs, order)
    print(f"load average at end (1/5/15 min): {load()}")
    print()
    print_table(reps, contenders, args.feeds)


def print_rep(rep: int, runs: dict[str, dict[str, object]], order: list[str]) -> None:
    a1 = runs["a1"]
    print(f"rep {rep}: a1 wall {a1['wall']:.2f}s cpu {a1['cpu']:.2f}s (load {load()})")
    for who in order:
        r = runs[who]
        parts = []
        for name in ("first", "unchanged", "grow"):
            c = r[name]
            assert isinstance(c, dict)
            split = (
                f" = main {c['cpu_main']:.2f} + workers {c['cpu'] - c['cpu_main']:.2f}"
                if "cpu_main" in c
                else ""
            )
            parts.append(
                f"{name} wall {c['wall']:.2f}s cpu {c['cpu']:.2f}s{split}"
                f" ({c['new']} new, {c['not_modified']} x 304, {c['failed']} failed)"
            )
        extra = ""
        if who == "bot":
            extra = (
                f" = main {r['rss_main']:.0f} + workers {r['rss_workers']:.0f};"
                f" workers started in {r['warm_up']:.2f}s, not counted"
            )
        print(f"  {who}: " + "; ".join(parts) + f"; peak RSS {r['peak_rss']:.0f} MB" + extra)


def figures(runs: dict[str, dict[str, object]], who: str) -> dict[str, float]:
    a1, r = runs["a1"], runs[who]
    first, unchanged, grow = r["first"], r["unchanged"], r["grow"]
    assert isinstance(first, dict) and isinstance(unchanged, dict) and isinstance(grow, dict)
    return {
        "first_wall": first["wall"] / a1["wall"],  # type: ignore[operator]
        "first_cpu": first["cpu"] / a1["cpu"],  # type: ignore[operator]
        "grow_wall": grow["wall"] / a1["wall"],  # type: ignore[operator]
        "unchanged_wall": float(unchanged["wall"]),
        "peak_rss": float(r["peak_rss"]),  # type: ignore[arg-type]
    }


def print_table(reps: list[dict[str, dict[str, object]]], contenders: list[str], feeds: int) -> None:
    medians = {
        who: {key: statistics.median(figures(runs, who)[key] for runs in reps) for key in TARGETS}
        for who in contenders
    }
    rows = [
        ("first cycle, every item new (wall / a1)", "first_wall", "{:.2f}x", "<= 0.35x"),
        ("first cycle, CPU of all processes / a1 CPU", "first_cpu", "{:.2f}x", "<= 0.6x"),
        ("every feed +5 items (wall / a1)", "grow_wall", "{:.2f}x", "<= 0.15x"),
        (f"every feed unchanged, {feeds} x 304 (seconds)", "unchanged_wall", "{:.2f} s", "<= 0.2 s"),
        ("peak RSS (all processes)", "peak_rss", "{:.0f} MB", "<= 120 MB in all"),
    ]
    print(
        f"medians of {len(reps)} reps; ratios per rep against a1 (feedparser alone, default options, serially)"
    )
    print("| work | lemon24/reader | this bot | target |")
    print("|---|---|---|---|")
    for label, key, form, target in rows:
        theirs = form.format(medians["reader"][key]) if "reader" in medians else "not installed"
        ours = form.format(medians["bot"][key])
        verdict = "" if medians["bot"][key] <= TARGETS[key] else " (not met)"
        print(f"| {label} | {theirs} | {ours}{verdict} | {target} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--added", type=int, default=5, help="new items per feed in the third cycle")
    parser.add_argument(
        "--workers", type=int, default=16, help="reader's fetch threads (the bot fetches 16 at once)"
    )
    parser.add_argument(
        "--reader-installed-feedparser",
        action="store_true",
        help="reader parses with the installed feedparser (as a1 and the bot) instead of its vendored copy",
    )
    parser.add_argument("--run", choices=("a1", "bot", "reader"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run == "a1":
        run_a1(args.port, args.feeds)
    elif args.run == "bot":
        run_bot(args.port, args.feeds, args.added)
    elif args.run == "reader":
        run_reader(args.port, args.feeds, args.added, args.workers)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
