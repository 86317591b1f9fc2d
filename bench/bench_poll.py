"""Benchmark one poll cycle over a farm of local feeds (run by hand; results go in docs/benchmarks.md).

    python bench/bench_poll.py [--feeds 500] [--items 50]

Reports, for the first run (everything new), the second (all 304) and the third (every feed
changed by 5 new items on top, `--added`): wall time, CPU time of the bot process and of its parser
workers, peak RSS of each, the event loop's worst stall; and the time feedparser alone takes to parse
the first run's bytes serially, so the pipeline's overhead shows as a ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The parser workers are spawned processes, and a spawned process imports the script that started
# it (as __mp_main__) before it runs anything. The bot started as `python -m bot` is spared that
# (multiprocessing skips a package's __main__), so its workers load only the parser. Importing the
# heavy modules here only when this file is the program keeps the workers measured as they run.
if __name__ == "__main__":
    import aiohttp
    import feedparser
    import yaml

    from bench.feed_farm import make_feed
    from bot.app import Environment, build_bot
    from bot.deliver.adapters.console import ConsoleAlertSender
    from bot.store.db import checkpoint, checkpoint_off_loop


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds of this process and of its live children (the parser workers and the farm's
    process are both children: the farm is excluded by pid)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime, sum(stat_cpu(pid) for pid in worker_pids())


FARM_PID: list[int] = []


def worker_pids() -> list[int]:
    pids = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) in FARM_PID:
            continue
        try:
            stat = (pid_dir / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():  # field 4: the parent's pid
            pids.append(int(pid_dir.name))
    return pids


def stat_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def worker_rss_mb() -> float:
    """Peak RSS of this process's parser workers, summed, from /proc."""
    total = 0
    for pid in worker_pids():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if "VmHWM" in fields:
            total += int(fields["VmHWM"].split()[0])
    return total / 1024


async def run(feeds: int, items: int, added: int) -> None:
    port = free_port()
    farm = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("feed_farm.py")), str(feeds), str(items), str(port)],
        stdout=subprocess.PIPE,
    )
    assert farm.stdout is not None
    farm.stdout.readline()
    FARM_PID.append(farm.pid)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            config_dir = Path(scratch) / "config"
            config_dir.mkdir()
            rules = yaml.safe_load(Path("config/rules.yaml").read_text())
            (config_dir / "rules.yaml").write_text(yaml.safe_dump(rules))
            urls = [{"url": f"http://127.0.0.1:{port}/feed/{i}.xml"} for i in range(feeds)]
            (config_dir / "feeds.yaml").write_text(yaml.safe_dump({"feeds": urls}))
            (config_dir / "settings.yaml").write_text(
                yaml.safe_dump({"fetch": {"concurrency": 16, "allow_private": True}})
            )
            bot = build_bot(
                Environment(config_dir=config_dir, db_path=Path(scratch) / "bench.db"),
                console=ConsoleAlertSender(io.StringIO()),
            )
            # as the service does: WAL checkpoints in a thread every few seconds, not on the loop
            checkpoint_off_loop(bot.db)
            db_file = Path(scratch) / "bench.db"

            async def checkpoints() -> None:
                while True:
                    await asyncio.sleep(5)
                    await checkpoint(db_file)

            checkpointer = asyncio.get_running_loop().create_task(checkpoints())
            started = time.perf_counter()
            await bot.parser.warm_up()
            print(f"parser workers started in {time.perf_counter() - started:.2f}s (once per process)")
            clock = [time.time()]
            bot.clock = lambda: clock[0]
            for label in (
                "first run (all new)",
                "second run (all 304)",
                f"third run (+{added} items per feed)",
            ):
                if label.startswith("third"):
                    async with aiohttp.ClientSession() as session:
                        await session.post(f"http://127.0.0.1:{port}/grow?by={added}")
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
                clock[0] += 3600
            peak_main = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"peak RSS: main process {peak_main:.0f} MB, parser workers {worker_rss_mb():.0f} MB (sum of peaks)"
            )
            checkpointer.cancel()
            await bot.close()
    finally:
        farm.terminate()
        farm.wait()

    bodies = [make_feed(i, items) for i in range(feeds)]
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
    args = parser.parse_args()
    asyncio.run(run(args.feeds, args.items, args.added))


if __name__ == "__main__":
    main()
